#include "inventory/net_watcher.hpp"

#include <algorithm>
#include <bit>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <set>
#include <spdlog/spdlog.h>
#include <stdexcept>

namespace certlab::inventory {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

template <typename T>
bool parse_number(std::string_view s, T& out) {
    const auto* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return !s.empty() && ec == std::errc{} && ptr == end;
}

[[noreturn]] void bad(std::string_view what, std::string_view text, std::string_view why) {
    throw std::invalid_argument(fmt::format("{} '{}': {}", what, text, why));
}

}  // namespace

std::vector<asio::ip::address> expand_cidr(std::string_view cidr) {
    const auto slash = cidr.find('/');
    if (slash == std::string_view::npos) bad("CIDR", cidr, "expected ADDRESS/PREFIX");
    boost::system::error_code ec;
    const auto base = asio::ip::make_address_v4(std::string(cidr.substr(0, slash)), ec);
    if (ec) bad("CIDR", cidr, "the address is not IPv4 dotted-quad");
    unsigned prefix = 0;
    if (!parse_number(cidr.substr(slash + 1), prefix) || prefix > 32)
        bad("CIDR", cidr, "the prefix must be a number from 0 to 32");
    const uint64_t count = uint64_t{1} << (32 - prefix);
    if (count > kMaxCidrAddresses)
        bad("CIDR", cidr,
            fmt::format("{} addresses, more than the limit of {} (use /{} or longer)", count,
                        kMaxCidrAddresses, 32 - std::countr_zero(kMaxCidrAddresses)));
    const uint32_t first = base.to_uint();
    if (first & static_cast<uint32_t>(count - 1))
        bad("CIDR", cidr,
            fmt::format("host bits are set (did you mean {}/{}?)",
                        asio::ip::address_v4(first & ~static_cast<uint32_t>(count - 1)).to_string(),
                        prefix));
    // Network and broadcast addresses answer nothing useful; /31 and /32 have neither.
    const uint64_t skip = prefix <= 30 ? 1 : 0;
    std::vector<asio::ip::address> out;
    out.reserve(count);
    for (uint64_t i = skip; i < count - skip; ++i)
        out.emplace_back(asio::ip::address_v4(static_cast<uint32_t>(first + i)));
    return out;
}

tcp::endpoint parse_host_port(std::string_view text) {
    std::string_view host, port;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) bad("host", text, "expected [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) bad("host", text, "expected HOST:PORT");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            bad("host", text, "write an IPv6 address in brackets: [::1]:PORT");
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(std::string(host), ec);
    if (ec) bad("host", text, "not an IP address (host names are not resolved)");
    uint16_t number = 0;
    if (!parse_number(port, number) || number == 0)
        bad("host", text, "the port must be a number from 1 to 65535");
    return {address, number};
}

std::vector<tcp::endpoint> net_targets(const NetWatchOptions& opts) {
    if (!(opts.max_connects_per_second > 0) || !std::isfinite(opts.max_connects_per_second))
        throw std::invalid_argument("net watcher: max_connects_per_second must be positive");
    if (opts.connect_timeout.count() <= 0 || opts.interval.count() <= 0)
        throw std::invalid_argument("net watcher: connect_timeout and interval must be positive");
    if (!opts.cidrs.empty() && opts.ports.empty())
        throw std::invalid_argument("net watcher: CIDRs given but no ports to probe");
    for (auto p : opts.ports)
        if (p == 0) throw std::invalid_argument("net watcher: port 0 cannot be probed");

    std::vector<tcp::endpoint> out;
    std::set<tcp::endpoint> seen;
    auto add = [&](tcp::endpoint ep) {
        if (seen.insert(ep).second) out.push_back(ep);
    };
    for (const auto& h : opts.hosts) add(parse_host_port(h));
    for (const auto& c : opts.cidrs)
        for (const auto& a : expand_cidr(c))
            for (auto p : opts.ports) add({a, p});
    return out;
}

std::string net_address(const tcp::endpoint& ep) {
    const auto a = ep.address();
    return a.is_v6() ? fmt::format("tcp:[{}]:{}", a.to_string(), ep.port())
                     : fmt::format("tcp:{}:{}", a.to_string(), ep.port());
}

namespace {

/// One connect attempt with its own deadline.
struct Probe {
    Probe(const asio::any_io_executor& ex, std::size_t i) : socket(ex), deadline(ex), index(i) {}
    tcp::socket socket;
    asio::steady_timer deadline;
    std::size_t index;
};

}  // namespace

struct NetWatcher::State {
    using Clock = std::chrono::steady_clock;

    State(asio::any_io_executor e, NetWatchOptions o)
        : ex(std::move(e)), opts(std::move(o)), targets(net_targets(opts)), pace(ex), next_sweep(ex),
          period(std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(1.0 / opts.max_connects_per_second))),
          log(spdlog::default_logger()->clone("net-watch")) {}

    asio::any_io_executor ex;
    NetWatchOptions opts;
    std::vector<tcp::endpoint> targets;
    asio::steady_timer pace;        ///< waits for the next connection slot
    asio::steady_timer next_sweep;  ///< waits for the next interval
    Clock::duration period;         ///< minimum spacing of connection starts
    std::shared_ptr<spdlog::logger> log;

    WatcherSink sink;
    bool running = false;
    unsigned generation = 0;  ///< bumped by start(): handlers from before a restart are stale
    std::set<std::string, std::less<>> present;

    // The sweep in progress.
    Clock::time_point sweep_start;
    Clock::time_point next_slot;  ///< earliest start of the next connection
    std::size_t next_index = 0;
    std::vector<bool> up;
    std::set<std::shared_ptr<Probe>> in_flight;

    bool current(unsigned gen) const { return running && gen == generation; }

    static void sweep(const std::shared_ptr<State>& self, unsigned gen);
    static void launch(const std::shared_ptr<State>& self, unsigned gen);
    static void probe(const std::shared_ptr<State>& self, unsigned gen, std::size_t index);
    static void finish_if_done(const std::shared_ptr<State>& self, unsigned gen);
    void report();
};

void NetWatcher::State::sweep(const std::shared_ptr<State>& self, unsigned gen) {
    if (!self->current(gen)) return;
    self->sweep_start = Clock::now();
    self->next_index = 0;
    self->up.assign(self->targets.size(), false);
    launch(self, gen);
}

// Starts probes one pacing slot apart: a token bucket of depth one, so no burst can
// exceed max_connects_per_second in any window.
void NetWatcher::State::launch(const std::shared_ptr<State>& self, unsigned gen) {
    while (self->current(gen) && self->next_index < self->targets.size()) {
        const auto now = Clock::now();
        if (now < self->next_slot) {
            self->pace.expires_at(self->next_slot);
            self->pace.async_wait([self, gen](const boost::system::error_code& ec) {
                if (!ec) launch(self, gen);
            });
            return;
        }
        self->next_slot = std::max(now, self->next_slot) + self->period;
        probe(self, gen, self->next_index++);
    }
    finish_if_done(self, gen);
}

void NetWatcher::State::probe(const std::shared_ptr<State>& self, unsigned gen, std::size_t index) {
    auto p = std::make_shared<Probe>(self->ex, index);
    self->in_flight.insert(p);
    p->deadline.expires_after(self->opts.connect_timeout);
    p->deadline.async_wait([p](const boost::system::error_code& ec) {
        if (!ec) p->socket.close();  // aborts the connect
    });
    p->socket.async_connect(self->targets[index], [self, gen, p](const boost::system::error_code& ec) {
        p->deadline.cancel();
        // Close without a byte written: the peer sees connect + FIN, nothing else.
        boost::system::error_code ignored;
        p->socket.close(ignored);
        self->in_flight.erase(p);
        if (!self->current(gen)) return;
        self->up[p->index] = !ec;
        finish_if_done(self, gen);
    });
}

void NetWatcher::State::finish_if_done(const std::shared_ptr<State>& self, unsigned gen) {
    if (!self->current(gen) || self->next_index < self->targets.size() || !self->in_flight.empty())
        return;
    self->report();
    if (!self->current(gen)) return;  // a sink stopped us
    self->next_sweep.expires_at(self->sweep_start + self->opts.interval);
    self->next_sweep.async_wait([self, gen](const boost::system::error_code& ec) {
        if (!ec) sweep(self, gen);
    });
}

void NetWatcher::State::report() {
    std::set<std::string, std::less<>> now;
    std::vector<const tcp::endpoint*> arrivals;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (!up[i]) continue;
        auto address = net_address(targets[i]);
        if (!present.contains(address)) arrivals.push_back(&targets[i]);
        now.insert(std::move(address));
    }
    const auto before = std::exchange(present, now);
    // `running` is rechecked before every call: a sink may stop the watcher.
    for (const auto& address : before) {
        if (!running) return;
        if (now.contains(address)) continue;
        log->info("departed {}", address);
        sink.departed(address);
    }
    for (const auto* ep : arrivals) {
        if (!running) return;
        sdk::Resource r;
        r.kind = sdk::Resource::Kind::net;
        r.address = net_address(*ep);
        r.source = "net";
        r.attributes["host"] = ep->address().to_string();
        r.attributes["port"] = std::to_string(ep->port());
        log->info("arrived {}", r.address);
        sink.arrived(r);
    }
}

NetWatcher::NetWatcher(asio::any_io_executor ex, NetWatchOptions opts)
    : state_(std::make_shared<State>(std::move(ex), std::move(opts))) {}

NetWatcher::~NetWatcher() { stop(); }

void NetWatcher::start(WatcherSink sink) {
    if (state_->running) throw std::runtime_error("net watcher: already started");
    if (!sink.arrived || !sink.departed)
        throw std::runtime_error("net watcher: sink needs both arrived and departed");
    state_->sink = std::move(sink);
    state_->present.clear();
    state_->running = true;
    asio::post(state_->ex, [self = state_, gen = ++state_->generation] { State::sweep(self, gen); });
}

void NetWatcher::stop() noexcept {
    auto& s = *state_;
    s.running = false;
    s.pace.cancel();
    s.next_sweep.cancel();
    for (const auto& p : s.in_flight) {
        boost::system::error_code ignored;
        p->socket.close(ignored);
        p->deadline.cancel();
    }
    s.in_flight.clear();
}

}  // namespace certlab::inventory
