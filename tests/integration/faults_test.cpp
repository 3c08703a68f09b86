// A stalling, babbling or vanishing device ends its step as timeout, fail or
// error, with the bytes in the transcript, and the daemon keeps serving.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

/// A suite of plain status polls, so the fault lands on a known kind of step.
std::filesystem::path status_suite(const TempDir& dir) {
    auto suites = dir / "suites";
    std::filesystem::create_directories(suites);
    write_file(suites / "status.yaml",
               "suite: status-poll\ntitle: Status polling\nrequires: [printer]\n"
               "defaults:\n  step_timeout: 3s\n"
               "scenarios:\n  - id: ST-1\n    title: Poll status\n    iterations: 40\n    steps:\n"
               "      - call: printer.status\n        expect: { online: true }\n");
    return suites;
}

struct FaultRun {
    json run;
    json failing_step;
};

FaultRun run_with_fault(const TempDir& dir, Link link, std::vector<std::string> fault) {
    auto sim = start_printer(link, fault);
    // A short response timeout keeps the stall case quick.
    Daemon d(dir, station_yaml({{"p", sim.address, "    settings: { response_timeout: 300ms }\n"}}, dir / "s.db",
                               status_suite(dir)));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto id = d.start_run("p", "status-poll");
    REQUIRE(id > 0);
    FaultRun fr;
    fr.run = d.wait_for_run(id, 30s);
    for (const auto& s : fr.run["steps"])
        if (s["outcome"] != "pass") fr.failing_step = s;
    // The daemon still answers.
    CHECK(http_get(d.port(), "/v1/health").status == 200);
    CHECK(d.process().running());
    return fr;
}

}  // namespace

TEST_CASE("faults: a stalled printer gives timeout") {
    TempDir dir;
    // identify takes 6 requests; 3 status steps of 3 requests each, then silence.
    auto fr = run_with_fault(dir, Link::pty, {"--stall-after", "15"});
    INFO(fr.run.dump(2).substr(0, 3000));
    CHECK(fr.run["run"]["outcome"] == "timeout");
    REQUIRE(fr.failing_step.is_object());
    CHECK(fr.failing_step["outcome"] == "timeout");
    CHECK(fr.failing_step["reason"].get<std::string>().find("no response") != std::string::npos);
}

TEST_CASE("faults: garbage from the printer gives fail with the bytes in the transcript") {
    TempDir dir;
    auto fr = run_with_fault(dir, Link::tcp, {"--garbage-after", "15"});
    INFO(fr.run.dump(2).substr(0, 3000));
    CHECK(fr.run["run"]["outcome"] == "fail");
    REQUIRE(fr.failing_step.is_object());
    CHECK(fr.failing_step["outcome"] == "fail");
    CHECK(fr.failing_step["reason"].get<std::string>().find("malformed") != std::string::npos);
    bool saw_garbage = false;
    for (const auto& e : fr.failing_step["transcript"]["entries"])
        if (e["dir"] == "rx" && e["hex"].get<std::string>().find("ff") != std::string::npos) saw_garbage = true;
    CHECK(saw_garbage);
}

TEST_CASE("faults: a printer that disconnects mid-run gives error") {
    TempDir dir;
    auto fr = run_with_fault(dir, Link::pty, {"--disconnect-after", "15"});
    INFO(fr.run.dump(2).substr(0, 3000));
    CHECK(fr.run["run"]["outcome"] == "error");
    REQUIRE(fr.failing_step.is_object());
    CHECK(fr.failing_step["outcome"] == "error");
}
