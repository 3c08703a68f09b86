// Discovery: what no profile matches is listed as unclaimed and never written to;
// `certlab devices suggest` output, saved as a profile, claims it on the next start.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

std::string discovery_yaml(const TempDir& dir) {
    return "station:\n  id: disc\n  reconnect_interval: 200ms\n  shutdown_grace: 3s\n"
           "store:\n  path: " + (dir / "s.db").string() + "\n  sync: normal\n"
           "profiles: " + (dir / "profiles").string() + "\n"
           "suites: " + source("lab-config/suites").string() + "\n"
           "discovery:\n  serial:\n    enumerate: false\n    poll_interval: 100ms\n"
           "    globs: [\"" + (dir / "tty-*").string() + "\"]\n";
}

json resource(const Daemon& d, const std::string& address) {
    const json all = d.get("/v1/resources");  // named: a temporary would die before the loop
    for (const auto& r : all["resources"])
        if (r["address"] == address) return r;
    return nullptr;
}

}  // namespace

TEST_CASE("discovery: an unmatched tty is unclaimed and never written; a suggested profile claims it") {
    TempDir dir;
    std::filesystem::create_directory(dir / "profiles");
    std::filesystem::copy_file(source("lab-config/devices/escpos-generic.yaml"), dir / "profiles" / "escpos-generic.yaml");
    write_file(dir / "station.yaml", discovery_yaml(dir));
    const auto link = dir / "tty-printer";
    const auto address = "serial:" + link.string();

    // A bare pty stands in for an unknown device: its master shows any byte written.
    int master = -1, slave = -1;
    REQUIRE(openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
    std::filesystem::create_symlink(ttyname(slave), link);
    {
        Daemon d(dir, "");
        REQUIRE_MESSAGE(wait_until([&] { return !resource(d, address).is_null(); }, 10s), d.log());
        auto r = resource(d, address);
        CHECK(r["claimed"] == false);
        CHECK(r["reason"].get<std::string>().find("no profile") != std::string::npos);
        CHECK(d.get("/v1/devices")["devices"].empty());
        std::this_thread::sleep_for(500ms);  // several polls
        pollfd p{master, POLLIN, 0};
        CHECK(poll(&p, 1, 0) == 0);  // not one byte reached the port

        auto suggested = cli(d, {"devices", "suggest", address, "--driver", "escpos", "--profile", "bench-printer"});
        REQUIRE(suggested.status == 0);
        INFO(suggested.out);
        CHECK(suggested.out.find("match:") != std::string::npos);
        write_file(dir / "profiles" / "bench-printer.yaml", suggested.out);
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait(10s));
    }
    close(master);
    close(slave);

    // Next start, with a printer behind the same port: the saved profile claims it.
    auto sim = start_printer_at(link);
    Daemon d(dir, "");
    REQUIRE_MESSAGE(wait_until([&] { return resource(d, address)["claimed"] == true; }, 10s), d.log());
    auto id = resource(d, address)["device"].get<std::string>();
    CHECK(id.rfind("bench-printer-", 0) == 0);
    REQUIRE_MESSAGE(d.wait_for_state({id}, "ready"), d.log());
    auto run = d.start_run(id, "receipt-printer");
    REQUIRE(run > 0);
    CHECK(d.wait_for_run(run)["run"]["outcome"] == "pass");
}

namespace {

/// Discovers one simulated printer through a profile that matches its port and
/// checks its identification; returns the resource as the API shows it.
json discover_with_identify(const TempDir& dir, std::vector<std::string> sim_options, const std::string& model_glob) {
    std::filesystem::create_directories(dir / "profiles");
    write_file(dir / "profiles" / "strict.yaml",
               "profile: strict-printer\ndriver: escpos\nmatch:\n  kind: serial\n  address: \"serial:" +
                   (dir / "tty-*").string() + "\"\nprobe: escpos.gs_i\nidentify:\n  model: \"" + model_glob + "\"\n");
    write_file(dir / "station.yaml", discovery_yaml(dir));
    auto sim = start_printer_at(dir / "tty-p", std::move(sim_options));
    Daemon d(dir, "");
    json r;
    wait_until(
        [&] {
            r = resource(d, sim.address);
            return r.is_object() && r["claimed"] == false && r["reason"].get<std::string>().find("identif") != std::string::npos;
        },
        10s);
    INFO(d.log());
    CHECK(d.get("/v1/devices")["devices"].empty());
    return r;
}

}  // namespace

TEST_CASE("discovery: an identify answer outside the profile leaves the device unclaimed, with the reason") {
    TempDir dir;
    auto r = discover_with_identify(dir, {}, "TM-*");
    REQUIRE(r.is_object());
    CHECK(r["claimed"] == false);
    CHECK(r["reason"].get<std::string>().find("identify answer does not match profile strict-printer") == 0);
}

TEST_CASE("discovery: a device whose identify probe answers garbage stays unclaimed, with the reason") {
    TempDir dir;
    auto r = discover_with_identify(dir, {"--garbage-identify"}, "*");
    REQUIRE(r.is_object());
    CHECK(r["claimed"] == false);
    CHECK(r["reason"].get<std::string>().find("identify probe answered garbage") == 0);
}
