// The scenario engine's structure: setup and teardown that always run, retries with
// their cause, the marginal band, soak stop rules and statistics, and a soak cut by
// a restart that resumes at the next iteration with its statistics intact.
#include <doctest/doctest.h>

#include <stdexcept>

#include "engine/soak.hpp"
#include "runner_fixture.hpp"

using namespace certlab;
using namespace certlab::test::runner;
using record::Outcome;
using record::StepPhase;

namespace {

const std::string status_step = "      - call: printer.status\n        expect: { online: true }\n";

std::vector<record::StepResult> all_steps(Fixture& f) { return f.store->get_run_detail(f.run.id, -1)->steps; }

}  // namespace

TEST_CASE("engine: teardown runs after a failure and after a stop, setup before the steps") {
    Fixture f;
    const std::string scenario = "  - id: S\n    title: s\n    iterations: 3\n    setup:\n" + status_step +
                                 "    steps:\n" + status_step + "    teardown:\n" + status_step;
    SUBCASE("after a failing iteration") {
        f.link.driver_.script.push_back(values({{"online", true}}));   // setup
        f.link.driver_.script.push_back(values({{"online", false}}));  // iteration 1 fails
        f.link.driver_.script.push_back(values({{"online", true}}));   // teardown
        CHECK(f.execute(scenario) == Outcome::fail);
        auto steps = all_steps(f);
        REQUIRE(steps.size() == 3);
        CHECK(steps[0].phase == StepPhase::setup);
        CHECK(steps[1].phase == StepPhase::main);
        CHECK(steps[2].phase == StepPhase::teardown);
        CHECK(steps[2].outcome == Outcome::pass);
    }
    SUBCASE("after a stop request") {
        for (int i = 0; i < 3; ++i) f.link.driver_.script.push_back(values({{"online", true}}));
        engine::RunObserver obs;
        obs.on_step = [&](const record::StepResult& s) {
            if (s.phase == StepPhase::main) f.control.request_stop("enough");
        };
        CHECK(f.execute(scenario, obs) == Outcome::aborted);
        auto steps = all_steps(f);
        REQUIRE(steps.size() == 3);
        CHECK(steps[2].phase == StepPhase::teardown);
    }
    SUBCASE("a failed setup skips the steps, not the teardown") {
        f.link.driver_.script.push_back(values({{"online", false}}));
        f.link.driver_.script.push_back(values({{"online", true}}));
        CHECK(f.execute(scenario) == Outcome::fail);
        auto steps = all_steps(f);
        REQUIRE(steps.size() == 2);
        CHECK(steps[1].phase == StepPhase::teardown);
        CHECK(f.store->get_run_detail(f.run.id, 0)->scenarios[0].reason.find("setup step 1 printer.status") == 0);
    }
    SUBCASE("a failed teardown fails a passing scenario and says so") {
        for (int i = 0; i < 4; ++i) f.link.driver_.script.push_back(values({{"online", true}}));
        f.link.driver_.script.push_back(values({{"online", false}}));
        CHECK(f.execute(scenario) == Outcome::fail);
        CHECK(f.store->get_run_detail(f.run.id, 0)->scenarios[0].reason.find("teardown step 1") != std::string::npos);
    }
}

TEST_CASE("engine: a retried step keeps every attempt with its cause") {
    Fixture f;
    const auto quiet = sdk::TransportError(sdk::TransportError::Kind::timeout, "quiet");
    SUBCASE("a timeout is retried and the second try passes") {
        f.link.driver_.script.push_back(throws(quiet));
        f.link.driver_.script.push_back(values({{"online", true}}));
        CHECK(f.execute("  - id: S\n    title: s\n    steps:\n      - call: printer.status\n        retry: 3\n") ==
              Outcome::pass);
        auto steps = all_steps(f);
        REQUIRE(steps.size() == 2);
        CHECK(steps[0].outcome == Outcome::timeout);
        CHECK(steps[0].retried);
        CHECK(steps[0].attempt == 1);
        CHECK(steps[0].reason.find("no response: quiet (retried: attempt 1 of 3)") == 0);
        CHECK(steps[1].outcome == Outcome::pass);
        CHECK(steps[1].attempt == 2);
        CHECK_FALSE(steps[1].retried);
    }
    SUBCASE("a fail is the device's verdict: not retried unless the suite asks") {
        f.link.driver_.script.push_back(values({{"online", false}}));
        CHECK(f.execute("  - id: S\n    title: s\n    steps:\n" + status_step + "        retry: 3\n") == Outcome::fail);
        CHECK(all_steps(f).size() == 1);
    }
    SUBCASE("retries give out after the attempts") {
        for (int i = 0; i < 2; ++i) f.link.driver_.script.push_back(values({{"online", false}}));
        CHECK(f.execute("  - id: S\n    title: s\n    steps:\n" + status_step +
                        "        retry: { attempts: 2, on: [fail], delay: 10ms }\n") == Outcome::fail);
        auto steps = all_steps(f);
        REQUIRE(steps.size() == 2);
        CHECK(steps[0].retried);
        CHECK_FALSE(steps[1].retried);
        CHECK(steps[1].outcome == Outcome::fail);
    }
}

TEST_CASE("engine: a value in the marginal band passes with a warning") {
    Fixture f;
    const std::string scenario =
        "  - id: S\n    title: s\n    steps:\n      - call: printer.status\n"
        "        measure: { latency: { max: 100 ms, warn_above: 80 ms } }\n";
    SUBCASE("marginal") {
        f.link.driver_.script.push_back(values({{"latency", sdk::Value(90.0, "ms")}}));
        CHECK(f.execute(scenario) == Outcome::pass);
        auto s = all_steps(f).at(0);
        CHECK(s.warning == "latency: 90 ms is marginal, above 80 ms (limit 100 ms)");
        REQUIRE(s.measurements.size() == 1);
        CHECK(s.measurements[0].marginal);
        CHECK(s.measurements[0].within);
    }
    SUBCASE("comfortable") {
        f.link.driver_.script.push_back(values({{"latency", sdk::Value(20.0, "ms")}}));
        CHECK(f.execute(scenario) == Outcome::pass);
        CHECK(all_steps(f).at(0).warning.empty());
        CHECK_FALSE(all_steps(f).at(0).measurements[0].marginal);
    }
    SUBCASE("beyond the limit it still fails") {
        f.link.driver_.script.push_back(values({{"latency", sdk::Value(120.0, "ms")}}));
        CHECK(f.execute(scenario) == Outcome::fail);
    }
}

TEST_CASE("engine: a soak stops when its failure rate passes the limit") {
    Fixture f;
    // Every third iteration fails: 33% > 25%, noticed once 6 iterations ran.
    for (int i = 0; i < 100; ++i) f.link.driver_.script.push_back(values({{"online", i % 3 != 2}}));
    CHECK(f.execute("  - id: S\n    title: s\n    iterations: 100\n    max_failures: 50\n"
                    "    max_failure_rate: 25%\n    failure_rate_after: 6\n    steps:\n" +
                    status_step) == Outcome::fail);
    auto sc = f.store->get_run_detail(f.run.id, 0)->scenarios.at(0);
    CHECK(sc.iterations == 6);
    CHECK(sc.reason.find("stopped: 2 of 6 iterations did not pass, above the 25% limit") == 0);
    REQUIRE(sc.stats);
    CHECK(sc.stats->iterations == 6);
    CHECK(sc.stats->failed == 2);
    CHECK(sc.stats->pass_rate == doctest::Approx(4.0 / 6));
}

TEST_CASE("engine: soak statistics are those of a recount of the steps") {
    Fixture f;
    for (int i = 0; i < 40; ++i)
        f.link.driver_.script.push_back(values({{"online", i != 7}, {"latency", sdk::Value(10.0 + i, "ms")}}));
    CHECK(f.execute("  - id: S\n    title: s\n    iterations: 40\n    max_failures: 5\n    steps:\n"
                    "      - call: printer.status\n        expect: { online: true }\n"
                    "        measure: { latency: { max: 1 s } }\n") == Outcome::fail);
    auto sc = f.store->get_run_detail(f.run.id, 0)->scenarios.at(0);
    REQUIRE(sc.stats);
    CHECK(sc.stats->iterations == 40);
    CHECK(sc.stats->passed == 39);
    CHECK(sc.stats->failed == 1);
    REQUIRE(sc.stats->drift.size() == 1);
    const auto& d = sc.stats->drift[0];
    CHECK(d.name == "latency");
    CHECK(d.first == 10.0);
    CHECK(d.last == 49.0);
    CHECK(d.mean == doctest::Approx(29.5));
    // One ms more per iteration: 1000 ms per 1000 iterations.
    CHECK(d.slope_per_1k == doctest::Approx(1000.0));
    REQUIRE(sc.stats->latency.size() == 1);
    CHECK(sc.stats->latency[0].action == "printer.status");
    CHECK(sc.stats->latency[0].count == 40);
    // Replaying the committed steps gives the same numbers.
    auto again = engine::replay(f.store->scenario_steps(sc.id), 1, 40);
    CHECK(again.stats.summary() == *sc.stats);
    CHECK(again.iterations == 40);
    CHECK_FALSE(again.cut_iteration);
}

TEST_CASE("engine: a soak cut by a crash resumes at the next iteration with its statistics intact") {
    Fixture f;
    for (int i = 0; i < 100; ++i) f.link.driver_.script.push_back(values({{"online", true}}));
    engine::RunObserver crash;
    crash.on_step = [](const record::StepResult& s) {
        // Committed, then the process dies: the middle of iteration 4 (steps 7 and 8).
        if (s.seq == 7) throw std::runtime_error("kill -9");
    };
    const std::string scenario = "  - id: S\n    title: s\n    iterations: 10\n    steps:\n" + status_step +
                                 status_step;
    CHECK_THROWS_WITH(f.execute(scenario, crash), "kill -9");
    CHECK(f.store->step_count(f.run.id) == 7);

    f.run.resumed = 1;
    f.control = {};
    CHECK(f.go() == Outcome::error);  // the cut iteration is the station's error
    auto detail = f.store->get_run_detail(f.run.id, -1);
    REQUIRE(detail->scenarios.size() == 1);
    const auto& sc = detail->scenarios[0];
    CHECK(sc.iterations == 10);
    CHECK(sc.passed_iterations == 9);
    REQUIRE(sc.stats);
    CHECK(sc.stats->errors == 1);
    CHECK(sc.stats->passed == 9);
    // Seq numbers go on without a gap or a duplicate; the cut iteration is marked.
    for (std::size_t i = 0; i < detail->steps.size(); ++i) CHECK(detail->steps[i].seq == static_cast<std::int64_t>(i + 1));
    const auto& marker = detail->steps[7];
    CHECK(marker.kind == "interrupted");
    CHECK(marker.iteration == 3);
    CHECK(marker.index == 1);
    CHECK(detail->steps[8].iteration == 4);
    // 3 whole iterations + 1 step + the marker + 6 whole iterations.
    CHECK(detail->steps.size() == 6 + 1 + 1 + 12);
    auto recount = engine::replay(f.store->scenario_steps(sc.id), 2, 10);
    CHECK(recount.stats.summary() == *sc.stats);
}

TEST_CASE("engine: latency quantiles are nearest-rank, exact below 2048 us and within 0.1 % above") {
    engine::LatencyCounts v;
    for (std::uint32_t i = 1; i <= 100; ++i) v.add(101 - i);
    CHECK(v.quantile(0.5) == 50);
    CHECK(v.quantile(0.95) == 95);
    CHECK(v.quantile(0.99) == 99);
    CHECK(v.quantile(1.0) == 100);
    CHECK(engine::LatencyCounts{}.quantile(0.5) == 0);
    engine::LatencyCounts w;
    for (int i = 0; i < 90; ++i) w.add(2);
    for (int i = 0; i < 10; ++i) w.add(500);
    CHECK(w.quantile(0.90) == 2);
    CHECK(w.quantile(0.91) == 500);
    // Above 2048 us a value is its bucket's lower bound, never more than 0.1 % below.
    for (std::uint32_t us : {2048u, 2049u, 4095u, 12'345u, 999'999u, 60'000'000u, 4'294'967'295u}) {
        CAPTURE(us);
        const auto b = engine::LatencyCounts::bucket(us);
        const auto low = engine::LatencyCounts::lower_bound(b);
        CHECK(low <= us);
        CHECK(double(us - low) <= double(us) / 1024.0);
        CHECK(engine::LatencyCounts::bucket(low) == b);
        CHECK(b < 23'552);
    }
    engine::LatencyCounts big;
    big.add(12'345);
    CHECK(big.max() == 12'345);  // the maximum stays exact
}

TEST_CASE("engine: a soak by time runs iterations until its duration is over") {
    Fixture f;
    for (int i = 0; i < 1000; ++i) f.link.driver_.script.push_back(values({{"online", true}}));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(f.execute("  - id: S\n    title: s\n    duration: 300ms\n    interval: 20ms\n    steps:\n" + status_step) ==
          Outcome::pass);
    const auto took = std::chrono::steady_clock::now() - t0;
    auto sc = f.store->get_run_detail(f.run.id, 0)->scenarios.at(0);
    // Bounds, not timing: it ran more than one iteration, stopped by its clock long
    // before the script ran out, and planned what it ran.
    CHECK(sc.iterations > 1);
    CHECK(sc.iterations < 1000);
    CHECK(sc.iterations_planned == sc.iterations);
    CHECK(took >= std::chrono::milliseconds(300));
    REQUIRE(sc.stats);
    CHECK(sc.stats->iterations == sc.iterations);
}
