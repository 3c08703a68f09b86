// The mDNS watcher against a real avahi-daemon: a private one in a network namespace
// of its own (tests/support/avahi.hpp), with services published by avahi-publish.
// Only the daemon lives in the namespace; the watcher reaches it over the private
// D-Bus bus, so this test process never enters a namespace.
#include "inventory/mdns_watcher.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <vector>

#include "support/avahi.hpp"

using namespace certlab;
using namespace std::chrono_literals;
using boost::asio::ip::tcp;
using inventory::MdnsWatcher;
using inventory::MdnsWatchOptions;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kPrinterType = "_pdl-datastream._tcp";
constexpr auto kScpiType = "_scpi-raw._tcp";

/// A loopback port a published service names. The watcher must never connect to it.
struct Port {
    explicit Port(boost::asio::io_context& ioc)
        : acceptor(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket) {
            if (!ec) ++accepted;
        });
    }
    [[nodiscard]] uint16_t number() const { return acceptor.local_endpoint().port(); }
    [[nodiscard]] std::string address() const { return "tcp:127.0.0.1:" + std::to_string(number()); }
    tcp::acceptor acceptor;
    int accepted = 0;
};

/// Records sink calls; safe to read from another thread than the one calling the sink.
struct Recorder {
    mutable std::mutex m;
    std::vector<std::string> arrived, departed;
    std::vector<sdk::Resource> resources;
    inventory::WatcherSink sink() {
        return {[this](const sdk::Resource& r) {
                    std::lock_guard lock(m);
                    arrived.push_back(r.address);
                    resources.push_back(r);
                },
                [this](const std::string& a) {
                    std::lock_guard lock(m);
                    departed.push_back(a);
                }};
    }
    [[nodiscard]] long arrivals(const std::string& a) const {
        std::lock_guard lock(m);
        return std::ranges::count(arrived, a);
    }
    [[nodiscard]] std::size_t total_arrivals() const {
        std::lock_guard lock(m);
        return arrived.size();
    }
    [[nodiscard]] long departures(const std::string& a) const {
        std::lock_guard lock(m);
        return std::ranges::count(departed, a);
    }
    [[nodiscard]] sdk::Resource last(const std::string& a) const {
        std::lock_guard lock(m);
        const auto it = std::ranges::find(resources.rbegin(), resources.rend(), a, &sdk::Resource::address);
        return it == resources.rend() ? sdk::Resource{} : *it;
    }
};

/// Lines the watcher logs (its logger is a clone of the default logger, made at
/// construction: create this first).
struct LogCapture {
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink =
        std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    LogCapture() { spdlog::default_logger()->sinks().push_back(sink); }
    ~LogCapture() { std::erase(spdlog::default_logger()->sinks(), sink); }
    [[nodiscard]] long count(std::string_view text) const {
        const auto lines = sink->last_formatted();
        return std::ranges::count_if(lines, [&](const std::string& l) { return l.find(text) != std::string::npos; });
    }
};

bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (!done() && Clock::now() < end) {
        ioc.restart();
        ioc.run_for(10ms);
    }
    return done();
}

MdnsWatchOptions printer_and_scpi() {
    MdnsWatchOptions o;
    o.service_types = {kPrinterType, kScpiType};
    return o;
}

}  // namespace

TEST_CASE("inventory: mdns resource attributes of a resolved service") {
    inventory::MdnsService s;
    s.name = "Bench Printer 3";
    s.type = kPrinterType;
    s.domain = "local";
    s.host = "prn-3.local";
    s.ip = "10.0.0.5";
    s.port = 9100;
    s.txt = {"ty=Acme TP-80", "usb_MFG=Acme", "ty=second one is ignored", "paper", "=no key",
             std::string("bin=\x01\xff\xc3\xa9", 8), "note=a=b"};
    const auto r = inventory::mdns_resource(s);
    CHECK(r.kind == sdk::Resource::Kind::net);
    CHECK(r.address == "tcp:10.0.0.5:9100");
    CHECK(r.source == "mdns");
    CHECK(r.attributes.at("mdns_service") == "Bench Printer 3");
    CHECK(r.attributes.at("mdns_type") == kPrinterType);
    CHECK(r.attributes.at("host") == "prn-3.local");
    CHECK(r.attributes.at("ip") == "10.0.0.5");
    CHECK(r.attributes.at("port") == "9100");
    CHECK(r.attributes.at("txt.ty") == "Acme TP-80");
    CHECK(r.attributes.at("txt.usb_mfg") == "Acme");           // keys are case-insensitive
    CHECK(r.attributes.at("txt.paper").empty());               // a key alone: present, no value
    CHECK(r.attributes.at("txt.bin") == "\\x01\\xff\xc3\xa9");  // valid UTF-8 kept, the rest escaped
    CHECK(r.attributes.at("txt.note") == "a=b");
    CHECK(r.attributes.size() == 5 + 5);

    s.ip = "fe80::1%eth0";
    CHECK(inventory::mdns_resource(s).address == "tcp:[fe80::1%eth0]:9100");

    auto error_of = [](MdnsWatchOptions o) -> std::string {
        try {
            inventory::check_mdns_options(o);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "no error";
    };
    MdnsWatchOptions o = printer_and_scpi();
    CHECK(error_of(o) == "no error");
    o.service_types = {};
    CHECK(error_of(o).find("no service types") != std::string::npos);
    o.service_types = {"printer"};
    CHECK(error_of(o).find("'printer' is not a DNS-SD service type") != std::string::npos);
    o.service_types = {"_snmp-trap._udp"};
    CHECK(error_of(o).find("only TCP") != std::string::npos);
    o.service_types = {"_printer._sub._http._tcp"};
    CHECK(error_of(o) == "no error");
    o.domain = "";
    CHECK(error_of(o).find("domain") != std::string::npos);
    boost::asio::io_context ioc;
    CHECK_THROWS_AS(MdnsWatcher(ioc.get_executor(), MdnsWatchOptions{}), std::invalid_argument);
}

TEST_CASE("inventory: mdns services of the configured types arrive with TXT attributes and depart when withdrawn") {
    test::PrivateAvahi avahi;
    boost::asio::io_context ioc;
    Port printer_port(ioc), scpi_port(ioc), web_port(ioc);
    // Published before the watcher starts: found by browsing what is already there.
    // (No spaces in the web UI's name: avahi-browse --parsable would escape them.)
    auto web = avahi.publish("Bench-Web-UI", "_http._tcp", web_port.number(), {"path=/"});
    auto printer = avahi.publish("Bench Printer 3", kPrinterType, printer_port.number(),
                                 {"ty=Acme TP-80 Receipt", "product=(Acme TP-80)", "usb_MFG=Acme", "Color=F"});

    MdnsWatcher watcher(ioc.get_executor(), printer_and_scpi());
    CHECK(watcher.name() == "mdns");
    Recorder rec;
    watcher.start(rec.sink());

    REQUIRE_MESSAGE(run_until(ioc, [&] { return rec.arrivals(printer_port.address()) > 0; }, 15s), avahi.logs());
    const auto r = rec.last(printer_port.address());
    CHECK(r.kind == sdk::Resource::Kind::net);
    CHECK(r.source == "mdns");
    CHECK(r.attributes.at("mdns_service") == "Bench Printer 3");
    CHECK(r.attributes.at("mdns_type") == kPrinterType);
    CHECK(r.attributes.at("host") == test::PrivateAvahi::host_name);
    CHECK(r.attributes.at("ip") == test::PrivateAvahi::ip);
    CHECK(r.attributes.at("port") == std::to_string(printer_port.number()));
    CHECK(r.attributes.at("txt.ty") == "Acme TP-80 Receipt");
    CHECK(r.attributes.at("txt.product") == "(Acme TP-80)");
    CHECK(r.attributes.at("txt.usb_mfg") == "Acme");
    CHECK(r.attributes.at("txt.color") == "F");

    // Published while browsing: it arrives too.
    auto scpi = avahi.publish("Bench PSU", kScpiType, scpi_port.number(), {"model=PSU-3005"});
    REQUIRE(run_until(ioc, [&] { return rec.arrivals(scpi_port.address()) > 0; }, 15s));
    CHECK(rec.last(scpi_port.address()).attributes.at("txt.model") == "PSU-3005");

    // The web UI is visible to a browser of its type (so its absence below means the
    // watcher left it out, not that it was never there). avahi-browse --terminate ends
    // after "all for now", well after our browsers would have seen it.
    const auto browse = test::run({"/usr/bin/avahi-browse", "--parsable", "--terminate", "_http._tcp"}, 15s);
    REQUIRE(browse.out.find("Bench-Web-UI") != std::string::npos);
    ioc.restart();
    ioc.poll();
    CHECK(rec.arrivals(web_port.address()) == 0);
    CHECK(rec.total_arrivals() == 2);

    // The publisher dies: avahi-daemon withdraws the service with a goodbye.
    printer = test::Process();
    REQUIRE(run_until(ioc, [&] { return rec.departures(printer_port.address()) > 0; }, 15s));
    CHECK(rec.departures(scpi_port.address()) == 0);
    CHECK(rec.arrivals(printer_port.address()) == 1);  // no flapping

    // Browse and resolve only: nothing connected to the ports the services name.
    ioc.restart();
    ioc.poll();
    CHECK(printer_port.accepted == 0);
    CHECK(scpi_port.accepted == 0);
    CHECK(web_port.accepted == 0);
}

TEST_CASE("inventory: mdns nothing is reported after stop(), even what was already under way") {
    test::PrivateAvahi avahi;
    boost::asio::io_context ioc;  // run only by this thread, and not while the publisher is killed
    Port port(ioc);
    auto scpi = avahi.publish("Bench PSU", kScpiType, port.number());

    MdnsWatcher watcher(ioc.get_executor(), printer_and_scpi());
    Recorder rec;
    watcher.start(rec.sink());
    REQUIRE(run_until(ioc, [&] { return rec.arrivals(port.address()) > 0; }, 15s));

    // A second watcher on its own thread tells when the departure has happened.
    boost::asio::io_context other_ioc;
    auto work = boost::asio::make_work_guard(other_ioc);
    std::thread other_thread([&] { other_ioc.run(); });
    Recorder other_rec;
    MdnsWatcher other(other_ioc.get_executor(), printer_and_scpi());
    boost::asio::post(other_ioc, [&] { other.start(other_rec.sink()); });
    const bool other_saw_it = test::wait_until([&] { return other_rec.arrivals(port.address()) > 0; }, 15s);

    scpi = test::Process();
    const bool other_saw_departure = test::wait_until([&] { return other_rec.departures(port.address()) > 0; }, 15s);
    // By now our watcher's poll thread has most likely posted the departure to `ioc`,
    // which has not run: stop() must drop it.
    watcher.stop();
    ioc.restart();
    ioc.run_for(200ms);
    boost::asio::post(other_ioc, [&] { other.stop(); });
    work.reset();
    other_thread.join();

    REQUIRE(other_saw_it);
    REQUIRE(other_saw_departure);
    CHECK(rec.departures(port.address()) == 0);
}

TEST_CASE("inventory: mdns a missing D-Bus bus and avahi-daemon are waited for, then browsed") {
    test::PrivateAvahi avahi({.bus = false, .daemon = false});
    LogCapture logs;
    boost::asio::io_context ioc;
    Port port(ioc);
    MdnsWatchOptions opts = printer_and_scpi();
    opts.retry_interval = 100ms;
    MdnsWatcher watcher(ioc.get_executor(), opts);
    Recorder rec;
    watcher.start(rec.sink());  // no bus, no daemon: not an error

    REQUIRE(test::wait_until([&] { return logs.count("no D-Bus system bus") > 0; }, 5s));
    avahi.start_bus();
    REQUIRE(test::wait_until([&] { return logs.count("avahi-daemon is not running") > 0; }, 5s));
    avahi.start_daemon();
    auto printer = avahi.publish("Late Printer", kPrinterType, port.number(), {"ty=Late"});
    REQUIRE_MESSAGE(run_until(ioc, [&] { return rec.arrivals(port.address()) > 0; }, 15s), avahi.logs());
    CHECK(rec.last(port.address()).attributes.at("txt.ty") == "Late");
    // One warning per outage, not one per retry (it retried every 100 ms).
    CHECK(logs.count("no D-Bus system bus") == 1);
    CHECK(logs.count("avahi-daemon is not running") == 1);
    CHECK(logs.count("connected to avahi") == 1);
}

TEST_CASE("inventory: mdns after avahi-daemon restarts the watcher reports again and departs what did not return") {
    test::PrivateAvahi avahi;
    LogCapture logs;
    boost::asio::io_context ioc;
    Port keep_port(ioc), gone_port(ioc);
    // "Keep" re-publishes when the daemon is back, as a device on the network would
    // answer again; "Gone" exits with the daemon, as a device unplugged meanwhile.
    auto keep = avahi.publish("Keep", kPrinterType, keep_port.number(), {"ty=Keep"}, /*follow_restarts=*/true);
    auto gone = avahi.publish("Gone", kPrinterType, gone_port.number(), {"ty=Gone"});

    MdnsWatchOptions opts = printer_and_scpi();
    // Longer than a restart plus avahi's probing (~2 s), short enough for a test.
    opts.daemon_loss_grace = 5s;
    MdnsWatcher watcher(ioc.get_executor(), opts);
    Recorder rec;
    watcher.start(rec.sink());
    REQUIRE(run_until(
        ioc, [&] { return rec.arrivals(keep_port.address()) > 0 && rec.arrivals(gone_port.address()) > 0; }, 15s));

    avahi.stop_daemon(SIGKILL);  // a crash: no goodbyes
    REQUIRE(run_until(ioc, [&] { return logs.count("lost the connection to avahi-daemon") > 0; }, 5s));
    REQUIRE(gone.wait(10s).has_value());
    avahi.start_daemon();

    REQUIRE_MESSAGE(run_until(ioc, [&] { return rec.arrivals(keep_port.address()) == 2; }, 15s), avahi.logs());
    REQUIRE(run_until(ioc, [&] { return rec.departures(gone_port.address()) > 0; }, 15s));
    CHECK(rec.departures(keep_port.address()) == 0);  // kept through the restart, then seen again
    CHECK(rec.arrivals(gone_port.address()) == 1);
    CHECK(logs.count("connected to avahi") == 2);
    CHECK(logs.count("not seen again within") == 1);
}
