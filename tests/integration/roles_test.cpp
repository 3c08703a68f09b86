// Runs over several devices: a suite's roles are filled through the station's
// wiring of the device under test, every device in the run is busy with it, and each
// step is recorded with the role it ran on.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

// The printer under test, and a second printer whose drawer port the suite uses
// through the role `drawer` (the bench's cash drawer hangs off another printer).
const char* suite_yaml = R"(suite: drawer-on-second-printer
title: Drawer on the neighbour printer
requires: [printer]
roles:
  drawer: [cash_drawer]
scenarios:
  - id: ROLE-1
    title: Printer online, drawer kicked through the neighbour
    iterations: 20
    steps:
      - call: printer.status
        expect: { online: true }
      - call: cash_drawer.open
        role: drawer
        expect: { accepted: true }
      - call: cash_drawer.status
        role: drawer
        expect: { open: true }
)";

}  // namespace

TEST_CASE("roles: a suite's drawer role runs on the device the station wires to the printer") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "roles.yaml", suite_yaml);
    std::filesystem::copy_file(source("lab-config/suites/receipt-printer.yaml"), dir / "suites" / "receipt-printer.yaml");
    auto printer = start_printer(Link::pty);
    auto neighbour = start_printer(Link::pty, {"--drawer-close-ms", "60000"});
    auto other = start_printer(Link::pty);
    auto yaml = station_yaml({{"p1", printer.address, ""}, {"p2", neighbour.address, ""}, {"p3", other.address, ""}},
                             dir / "s.db", dir / "suites");
    yaml += "wiring:\n  p1:\n    drawer: p2\n";
    Daemon d(dir, yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p1", "p2", "p3"}, "ready"), d.log());

    // p3 has no wiring: the suite cannot find its drawer.
    CHECK(d.start_run("p3", "drawer-on-second-printer") == -422);

    auto id = d.start_run("p1", "drawer-on-second-printer");
    REQUIRE(id > 0);
    // Both devices of the run are busy with it: a run on p2 waits until it is over.
    auto queued = d.start_run("p2", "receipt-printer");
    REQUIRE(queued > 0);
    auto run = d.wait_for_run(id);
    INFO(run.dump(1).substr(0, 2000));
    CHECK(run["run"]["outcome"] == "pass");
    CHECK(run["run"]["roles"]["drawer"]["device"] == "p2");
    CHECK(run["run"]["roles"]["drawer"]["driver"].get<std::string>().rfind("escpos", 0) == 0);
    bool saw_dut = false, saw_drawer = false;
    for (const auto& s : run["steps"]) {
        if (s["role"] == "dut") saw_dut = s["action"] == "printer.status";
        if (s["role"] == "drawer") saw_drawer = s["action"].get<std::string>().rfind("cash_drawer.", 0) == 0;
    }
    CHECK(saw_dut);
    CHECK(saw_drawer);
    // The queued run on p2 started only once the roles run had ended.
    auto after = d.wait_for_run(queued);
    CHECK(after["run"]["outcome"] == "pass");
    CHECK(after["steps"].size() > 0);
    CHECK(sql_value(dir / "s.db", "SELECT min(s.started_at) >= (SELECT ended_at FROM runs WHERE id = " +
                                      std::to_string(id) + ") FROM step_results s WHERE s.run_id = " +
                                      std::to_string(queued)) == "1");
    REQUIRE(d.wait_for_state({"p1", "p2"}, "ready"));
}

TEST_CASE("roles: a run whose role device is busy waits for it, and the device under test cannot be a role") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "roles.yaml", suite_yaml);
    std::filesystem::copy_file(source("lab-config/suites/receipt-printer.yaml"), dir / "suites" / "receipt-printer.yaml");
    auto printer = start_printer(Link::pty);
    auto neighbour = start_printer(Link::pty, {"--drawer-close-ms", "60000"});
    auto yaml = station_yaml({{"p1", printer.address, ""}, {"p2", neighbour.address, ""}}, dir / "s.db", dir / "suites");
    yaml += "wiring:\n  \"p*\":\n    drawer: p2\n";
    Daemon d(dir, yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p1", "p2"}, "ready"), d.log());
    // p2 matches the glob but cannot be its own drawer.
    CHECK(d.start_run("p2", "drawer-on-second-printer") == -422);
    // p2 busy with its own run: p1's run, which needs it, waits behind it; p1 is
    // not held meanwhile (a run of its own goes ahead).
    auto busy = d.start_run("p2", "receipt-printer");
    REQUIRE(busy > 0);
    auto waiting = d.start_run("p1", "drawer-on-second-printer");
    REQUIRE(waiting > 0);
    CHECK(d.get("/v1/runs/" + std::to_string(waiting) + "?steps=0")["run"]["status"] == "queued");
    CHECK(d.wait_for_run(busy)["run"]["outcome"] == "pass");
    auto run = d.wait_for_run(waiting);
    CHECK(run["run"]["outcome"] == "pass");
    CHECK(sql_value(dir / "s.db", "SELECT min(started_at) >= (SELECT ended_at FROM runs WHERE id = " +
                                      std::to_string(busy) + ") FROM step_results WHERE run_id = " +
                                      std::to_string(waiting)) == "1");
}

TEST_CASE("roles: the printer is power-cycled through its supply (dut + psu) and comes back online") {
    TempDir dir;
    const auto outlet = dir / "outlet";  // the psu writes on/off here; the printer's mains read it
    // The supply recalls "output on" at power-up, so the printer is up before the run.
    auto psu = start_sim("psu", Link::pty, {"--outlet", outlet.string(), "--output-on"});
    REQUIRE(wait_until([&] { return std::filesystem::exists(outlet); }, 5s));
    auto printer = start_printer(Link::pty, {"--power-file", outlet.string()});
    auto yaml = station_yaml_profiled({{"escpos-generic", {"printer-1", printer.address, ""}},
                                       {"scpi-psu", {"psu-1", psu.address, ""}}},
                                      dir / "s.db");
    yaml += "wiring:\n  printer-1:\n    psu: psu-1\n";
    Daemon d(dir, yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"printer-1", "psu-1"}, "ready"), d.log());

    auto id = d.start_run("printer-1", "printer-power-cycle");
    REQUIRE(id > 0);
    auto run = d.wait_for_run(id, 90s);
    INFO(run.dump(1).substr(0, 3000));
    CHECK(run["run"]["outcome"] == "pass");
    CHECK(run["run"]["roles"]["psu"]["device"] == "psu-1");
    CHECK(run["run"]["roles"]["psu"]["firmware"] == "1.00");  // provenance of every device in the run
    int cycles = 0;
    for (const auto& s : run["steps"])
        if (s["role"] == "psu" && s["action"] == "power.cycle" && s["outcome"] == "pass") ++cycles;
    CHECK(cycles == 6);
    CHECK(read_file(outlet) == "on\n");
}
