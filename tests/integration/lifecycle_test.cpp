// A device that goes away is lost, comes back ready under the same id, and after
// repeated link faults is quarantined until a technician releases it.
#include <doctest/doctest.h>

#include <signal.h>

#include <thread>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

json device(const Daemon& d, const std::string& id) { return d.get("/v1/devices/" + id); }

std::uint16_t port_of(const std::string& address) {
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

/// Starts the receipt-printer suite on device "p", kills its simulator once 20 steps
/// are committed, and returns the run once it has ended.
json pull_mid_run(const Daemon& d, Sim& sim, const std::filesystem::path& db) {
    auto id = d.start_run("p", "receipt-printer");
    REQUIRE(id > 0);
    REQUIRE(wait_until([&] { return std::stoi(sql_value(db, "SELECT count(*) FROM step_results")) >= 20; }, 30s));
    sim.process.signal(SIGKILL);
    REQUIRE(sim.process.wait(5s));
    return d.wait_for_run(id, 30s);
}

bool has_device_lost_step(const json& run) {
    for (const auto& s : run["steps"])
        if (s["outcome"] == "error" && s["reason"].get<std::string>().find("device-lost") == 0) return true;
    return false;
}

}  // namespace

TEST_CASE("lifecycle: a TCP printer whose simulator stops is lost, and ready again when it restarts") {
    TempDir dir;
    auto sim = start_printer(Link::tcp);
    const auto port = port_of(sim.address);
    auto db = dir / "s.db";
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, db));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto restart = [&] {
        // Listens on the same port again, as a power-cycled device would.
        auto again = Sim{Process::start({bin("certlab-sim").string(), "printer", "--tcp", std::to_string(port)}),
                         sim.address};
        REQUIRE(again.process.read_line(5s));
        return again;
    };

    SUBCASE("while idle") {
        sim.process.signal(SIGTERM);
        REQUIRE(sim.process.wait(5s));
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "lost"), d.log());
        CHECK(device(d, "p")["state_reason"].get<std::string>().find("went away") != std::string::npos);
        // A run on it waits the station's lost_wait for it to come back, then ends in error.
        auto id = d.start_run("p", "receipt-printer");
        REQUIRE(id > 0);
        auto run = d.wait_for_run(id, 20s);
        CHECK(run["run"]["outcome"] == "error");
        CHECK(text_contains(run["run"]["reason"], "device 'p' is lost"));
        CHECK(run["scenarios"].empty());
    }
    SUBCASE("mid-run: the step in flight ends as device-lost") {
        auto run = pull_mid_run(d, sim, db);
        CHECK(run["run"]["outcome"] == "error");
        CHECK_MESSAGE(has_device_lost_step(run), run.dump(1).substr(0, 3000));
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "lost"), d.log());
    }

    sim = restart();
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    CHECK(device(d, "p")["id"] == "p");
    auto id = d.start_run("p", "receipt-printer");
    REQUIRE(id > 0);
    CHECK(d.wait_for_run(id)["run"]["outcome"] == "pass");
}

TEST_CASE("lifecycle: a pty printer pulled mid-run ends the step as device-lost, then comes back") {
    TempDir dir;
    auto link = dir / "printer";
    auto start = [&] { return start_printer_at(link); };
    auto sim = start();
    auto db = dir / "s.db";
    Daemon d(dir, station_yaml({{"p", "serial:" + link.string(), ""}}, db));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto run = pull_mid_run(d, sim, db);
    CHECK(run["run"]["outcome"] == "error");
    CHECK_MESSAGE(has_device_lost_step(run), run.dump(1).substr(0, 3000));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "lost"), d.log());

    sim = start();
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    CHECK(device(d, "p")["id"] == "p");
}

TEST_CASE("lifecycle: repeated link faults quarantine a device until it is released") {
    TempDir dir;
    auto link = dir / "printer";
    auto start = [&] { return start_printer_at(link); };
    auto yaml = station_yaml({{"p", "serial:" + link.string(), ""}}, dir / "s.db");
    yaml.replace(yaml.find("  shutdown_grace"), 0, "  quarantine_after: 2\n");

    // Unplugged while idle is not a fault: lost, then ready again, never quarantined.
    auto sim = start();
    Daemon d(dir, yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    for (int i = 0; i < 3; ++i) {
        sim.process.signal(SIGKILL);
        REQUIRE(sim.process.wait(5s));
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "lost"), d.log());
        sim = start();
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    }

    // The link drops mid-run twice, with no action going through in between:
    // a faulting device is quarantined.
    for (int i = 0; i < 2; ++i) {
        sim.process.signal(SIGKILL);
        REQUIRE(sim.process.wait(5s));
        sim = start_printer_at(link, {"--disconnect-after", i == 0 ? "20" : "1"});
        if (i == 0) {
            REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
            auto id = d.start_run("p", "receipt-printer");
            REQUIRE(id > 0);
            CHECK(d.wait_for_run(id)["run"]["outcome"] == "error");
        }
    }
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "quarantined"), d.log());
    CHECK(device(d, "p")["state_reason"].get<std::string>().find("2 consecutive link faults") == 0);

    // It stays quarantined even when the device is back, and runs are refused.
    sim = start();
    std::this_thread::sleep_for(600ms);
    CHECK(device(d, "p")["state"] == "quarantined");
    CHECK(d.start_run("p", "receipt-printer") == -409);
    CHECK(text_contains(d.get("/v1/devices")["devices"][0]["state"], "quarantined"));

    // Releasing a device that is not quarantined is refused; this one is released.
    auto released = cli(d, {"devices", "release", "p"});
    CHECK(released.status == 0);
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    CHECK(cli(d, {"devices", "release", "p"}).status == 3);
    CHECK(cli(d, {"devices", "release", "nope"}).status == 3);
}
