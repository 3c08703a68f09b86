#include "inventory/mdns_watcher.hpp"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/address.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>
#include <spdlog/spdlog.h>
#include <stdexcept>

namespace certlab::inventory {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------
// Resources from resolved services (pure)

namespace {

/// Valid UTF-8 without control characters, as is; every other byte as \xNN. TXT
/// values and instance names are arbitrary bytes, while attributes end up in JSON.
std::string printable(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    auto escape = [&](unsigned char c) { out += fmt::format("\\x{:02x}", c); };
    for (std::size_t i = 0; i < in.size();) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) escape(c);
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        // Sequence length and the allowed range of the second byte (no overlongs,
        // no surrogates, nothing above U+10FFFF).
        std::size_t n = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) n = 2;
        else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        bool ok = n != 0 && i + n <= in.size();
        for (std::size_t k = 1; ok && k < n; ++k) {
            const auto b = static_cast<unsigned char>(in[i + k]);
            ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xbf);
        }
        if (ok) {
            out.append(in.substr(i, n));
            i += n;
        } else {
            escape(c);
            ++i;
        }
    }
    return out;
}

std::string lower(std::string s) {
    std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

sdk::Resource mdns_resource(const MdnsService& s) {
    sdk::Resource r;
    r.kind = sdk::Resource::Kind::net;
    r.source = "mdns";
    const bool v6 = s.ip.find(':') != std::string::npos;
    r.address = v6 ? fmt::format("tcp:[{}]:{}", s.ip, s.port) : fmt::format("tcp:{}:{}", s.ip, s.port);
    r.attributes["mdns_service"] = printable(s.name);
    r.attributes["mdns_type"] = s.type;
    r.attributes["host"] = printable(s.host);
    r.attributes["ip"] = s.ip;
    r.attributes["port"] = std::to_string(s.port);
    for (const auto& entry : s.txt) {
        const auto eq = entry.find('=');
        const auto key = std::string_view(entry).substr(0, eq);
        if (key.empty()) continue;  // RFC 6763 §6.4: a string starting with '=' is ignored
        const auto value = eq == std::string::npos ? std::string_view{} : std::string_view(entry).substr(eq + 1);
        r.attributes.try_emplace("txt." + lower(printable(key)), printable(value));
    }
    return r;
}

void check_mdns_options(const MdnsWatchOptions& opts) {
    if (opts.service_types.empty())
        throw std::invalid_argument("mdns watcher: no service types to browse");
    for (const auto& t : opts.service_types) {
        if (!avahi_is_valid_service_type_generic(t.c_str()))
            throw std::invalid_argument(
                fmt::format("mdns watcher: '{}' is not a DNS-SD service type (e.g. _pdl-datastream._tcp)", t));
        if (!t.ends_with("._tcp"))
            throw std::invalid_argument(fmt::format(
                "mdns watcher: '{}': only TCP service types (…._tcp) are supported, the address is tcp:IP:PORT", t));
    }
    if (opts.domain.empty() || !avahi_is_valid_domain_name(opts.domain.c_str()))
        throw std::invalid_argument(fmt::format("mdns watcher: '{}' is not a valid domain", opts.domain));
    if (opts.daemon_loss_grace.count() < 0 || opts.retry_interval.count() <= 0)
        throw std::invalid_argument("mdns watcher: daemon_loss_grace must be >= 0 and retry_interval positive");
}

// ---------------------------------------------------------------------------
// The avahi side: everything here runs on avahi's poll thread

namespace {

/// unique_ptr deleter calling an avahi free function.
template <auto Free>
struct AvahiFree {
    template <typename T>
    void operator()(T* p) const { Free(p); }
};
using PollPtr = std::unique_ptr<AvahiThreadedPoll, AvahiFree<avahi_threaded_poll_free>>;
using ClientPtr = std::unique_ptr<AvahiClient, AvahiFree<avahi_client_free>>;
using BrowserPtr = std::unique_ptr<AvahiServiceBrowser, AvahiFree<avahi_service_browser_free>>;
using ResolverPtr = std::unique_ptr<AvahiServiceResolver, AvahiFree<avahi_service_resolver_free>>;

struct TimeoutFree {
    const AvahiPoll* api;
    void operator()(AvahiTimeout* t) const { api->timeout_free(t); }
};
using TimeoutPtr = std::unique_ptr<AvahiTimeout, TimeoutFree>;

/// What the avahi side tells the watcher. Called on the poll thread.
struct SessionEvents {
    std::function<void(std::string key, sdk::Resource)> resolved;
    std::function<void(std::string key)> gone;  ///< removed, or no longer resolvable
    std::function<void()> connected;            ///< avahi-daemon reachable (again)
    std::function<void()> lost;                 ///< connection to avahi-daemon lost
};

/// A client of avahi-daemon with one browser per service type and one resolver per
/// service instance. Resolvers stay open so TXT and address changes are reported.
/// Service instances are keyed by interface, protocol, type, domain and name.
class AvahiSession {
public:
    AvahiSession(const MdnsWatchOptions& opts, SessionEvents events, std::shared_ptr<spdlog::logger> log)
        : opts_(opts), events_(std::move(events)), log_(std::move(log)), poll_(avahi_threaded_poll_new()) {
        if (!poll_) throw std::runtime_error("mdns watcher: cannot create avahi's poll loop");
        api_ = avahi_threaded_poll_get(poll_.get());
    }
    ~AvahiSession() { stop(); }
    AvahiSession(const AvahiSession&) = delete;
    AvahiSession& operator=(const AvahiSession&) = delete;

    /// Starts the poll thread. The first connect runs on that thread because
    /// avahi_client_new makes blocking D-Bus calls.
    void start() {
        timeval now{};
        avahi_elapse_time(&now, 0, 0);
        connect_timer_ = TimeoutPtr(api_->timeout_new(api_, &now, &AvahiSession::on_connect_timer, this),
                                    TimeoutFree{api_});
        if (!connect_timer_ || avahi_threaded_poll_start(poll_.get()) < 0)
            throw std::runtime_error("mdns watcher: cannot start avahi's poll thread");
        started_ = true;
    }

    /// Joins the poll thread, then frees handles (children before their client).
    void stop() noexcept {
        if (started_) avahi_threaded_poll_stop(poll_.get());
        started_ = false;
        drop_connection();
        connect_timer_.reset();
    }

private:
    struct Lookup {  ///< one service instance being resolved; userdata of its resolver
        AvahiSession* session;
        std::string key;
        ResolverPtr resolver;
        bool failed = false;  ///< a failure was logged; log the next one only after a success
    };

    static void on_connect_timer(AvahiTimeout*, void* self) { static_cast<AvahiSession*>(self)->connect(); }

    void connect() {
        api_->timeout_update(connect_timer_.get(), nullptr);
        drop_connection();
        int error = 0;
        // NO_FAIL: when only avahi-daemon is missing the client waits for its name
        // to appear on the bus (state CONNECTING). It fails only without a bus.
        AvahiClient* c = avahi_client_new(api_, AVAHI_CLIENT_NO_FAIL, &AvahiSession::on_client, this, &error);
        if (!c) {
            warn_once(fmt::format("cannot reach avahi-daemon: no D-Bus system bus ({}); mDNS discovery is "
                                  "paused, retrying every {} ms",
                                  avahi_strerror(error), opts_.retry_interval.count()));
            schedule_connect(opts_.retry_interval);
            return;
        }
        client_.reset(c);
    }

    /// An outage is logged when it begins and when its nature changes (no bus, then no
    /// daemon), not on every retry.
    void warn_once(std::string message) {
        if (message == last_warning_) return;
        log_->warn("{}", message);
        last_warning_ = std::move(message);
    }

    void schedule_connect(std::chrono::milliseconds delay) {
        timeval when{};
        avahi_elapse_time(&when, static_cast<unsigned>(delay.count()), 0);
        api_->timeout_update(connect_timer_.get(), &when);
    }

    /// Frees resolvers and browsers before the client, which would free them too.
    void drop_connection() noexcept {
        lookups_.clear();
        browsers_.clear();
        client_.reset();
        connected_ = false;
    }

    static void on_client(AvahiClient* c, AvahiClientState state, void* self) {
        static_cast<AvahiSession*>(self)->client_changed(c, state);
    }

    void client_changed(AvahiClient* c, AvahiClientState state) {
        switch (state) {
            case AVAHI_CLIENT_S_RUNNING:
            case AVAHI_CLIENT_S_REGISTERING:  // the daemon probes its own host name; browsing works
            case AVAHI_CLIENT_S_COLLISION:
                if (connected_) return;
                connected_ = true;
                last_warning_.clear();
                log_->info("connected to {}; browsing {} in {}", avahi_client_get_version_string(c),
                           fmt::join(opts_.service_types, ", "), opts_.domain);
                events_.connected();
                browse(c);  // `c`: during avahi_client_new, client_ is not yet set
                return;
            case AVAHI_CLIENT_CONNECTING:
                warn_once("avahi-daemon is not running (not on the D-Bus system bus); mDNS discovery waits "
                          "for it to start");
                return;
            case AVAHI_CLIENT_FAILURE: {
                const bool was_connected = connected_;
                connected_ = false;
                warn_once(fmt::format("lost the connection to avahi-daemon ({}); reconnecting",
                                      avahi_strerror(avahi_client_errno(c))));
                if (was_connected) events_.lost();
                // Not freed here, inside its own callback: the timer replaces it. At once
                // after a working connection (the new client then waits for the daemon to
                // reappear); otherwise after retry_interval, so a failing bus cannot spin us.
                schedule_connect(was_connected ? std::chrono::milliseconds{0} : opts_.retry_interval);
                return;
            }
        }
    }

    void browse(AvahiClient* c) {
        for (const auto& type : opts_.service_types) {
            // IPv4 only: bench devices are reached over IPv4, and IPv6 link-local
            // addresses would need an interface in every address.
            BrowserPtr b(avahi_service_browser_new(c, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, type.c_str(),
                                                   opts_.domain.c_str(), AvahiLookupFlags{}, &AvahiSession::on_browse,
                                                   this));
            if (!b) {
                log_->error("cannot browse {}: {}", type, avahi_strerror(avahi_client_errno(c)));
                continue;
            }
            browsers_.push_back(std::move(b));
        }
    }

    static void on_browse(AvahiServiceBrowser* b, AvahiIfIndex iface, AvahiProtocol proto, AvahiBrowserEvent event,
                          const char* name, const char* type, const char* domain, AvahiLookupResultFlags,
                          void* self) {
        static_cast<AvahiSession*>(self)->browsed(b, iface, proto, event, name, type, domain);
    }

    void browsed(AvahiServiceBrowser* b, AvahiIfIndex iface, AvahiProtocol proto, AvahiBrowserEvent event,
                 const char* name, const char* type, const char* domain) {
        switch (event) {
            case AVAHI_BROWSER_NEW: {
                auto key = fmt::format("{}/{}/{}.{}/{}", iface, proto, type, domain, name);
                if (lookups_.contains(key)) return;
                auto lookup = std::make_unique<Lookup>(Lookup{this, key, nullptr});
                // aprotocol = the protocol it was found on, IPv4: an A record.
                lookup->resolver.reset(avahi_service_resolver_new(avahi_service_browser_get_client(b), iface, proto,
                                                                  name, type, domain, proto, AvahiLookupFlags{},
                                                                  &AvahiSession::on_resolve, lookup.get()));
                if (!lookup->resolver) {
                    log_->warn("cannot resolve '{}' ({}): {}", name, type,
                               avahi_strerror(avahi_client_errno(avahi_service_browser_get_client(b))));
                    return;
                }
                lookups_.emplace(std::move(key), std::move(lookup));
                return;
            }
            case AVAHI_BROWSER_REMOVE: {
                auto key = fmt::format("{}/{}/{}.{}/{}", iface, proto, type, domain, name);
                lookups_.erase(key);
                events_.gone(std::move(key));
                return;
            }
            case AVAHI_BROWSER_FAILURE:
                if (connected_)  // a client failure is reported (and handled) by client_changed
                    log_->error("browsing {} failed: {}", type ? type : "?",
                                avahi_strerror(avahi_client_errno(avahi_service_browser_get_client(b))));
                return;
            case AVAHI_BROWSER_ALL_FOR_NOW:
            case AVAHI_BROWSER_CACHE_EXHAUSTED:
                return;
        }
    }

    static void on_resolve(AvahiServiceResolver*, AvahiIfIndex, AvahiProtocol, AvahiResolverEvent event,
                           const char* name, const char* type, const char* domain, const char* host,
                           const AvahiAddress* address, uint16_t port, AvahiStringList* txt, AvahiLookupResultFlags,
                           void* userdata) {
        auto* lookup = static_cast<Lookup*>(userdata);
        lookup->session->resolved(*lookup, event, name, type, domain, host, address, port, txt);
    }

    void resolved(Lookup& lookup, AvahiResolverEvent event, const char* name, const char* type,
                  const char* domain, const char* host, const AvahiAddress* address, uint16_t port,
                  AvahiStringList* txt) {
        if (event == AVAHI_RESOLVER_FOUND && address) {
            lookup.failed = false;
            char ip[AVAHI_ADDRESS_STR_MAX] = {};
            avahi_address_snprint(ip, sizeof ip, address);
            MdnsService s{name, type, domain, host ? host : "", ip, port, {}};
            for (auto* l = txt; l; l = avahi_string_list_get_next(l))
                s.txt.emplace_back(reinterpret_cast<const char*>(avahi_string_list_get_text(l)),
                                   avahi_string_list_get_size(l));
            events_.resolved(lookup.key, mdns_resource(s));
        } else {
            // The resolver stays open: should the records come back, it reports FOUND.
            if (!lookup.failed)
                log_->warn("cannot resolve '{}' ({}): {}", name, type,
                           avahi_strerror(avahi_client_errno(avahi_service_resolver_get_client(
                               lookup.resolver.get()))));
            lookup.failed = true;
            events_.gone(lookup.key);
        }
    }

    MdnsWatchOptions opts_;
    SessionEvents events_;
    std::shared_ptr<spdlog::logger> log_;
    PollPtr poll_;
    const AvahiPoll* api_ = nullptr;
    bool started_ = false;

    // Poll thread only.
    TimeoutPtr connect_timer_{nullptr, TimeoutFree{nullptr}};
    bool connected_ = false;
    std::string last_warning_;  ///< of the outage in progress; empty while connected
    // Declared client first: destroyed last, after the browsers and resolvers it owns.
    ClientPtr client_;
    std::vector<BrowserPtr> browsers_;
    std::map<std::string, std::unique_ptr<Lookup>> lookups_;
};

}  // namespace

// ---------------------------------------------------------------------------
// The executor side: which addresses are present, and the sink

struct MdnsWatcher::State : std::enable_shared_from_this<State> {
    State(asio::any_io_executor e, MdnsWatchOptions o)
        : ex(std::move(e)), opts(std::move(o)), grace(ex), log(spdlog::default_logger()->clone("mdns-watch")) {
        check_mdns_options(opts);
        std::ranges::sort(opts.service_types);
        const auto [first, last] = std::ranges::unique(opts.service_types);
        opts.service_types.erase(first, last);
    }

    struct Entry {
        std::string address;
        std::map<std::string, std::string, std::less<>> attributes;
        bool stale = false;  ///< seen before avahi-daemon went away, not yet seen since
    };

    asio::any_io_executor ex;
    MdnsWatchOptions opts;
    asio::steady_timer grace;  ///< runs while services are stale
    std::shared_ptr<spdlog::logger> log;

    WatcherSink sink;
    bool running = false;
    unsigned generation = 0;  ///< bumped by start(): events from before a restart are stale
    std::map<std::string, Entry> services;  ///< by service instance key
    std::map<std::string, int> refs;        ///< address -> services resolving to it
    /// Last member, so destroyed first: its poll thread posts through `ex` and `this`.
    std::unique_ptr<AvahiSession> session;

    [[nodiscard]] bool current(unsigned gen) const { return running && gen == generation; }

    /// Runs `fn` on the executor if this start() generation is still running.
    template <typename Fn>
    void post(unsigned gen, Fn fn) {
        asio::post(ex, [weak = weak_from_this(), gen, fn = std::move(fn)]() mutable {
            if (auto self = weak.lock(); self && self->current(gen)) fn(*self);
        });
    }

    SessionEvents events(unsigned gen) {
        return {
            .resolved = [this, gen](std::string key, sdk::Resource r) {
                post(gen, [key = std::move(key), r = std::move(r)](State& s) { s.resolved(key, r); });
            },
            .gone = [this, gen](std::string key) { post(gen, [key = std::move(key)](State& s) { s.gone(key); }); },
            .connected = [this, gen] { post(gen, [gen](State& s) { s.start_grace(gen, "avahi-daemon is back"); }); },
            .lost = [this, gen] {
                post(gen, [gen](State& s) {
                    for (auto& [key, e] : s.services) e.stale = true;
                    s.start_grace(gen, "avahi-daemon is gone");
                });
            },
        };
    }

    void resolved(const std::string& key, const sdk::Resource& r) {
        auto [it, fresh] = services.try_emplace(key);
        auto& e = it->second;
        if (!fresh && e.address != r.address) {
            release(e.address);  // it moved: the old address may now be empty
            fresh = true;
        }
        if (!running) return;
        if (fresh) ++refs[r.address];
        const bool report = fresh || e.stale || e.attributes != r.attributes;
        e = {r.address, r.attributes, false};
        if (!report) return;
        log->info("arrived {} ('{}', {})", r.address, r.attributes.at("mdns_service"), r.attributes.at("mdns_type"));
        sink.arrived(r);
    }

    void gone(const std::string& key) {
        const auto it = services.find(key);
        if (it == services.end()) return;
        const auto address = std::move(it->second.address);
        services.erase(it);
        release(address);
    }

    /// One service less at `address`; the last one gone departs it.
    void release(const std::string& address) {
        const auto it = refs.find(address);
        if (it == refs.end() || --it->second > 0) return;
        refs.erase(it);
        log->info("departed {}", address);
        sink.departed(address);
    }

    /// Services not seen since avahi-daemon went away get `daemon_loss_grace` to show
    /// up again: failing runs over a daemon restart would be worse than a late departure.
    void start_grace(unsigned gen, std::string_view why) {
        const auto n = std::ranges::count_if(services, [](const auto& kv) { return kv.second.stale; });
        if (n == 0) return;
        log->warn("{}; keeping {} mDNS service(s) not seen since for up to {} ms", why, n,
                  opts.daemon_loss_grace.count());
        grace.expires_after(opts.daemon_loss_grace);  // cancels a wait in progress
        grace.async_wait([weak = weak_from_this(), gen](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!ec && self && self->current(gen)) self->drop_stale();
        });
    }

    void drop_stale() {
        std::vector<std::string> stale;
        for (const auto& [key, e] : services)
            if (e.stale) stale.push_back(key);
        if (!stale.empty())
            log->warn("{} mDNS service(s) not seen again within {} ms after losing avahi-daemon: departing",
                      stale.size(), opts.daemon_loss_grace.count());
        for (const auto& key : stale) {
            if (!running) return;  // a sink stopped us
            gone(key);
        }
    }
};

MdnsWatcher::MdnsWatcher(asio::any_io_executor ex, MdnsWatchOptions opts)
    : state_(std::make_shared<State>(std::move(ex), std::move(opts))) {}

MdnsWatcher::~MdnsWatcher() { stop(); }

void MdnsWatcher::start(WatcherSink sink) {
    auto& s = *state_;
    if (s.running) throw std::runtime_error("mdns watcher: already started");
    if (!sink.arrived || !sink.departed)
        throw std::runtime_error("mdns watcher: sink needs both arrived and departed");
    s.sink = std::move(sink);
    s.services.clear();
    s.refs.clear();
    s.running = true;
    try {
        s.session = std::make_unique<AvahiSession>(s.opts, s.events(++s.generation), s.log);
        s.session->start();
    } catch (...) {
        s.running = false;
        s.session.reset();
        throw;
    }
}

void MdnsWatcher::stop() noexcept {
    auto& s = *state_;
    s.running = false;      // handlers already posted see this and drop their event
    s.session.reset();      // joins the poll thread: nothing is posted after this
    s.grace.cancel();
}

}  // namespace certlab::inventory
