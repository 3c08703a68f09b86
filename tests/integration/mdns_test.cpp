// mDNS discovery through the daemon, against a private avahi-daemon: an advertised
// printer a profile recognises by its service type and TXT records becomes a ready
// device and runs a suite; an advertised service nothing matches is unclaimed and is
// never sent a byte.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"
#include "support/avahi.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

json resource(const Daemon& d, const std::string& address) {
    const json all = d.get("/v1/resources");
    for (const auto& r : all["resources"])
        if (r["address"] == address) return r;
    return nullptr;
}

std::uint16_t port_of(const std::string& address) {
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

/// A listening socket that is never accepted from: the kernel completes connections
/// into its backlog, and any byte sent would wait there, visible to recv on accept.
struct Listener {
    int fd = -1;
    std::uint16_t port = 0;
    Listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);  // accept never waits
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 8) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~Listener() { ::close(fd); }
    /// Accepts every pending connection; true when none of them carried a byte.
    [[nodiscard]] bool nothing_received() const {
        for (;;) {
            int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) return true;
            char b;
            const auto n = ::recv(c, &b, 1, 0);
            ::close(c);
            if (n > 0) return false;
        }
    }
};

}  // namespace

TEST_CASE("mdns: an advertised printer matching a profile becomes ready, an unknown service stays unclaimed") {
    PrivateAvahi avahi;
    TempDir dir;
    std::filesystem::create_directory(dir / "profiles");
    write_file(dir / "profiles" / "net-printer.yaml",
               "profile: net-printer\ndriver: escpos\ncapabilities: [printer, cash_drawer]\n"
               "settings:\n  drawer_open_level: high\nmatch:\n  kind: net\n  mdns_type: _pdl-datastream._tcp\n  txt.product: \"(CERTLAB *)\"\n");
    auto sim = start_printer(Link::tcp);
    const auto printer_address = "tcp:127.0.0.1:" + std::to_string(port_of(sim.address));
    auto printer_ad = avahi.publish("Bench printer", "_pdl-datastream._tcp", port_of(sim.address),
                                    {"product=(CERTLAB SIM-80)", "ty=CERTLAB SIM-80"});
    Listener unknown;
    const auto unknown_address = "tcp:127.0.0.1:" + std::to_string(unknown.port);
    auto unknown_ad = avahi.publish("Mystery box", "_scpi-raw._tcp", unknown.port, {"model=X1"});

    write_file(dir / "station.yaml",
               "station:\n  id: mdns\n  reconnect_interval: 200ms\n  shutdown_grace: 3s\n"
               "store:\n  path: " + (dir / "s.db").string() + "\n  sync: normal\n"
               "profiles: " + (dir / "profiles").string() + "\n"
               "suites: " + source("lab-config/suites").string() + "\n"
               "discovery:\n  mdns:\n    types: [_pdl-datastream._tcp, _scpi-raw._tcp]\n");
    Daemon d(dir, "");
    REQUIRE_MESSAGE(wait_until([&] { return resource(d, printer_address)["claimed"] == true; }, 15s),
                    (d.log() + avahi.logs()));
    auto r = resource(d, printer_address);
    CHECK(r["source"] == "mdns");
    CHECK(r["attributes"]["mdns_service"] == "Bench printer");
    CHECK(r["attributes"]["txt.ty"] == "CERTLAB SIM-80");
    const auto id = r["device"].get<std::string>();
    REQUIRE_MESSAGE(d.wait_for_state({id}, "ready"), d.log());
    auto run = d.start_run(id, "receipt-printer");
    REQUIRE(run > 0);
    CHECK(d.wait_for_run(run)["run"]["outcome"] == "pass");

    REQUIRE_MESSAGE(wait_until([&] { return !resource(d, unknown_address).is_null(); }, 15s), d.log());
    auto u = resource(d, unknown_address);
    CHECK(u["claimed"] == false);
    CHECK(u["attributes"]["mdns_type"] == "_scpi-raw._tcp");
    CHECK(u["attributes"]["txt.model"] == "X1");
    CHECK(unknown.nothing_received());
}
