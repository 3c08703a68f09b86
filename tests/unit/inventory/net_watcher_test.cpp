// Only loopback (127.0.0.0/8) is ever probed here: the lab network is off limits to tests.
#include "inventory/net_watcher.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace certlab;
using namespace std::chrono_literals;
using boost::asio::ip::tcp;
using inventory::NetWatcher;
using inventory::NetWatchOptions;
using Clock = std::chrono::steady_clock;

namespace {

/// A loopback listener that plays a partner device: it counts connections and every
/// byte a client sends, which must stay zero (safe-probe rule).
struct Listener {
    struct Counts {
        int accepted = 0;
        int eofs = 0;          ///< connections that ended with nothing sent
        std::size_t bytes = 0; ///< bytes received over all connections
    };
    tcp::acceptor acceptor;
    std::shared_ptr<Counts> counts = std::make_shared<Counts>();

    tcp::endpoint local;  ///< kept: still needed after the acceptor is closed

    Listener(boost::asio::io_context& ioc, const std::string& ip, uint16_t port = 0)
        : acceptor(ioc, tcp::endpoint(boost::asio::ip::make_address(ip), port)),
          local(acceptor.local_endpoint()) {
        accept();
    }
    uint16_t port() const { return local.port(); }
    std::string address() const {
        return "tcp:" + local.address().to_string() + ":" + std::to_string(local.port());
    }

    void accept() {
        acceptor.async_accept([this, c = counts](boost::system::error_code ec, tcp::socket s) {
            if (ec) return;  // closed
            ++c->accepted;
            read(std::make_shared<tcp::socket>(std::move(s)), c);
            accept();
        });
    }
    static void read(std::shared_ptr<tcp::socket> s, std::shared_ptr<Counts> c) {
        auto buf = std::make_shared<std::array<char, 256>>();
        s->async_read_some(boost::asio::buffer(*buf),
                           [s, c, buf](boost::system::error_code ec, std::size_t n) {
                               c->bytes += n;
                               if (ec == boost::asio::error::eof) ++c->eofs;
                               if (!ec) read(s, c);
                           });
    }
};

/// A loopback port with nothing listening: bound briefly to reserve a free number.
uint16_t closed_port(boost::asio::io_context& ioc) {
    tcp::acceptor a(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

struct Recorder {
    std::vector<std::string> arrived, departed;
    std::vector<sdk::Resource> resources;
    inventory::WatcherSink sink() {
        return {[this](const sdk::Resource& r) {
                    arrived.push_back(r.address);
                    resources.push_back(r);
                },
                [this](const std::string& a) { departed.push_back(a); }};
    }
    [[nodiscard]] bool saw_arrival(const std::string& a) const {
        return std::ranges::find(arrived, a) != arrived.end();
    }
    [[nodiscard]] bool saw_departure(const std::string& a) const {
        return std::ranges::find(departed, a) != departed.end();
    }
};

bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5s) {
    const auto end = Clock::now() + limit;
    while (!done() && Clock::now() < end) {
        ioc.restart();
        ioc.run_for(10ms);
    }
    return done();
}

}  // namespace

TEST_CASE("inventory: net loopback listeners are found, depart, and never see a byte") {
    boost::asio::io_context ioc;
    Listener one(ioc, "127.0.0.1"), two(ioc, "127.0.0.1");
    const auto nobody = closed_port(ioc);

    NetWatchOptions opts;
    opts.cidrs = {"127.0.0.0/30"};  // probes 127.0.0.1 and 127.0.0.2
    opts.ports = {one.port(), two.port(), nobody};
    opts.max_connects_per_second = 500;
    opts.connect_timeout = 200ms;
    opts.interval = 50ms;
    NetWatcher watcher(ioc.get_executor(), opts);
    CHECK(watcher.name() == "net");
    Recorder rec;
    watcher.start(rec.sink());

    REQUIRE(run_until(ioc, [&] { return rec.saw_arrival(one.address()) && rec.saw_arrival(two.address()); }));
    const auto r = std::ranges::find(rec.resources, one.address(), &sdk::Resource::address);
    CHECK(r->kind == sdk::Resource::Kind::net);
    CHECK(r->attributes.at("host") == "127.0.0.1");
    CHECK(r->attributes.at("port") == std::to_string(one.port()));

    two.acceptor.close();
    REQUIRE(run_until(ioc, [&] { return rec.saw_departure(two.address()); }));
    // Let connections drain so every accepted probe has been read to its end.
    REQUIRE(run_until(ioc, [&] { return one.counts->eofs == one.counts->accepted; }));

    CHECK(std::ranges::count(rec.arrived, one.address()) == 1);  // no flapping
    CHECK_FALSE(rec.saw_departure(one.address()));
    CHECK_FALSE(rec.saw_arrival("tcp:127.0.0.1:" + std::to_string(nobody)));
    for (const auto& a : rec.arrived) CHECK(a.starts_with("tcp:127.0.0.1:"));  // nothing on .2
    CHECK(one.counts->accepted >= 2);
    CHECK(one.counts->bytes == 0);
    CHECK(two.counts->bytes == 0);
    CHECK(two.counts->eofs == two.counts->accepted);

    // After stop() nothing is reported, even when the world changes.
    watcher.stop();
    const auto arrivals = rec.arrived.size(), departures = rec.departed.size();
    one.acceptor.close();
    ioc.restart();
    ioc.run_for(200ms);
    CHECK(rec.arrived.size() == arrivals);
    CHECK(rec.departed.size() == departures);
}

TEST_CASE("inventory: net static hosts are present while they accept") {
    boost::asio::io_context ioc;
    Listener l(ioc, "127.0.0.1");
    NetWatchOptions opts;
    opts.hosts = {"127.0.0.1:" + std::to_string(l.port()),
                  "127.0.0.1:" + std::to_string(closed_port(ioc))};
    opts.interval = 30ms;
    NetWatcher watcher(ioc.get_executor(), opts);
    Recorder rec;
    watcher.start(rec.sink());
    REQUIRE(run_until(ioc, [&] { return rec.saw_arrival(l.address()); }));
    CHECK(rec.arrived.size() == 1);
    CHECK(l.counts->bytes == 0);
}

TEST_CASE("inventory: net connection starts respect max_connects_per_second") {
    boost::asio::io_context ioc;
    // Six loopback listeners on one port number: every probe of the sweep lands on
    // one of them, so accepts count connection starts.
    Listener first(ioc, "127.0.0.1");
    std::vector<std::unique_ptr<Listener>> all;
    for (int host = 2; host <= 6; ++host)
        all.push_back(std::make_unique<Listener>(ioc, "127.0.0." + std::to_string(host), first.port()));
    auto accepted = [&] {
        int n = first.counts->accepted;
        for (const auto& l : all) n += l->counts->accepted;
        return n;
    };

    constexpr double rate = 20;
    NetWatchOptions opts;
    opts.cidrs = {"127.0.0.0/29"};
    opts.ports = {first.port()};
    opts.max_connects_per_second = rate;
    opts.interval = 1ms;  // sweeps back to back: only the rate limit holds them back
    NetWatcher watcher(ioc.get_executor(), opts);
    Recorder rec;
    const auto start = Clock::now();
    watcher.start(rec.sink());
    ioc.run_for(1200ms);
    watcher.stop();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ioc.restart();
    ioc.run_for(50ms);  // accept what was already connected

    const int n = accepted();
    INFO("accepted " << n << " in " << seconds << " s");
    // Starts are at least 1/rate apart, so at most rate*t + 1 fit in t seconds.
    CHECK(n <= static_cast<int>(rate * seconds) + 1);
    CHECK(n >= static_cast<int>(rate * 1.2 / 3));  // it did run, not stall
    CHECK(rec.arrived.size() == 6);
}

TEST_CASE("inventory: net CIDR and host parsing") {
    using inventory::expand_cidr;
    CHECK(expand_cidr("127.0.0.1/32").size() == 1);
    CHECK(expand_cidr("127.0.0.0/31").size() == 2);
    const auto six = expand_cidr("127.0.0.0/29");
    REQUIRE(six.size() == 6);
    CHECK(six.front().to_string() == "127.0.0.1");
    CHECK(six.back().to_string() == "127.0.0.6");
    CHECK(expand_cidr("10.0.0.0/20").size() == 4094);  // at the cap; nothing is contacted

    auto error_of = [](auto&& fn) -> std::string {
        try {
            fn();
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "no error";
    };
    CHECK(error_of([] { (void)expand_cidr("10.0.0.0/19"); }).find("4096") != std::string::npos);
    CHECK(error_of([] { (void)expand_cidr("127.0.0.5/29"); }).find("127.0.0.0/29") != std::string::npos);
    CHECK(error_of([] { (void)expand_cidr("127.0.0.0/33"); }).find("prefix") != std::string::npos);
    CHECK(error_of([] { (void)expand_cidr("127.0.0.0/"); }).find("prefix") != std::string::npos);
    CHECK(error_of([] { (void)expand_cidr("127.0.0.0"); }).find("ADDRESS/PREFIX") != std::string::npos);
    CHECK(error_of([] { (void)expand_cidr("printer/24"); }).find("IPv4") != std::string::npos);
    CHECK(error_of([] { (void)expand_cidr("::1/128"); }).find("IPv4") != std::string::npos);

    using inventory::parse_host_port;
    CHECK(parse_host_port("127.0.0.1:9100") == tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 9100));
    CHECK(parse_host_port("[::1]:80").address().is_v6());
    CHECK(inventory::net_address(parse_host_port("[::1]:80")) == "tcp:[::1]:80");
    CHECK(error_of([] { (void)parse_host_port("127.0.0.1"); }).find("HOST:PORT") != std::string::npos);
    CHECK(error_of([] { (void)parse_host_port("127.0.0.1:0"); }).find("port") != std::string::npos);
    CHECK(error_of([] { (void)parse_host_port("127.0.0.1:70000"); }).find("port") != std::string::npos);
    CHECK(error_of([] { (void)parse_host_port("printer.lab:9100"); }).find("not an IP") != std::string::npos);
    CHECK(error_of([] { (void)parse_host_port("::1:80"); }).find("brackets") != std::string::npos);

    NetWatchOptions opts;
    opts.cidrs = {"127.0.0.0/30"};
    CHECK(error_of([&] { (void)inventory::net_targets(opts); }).find("no ports") != std::string::npos);
    opts.ports = {9100, 9100};
    opts.hosts = {"127.0.0.1:9100"};
    CHECK(inventory::net_targets(opts).size() == 2);  // duplicates probed once
    opts.max_connects_per_second = 0;
    boost::asio::io_context ioc;
    CHECK_THROWS_AS(NetWatcher(ioc.get_executor(), opts), std::invalid_argument);
}
