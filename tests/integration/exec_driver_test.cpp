// Exec drivers: a driver in a child process (fixtures/exec-driver/escpos_exec.py)
// certifies a simulated printer through the daemon's link. A child that crashes, hangs
// or writes malformed JSON ends the step in flight as `error` with the reason, is
// killed and restarted, and the next run on the device passes.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// A profile running the Python driver with `fault` switches. call_timeout + kill_grace
/// stays well below the 10 s step timeout, which also covers a restart (python3 alone
/// takes ~2 s to start on a loaded CI box).
fs::path exec_profile(const TempDir& dir, const std::string& fault) {
    auto profiles = dir / "profiles";
    fs::create_directories(profiles);
    write_file(profiles / "escpos-exec.yaml",
               "profile: escpos-exec\n"
               "description: ESC/POS printer through the Python exec driver\n"
               "driver: exec\n"
               "capabilities: [printer, cash_drawer]\n"
               "settings:\n"
               "  command: python3 " + source("fixtures/exec-driver/escpos_exec.py").string() + " " + fault + "\n"
               "  call_timeout: 2s\n  kill_grace: 300ms\n  restart_backoff: 100ms\n  start_timeout: 15s\n"
               "  response_timeout_ms: \"1000\"\n");
    return profiles;
}

fs::path suites(const TempDir& dir) {
    auto s = dir / "suites";
    fs::create_directories(s);
    write_file(s / "exec.yaml",
               "suite: exec-printer\ntitle: Printer through an exec driver\nrequires: [printer, cash_drawer]\n"
               "defaults:\n  step_timeout: 10s\nscenarios:\n"
               "  - id: EX-1\n    title: Online\n    steps:\n"
               "      - call: printer.status\n        expect: { online: true, paper_out: false }\n"
               "  - id: EX-2\n    title: Online again\n    steps:\n"
               "      - call: printer.status\n        expect: { online: true }\n"
               "        measure:\n          latency: { max: 1000 ms }\n"
               "  - id: EX-3\n    title: Drawer kick\n    steps:\n"
               "      - call: cash_drawer.open\n        expect: { accepted: true }\n"
               "      - call: cash_drawer.status\n        expect: { open: true }\n");
    return s;
}

struct Bench {
    TempDir dir;
    Sim sim;
    std::unique_ptr<Daemon> daemon;

    explicit Bench(const std::string& fault) : sim(start_printer(Link::tcp)) {
        auto f = fault;
        if (!f.empty()) f += " --fault-marker " + (dir / "fault.marker").string();
        auto yaml = station_yaml_extended({{"escpos-exec", {"pyp", sim.address, ""}}}, dir / "s.db", suites(dir),
                                          {exec_profile(dir, f)});
        daemon = std::make_unique<Daemon>(dir, yaml);
        REQUIRE_MESSAGE(daemon->wait_for_state({"pyp"}, "ready"), daemon->log());
    }

    json run_suite() {
        // After a failure the device may be briefly between states; wait for it.
        REQUIRE_MESSAGE(daemon->wait_for_state({"pyp"}, "ready"), daemon->log());
        auto id = daemon->start_run("pyp", "exec-printer");
        REQUIRE(id > 0);
        return daemon->wait_for_run(id, 60s);
    }

    /// Process ids of every child the driver started, from its log.
    std::set<std::string> child_pids() const {
        std::set<std::string> pids;
        static const std::regex started(R"(exec driver escpos-py 1\.0 started \(pid (\d+)\))");
        auto log = daemon->log();
        for (std::sregex_iterator it(log.begin(), log.end(), started), end; it != end; ++it) pids.insert((*it)[1]);
        return pids;
    }
};

const json* first_not_passing(const json& run) {
    for (const auto& s : run["steps"])
        if (s["outcome"] != "pass") return &s;
    return nullptr;
}

/// Runs the suite with a fault on the second action call: that step ends `error` with
/// `reason`, the child ends as `end` says in the log, is restarted, and the next run passes.
void fault_then_recovery(const std::string& fault, const std::string& reason, const std::string& end) {
    Bench b(fault);
    auto first = b.run_suite();
    INFO(b.daemon->log());
    INFO(first.dump(2).substr(0, 4000));
    CHECK(first["run"]["outcome"] == "error");
    const auto* step = first_not_passing(first);
    REQUIRE(step);
    CHECK((*step)["outcome"] == "error");
    CHECK((*step)["action"] == "printer.status");
    CHECK((*step)["reason"].get<std::string>().find(reason) != std::string::npos);
    // The fault spent, the restarted child carried the rest of the run.
    CHECK(first["run"]["reason"] == "2 of 3 scenarios passed");
    CHECK(b.child_pids().size() >= 2);
    CHECK(b.daemon->log().find(end) != std::string::npos);

    auto second = b.run_suite();
    INFO(second.dump(2).substr(0, 4000));
    CHECK(second["run"]["outcome"] == "pass");
    CHECK(b.daemon->process().running());
    CHECK(http_get(b.daemon->port(), "/v1/health").status == 200);
}

}  // namespace

TEST_CASE("exec: a Python driver certifies a printer through the daemon's link") {
    Bench b("");
    auto r = b.run_suite();
    INFO(b.daemon->log());
    INFO(r.dump(2).substr(0, 4000));
    CHECK(r["run"]["outcome"] == "pass");
    CHECK(r["run"]["driver"] == "exec 1.0");
    // The child's bytes went through the daemon's transport: DLE EOT 1 is in the transcript.
    bool saw_request = false;
    for (const auto& e : r["steps"][0]["transcript"]["entries"])
        if (e["dir"] == "tx" && e["hex"].get<std::string>().rfind("100401", 0) == 0) saw_request = true;
    CHECK(saw_request);
    // Identity came from the child (GS I through the link), naming the program.
    auto dev = b.daemon->get("/v1/devices/pyp");
    CHECK(dev["identity"]["model"] == "CERTLAB-SIM-80");
    CHECK(dev["identity"]["exec_driver"] == "escpos-py");
    auto drivers = b.daemon->get("/v1/drivers");
    bool listed = false;
    for (const auto& d : drivers["drivers"])
        if (d["name"] == "escpos-py" && d["origin"] == "exec" && d["device"] == "pyp" && d["version"] == "1.0")
            listed = true;
    CHECK(listed);
    CHECK(b.child_pids().size() == 1);
}

TEST_CASE("exec: a driver that crashes ends the step as error, is restarted, and the next run passes") {
    fault_then_recovery("--crash-on 2", "exec driver crashed (signal 11)", "killed by signal 11 (SIGSEGV)");
}

TEST_CASE("exec: a driver that hangs ends the step as error, is killed and restarted, and the next run passes") {
    // It ignores SIGTERM: only the SIGKILL after the grace period ends it.
    fault_then_recovery("--hang-on 2", "exec driver did not answer within 2 s", "killed by signal 9 (SIGKILL)");
}

TEST_CASE("exec: a driver that writes malformed JSON ends the step as error, is restarted, and the next run passes") {
    fault_then_recovery("--garbage-on 2", "exec driver wrote malformed JSON", "killed by signal 15 (SIGTERM)");
}
