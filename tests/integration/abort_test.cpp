// Aborting a run through the CLI (POST /v1/runs/{id}/abort): the run stops at the next
// step boundary, keeps every step it committed (the one in flight included), frees its
// device, and says who stopped it and why. Ended and unknown runs are refused.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "timeline.hpp"

using namespace certlab::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Each iteration ends in a 3 s wait, so a test that aborts right after an iteration's
// print knows which step is in flight: that wait. Unaborted, the soak runs ~25 min.
const char* soak_yaml = R"(suite: long-soak
title: A soak long enough to abort
requires: [printer]
scenarios:
  - id: SOAK-1
    title: Status, print and a pause, many times
    iterations: 500
    steps:
      - call: printer.status
        expect: { online: true }
      - call: printer.print
        args: { lines: ["abort test line"] }
        expect: { accepted: true }
      - wait: 3s
  - id: SOAK-2
    title: Never reached when SOAK-1 is aborted
    steps:
      - call: printer.status
)";

const char* quick_yaml = R"(suite: quick
title: One status check
requires: [printer]
scenarios:
  - id: Q-1
    title: Printer online
    steps:
      - call: printer.status
        expect: { online: true }
)";

struct Station {
    TempDir dir;
    Sim printer = start_printer(Link::pty);
    Daemon daemon;
    Station() : daemon(dir, yaml(dir, printer)) {}

    static std::string yaml(const TempDir& dir, const Sim& printer) {
        std::filesystem::create_directory(dir / "suites");
        write_file(dir / "suites" / "long-soak.yaml", soak_yaml);
        write_file(dir / "suites" / "quick.yaml", quick_yaml);
        return station_yaml({{"p1", printer.address, ""}}, dir / "s.db", dir / "suites");
    }

    [[nodiscard]] std::int64_t step_count(std::int64_t id) const {
        return daemon.get("/v1/runs/" + std::to_string(id) + "?steps=0")["step_count"].get<std::int64_t>();
    }
    /// `certlab run abort ID args...`, with the CLI's stderr (the daemon's refusal).
    RunResult abort(std::int64_t id, std::vector<std::string> args, std::string& err) const {
        std::vector<std::string> argv{bin("certlab").string(), "--station", daemon.station_url(), "run", "abort",
                                      std::to_string(id)};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run(argv, 30s, dir / "cli.err");
        err = read_file(dir / "cli.err");
        return r;
    }
};

}  // namespace

TEST_CASE("abort: a long soak aborted through the CLI stops at the step boundary, keeps its steps and frees the device") {
    Station st;
    auto& d = st.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());
    const auto id = d.start_run("p1", "long-soak");
    REQUIRE_MESSAGE(id > 0, d.log());

    // Five steps committed: status, print, wait, status, print. The second iteration's
    // 3 s wait is now in flight, with nearly all of it to go.
    REQUIRE_MESSAGE(wait_until([&] { return st.step_count(id) >= 5; }, 20s), d.log());
    const auto sent = std::chrono::system_clock::now();
    std::string err;
    auto r = st.abort(id, {"--reason", "wrong firmware loaded", "--by", "tester"}, err);
    const auto acknowledged = std::chrono::system_clock::now();
    const auto acknowledged_steady = Clock::now();
    INFO(err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("abort requested") != std::string::npos);

    // Promptly: the wait is cut short, no 3 s pause and no 25 minutes of soak after it.
    auto detail = d.wait_for_run(id, 10s);
    const auto stopped_after = Clock::now() - acknowledged_steady;
    INFO(detail.dump(1).substr(0, 4000));
    const auto& run = detail["run"];
    REQUIRE(run["status"] == "aborted");
    CHECK(stopped_after < 1500ms);
    CHECK(run["outcome"] == "aborted");
    CHECK(run["reason"] == "stopped: aborted by tester: wrong firmware loaded");
    CHECK(time_of(run["ended_at"]) <= acknowledged + 1500ms);
    auto soak = scenario_of(detail, "SOAK-1");
    CHECK(soak["outcome"] == "aborted");
    CHECK(text_contains(soak["reason"], "aborted by tester: wrong firmware loaded"));
    CHECK(soak["passed_iterations"] == 2);
    CHECK(scenario_of(detail, "SOAK-2")["outcome"] == "missing");  // never started

    // Every committed step is there, numbered 1..n; the last is the wait that was in
    // flight when the abort came (committed, cut short); nothing started after it.
    const auto& steps = detail["steps"];
    REQUIRE(steps.size() == 6);
    CHECK(detail["step_count"] == 6);
    for (std::size_t i = 0; i < steps.size(); ++i) {
        CAPTURE(i);
        CHECK(steps[i]["seq"] == static_cast<std::int64_t>(i + 1));
        CHECK(steps[i]["outcome"] == "pass");
        CHECK(time_of(steps[i]["started_at"]) <= acknowledged);
    }
    const auto& last = steps.back();
    CHECK(last["kind"] == "wait");
    CHECK(last["iteration"] == 1);
    CHECK(time_of(last["started_at"]) <= sent);
    CHECK(step_end(last) + 2ms >= sent);                        // in flight at the abort
    CHECK(last["duration_us"].get<std::int64_t>() < 2'500'000);  // cut short, not waited out

    // The device is free again and takes the next run.
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready", 5s), d.log());
    const auto next = d.start_run("p1", "quick");
    REQUIRE_MESSAGE(next > 0, d.log());
    CHECK(d.wait_for_run(next, 20s)["run"]["outcome"] == "pass");
    CHECK(d.log().find("run " + std::to_string(id) + ": aborted by tester: wrong firmware loaded") != std::string::npos);
}

TEST_CASE("abort: an unknown run is 404, an ended run is 409 saying how it ended") {
    Station st;
    auto& d = st.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());

    auto unknown = http("POST", d.port(), "/v1/runs/9999/abort", R"({"reason": "typo"})");
    CHECK(unknown.status == 404);
    CHECK(unknown.body.find("no run 9999") != std::string::npos);
    std::string err;
    CHECK(st.abort(9999, {}, err).status == 3);  // exit_usage: refused
    CHECK(err.find("no run 9999") != std::string::npos);

    const auto done = d.start_run("p1", "quick");
    REQUIRE(done > 0);
    REQUIRE(d.wait_for_run(done, 20s)["run"]["outcome"] == "pass");
    auto ended = http("POST", d.port(), "/v1/runs/" + std::to_string(done) + "/abort", "");
    CHECK(ended.status == 409);
    CHECK(ended.body.find("run " + std::to_string(done) +
                          " has already ended: completed, outcome pass (1 of 1 scenarios passed)") != std::string::npos);
    CHECK(st.abort(done, {"--reason", "too late"}, err).status == 3);
    CHECK(err.find("has already ended: completed") != std::string::npos);

    // A run aborted once has ended too; its refusal names the abort.
    const auto soak = d.start_run("p1", "long-soak");
    REQUIRE(soak > 0);
    REQUIRE(wait_until([&] { return st.step_count(soak) >= 2; }, 20s));  // its 3 s wait in flight
    const auto path = "/v1/runs/" + std::to_string(soak) + "/abort";
    CHECK(http("POST", d.port(), path, R"({"reason": 5})").status == 400);  // not a string
    CHECK(http("POST", d.port(), path, "[1]").status == 400);              // not an object
    auto accepted = http("POST", d.port(), path, R"({"reason": "first"})");
    CHECK(accepted.status == 202);
    CHECK(accepted.body.find("\"aborting\":true") != std::string::npos);
    // Again at once: accepted while the run is still stopping (409 if it already ended,
    // which a slow machine may allow); either way the first reason stands.
    auto second = http("POST", d.port(), path, R"({"reason": "second", "by": "someone else"})");
    CHECK((second.status == 202 || second.status == 409));
    auto run = d.wait_for_run(soak, 10s)["run"];
    CHECK(run["status"] == "aborted");
    CHECK(run["reason"] == "stopped: aborted by an API client: first");
    auto again = http("POST", d.port(), path, "");
    CHECK(again.status == 409);
    CHECK(again.body.find("has already ended: aborted, outcome aborted (stopped: aborted by an API client: first)") !=
          std::string::npos);
}

TEST_CASE("abort: a run queued behind another ends aborted without a step, and the running one goes on") {
    Station st;
    auto& d = st.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());
    const auto soak = d.start_run("p1", "long-soak");
    REQUIRE(soak > 0);
    REQUIRE(wait_until([&] { return st.step_count(soak) >= 1; }, 20s));
    const auto queued = d.start_run("p1", "quick");  // p1 is busy: it waits its turn
    REQUIRE_MESSAGE(queued > 0, d.log());
    CHECK(d.get("/v1/runs/" + std::to_string(queued))["run"]["status"] == "queued");

    std::string err;
    REQUIRE(st.abort(queued, {"--reason", "not needed", "--by", "tester"}, err).status == 0);
    auto run = d.wait_for_run(queued, 5s);
    CHECK(run["run"]["status"] == "aborted");
    CHECK(text_contains(run["run"]["reason"], "aborted by tester: not needed"));
    CHECK(run["step_count"] == 0);
    CHECK(d.get("/v1/runs/" + std::to_string(soak) + "?steps=0")["run"]["status"] == "running");

    REQUIRE(st.abort(soak, {}, err).status == 0);
    CHECK(d.wait_for_run(soak, 10s)["run"]["status"] == "aborted");
}
