// What the station counts for /metrics, fed as a run's observer would feed it.
#include <doctest/doctest.h>

#include <string>

#include "station/station_metrics.hpp"

using namespace certlab;
using record::Outcome;
using record::StepPhase;

namespace {

record::StepResult step(std::int64_t scenario, int iteration, Outcome outcome = Outcome::pass,
                        StepPhase phase = StepPhase::main, std::int64_t duration_us = 2000) {
    record::StepResult s;
    s.scenario_result_id = scenario;
    s.iteration = iteration;
    s.outcome = outcome;
    s.phase = phase;
    s.duration_us = duration_us;
    return s;
}

record::ScenarioResult scenario(std::int64_t id, int iterations, int planned, bool soak_stats) {
    record::ScenarioResult s;
    s.id = id;
    s.iterations = iterations;
    s.iterations_planned = planned;
    if (soak_stats) s.stats = record::SoakStats{};
    return s;
}

std::string scrape(const station::StationMetrics& m, const station::MetricsSnapshot& now = {}) {
    api::metrics::Registry r;
    m.collect(r, now);
    return r.render();
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

}  // namespace

TEST_CASE("station metrics: every outcome and state is listed from the start") {
    station::StationMetrics m;
    station::MetricsSnapshot now;
    now.devices_by_state["ready"] = 2;
    now.devices_by_state["busy"] = 1;
    now.runs_queued = 3;
    now.runs_running = 1;
    now.prompts_waiting = 1;
    now.version = "1.2.3";
    now.uptime = std::chrono::seconds(90);
    auto text = scrape(m, now);
    for (const char* o : {"pass", "fail", "error", "timeout", "aborted", "skipped"}) {
        CHECK(has_line(text, std::string("certlab_steps_total{outcome=\"") + o + "\"} 0"));
        CHECK(has_line(text, std::string("certlab_runs_ended_total{outcome=\"") + o + "\"} 0"));
    }
    CHECK(has_line(text, "certlab_devices{state=\"ready\"} 2"));
    CHECK(has_line(text, "certlab_devices{state=\"busy\"} 1"));
    for (const char* s : {"present", "identified", "lost", "quarantined"})
        CHECK(has_line(text, std::string("certlab_devices{state=\"") + s + "\"} 0"));
    CHECK(has_line(text, "certlab_runs{status=\"queued\"} 3"));
    CHECK(has_line(text, "certlab_runs{status=\"running\"} 1"));
    CHECK(has_line(text, "certlab_prompts_waiting 1"));
    CHECK(has_line(text, "certlab_build_info{version=\"1.2.3\"} 1"));
    CHECK(has_line(text, "certlab_uptime_seconds 90"));
    CHECK(has_line(text, "certlab_soak_iterations_total 0"));
    CHECK(has_line(text, "certlab_step_duration_seconds_count 0"));
}

TEST_CASE("station metrics: steps by outcome, their latency, and runs ended") {
    station::StationMetrics m;
    m.on_step(step(1, 0, Outcome::pass, StepPhase::setup, 500));      // 0.5 ms
    m.on_step(step(1, 0, Outcome::pass, StepPhase::main, 3000));      // 3 ms
    m.on_step(step(1, 0, Outcome::timeout, StepPhase::main, 5'000'000));  // 5 s
    m.run_ended(Outcome::timeout);
    auto text = scrape(m);
    CHECK(has_line(text, "certlab_steps_total{outcome=\"pass\"} 2"));
    CHECK(has_line(text, "certlab_steps_total{outcome=\"timeout\"} 1"));
    CHECK(has_line(text, "certlab_runs_ended_total{outcome=\"timeout\"} 1"));
    CHECK(has_line(text, "certlab_step_duration_seconds_bucket{le=\"0.001\"} 1"));
    CHECK(has_line(text, "certlab_step_duration_seconds_bucket{le=\"0.005\"} 2"));
    CHECK(has_line(text, "certlab_step_duration_seconds_bucket{le=\"2.5\"} 2"));
    CHECK(has_line(text, "certlab_step_duration_seconds_bucket{le=\"5\"} 3"));
    CHECK(has_line(text, "certlab_step_duration_seconds_bucket{le=\"60\"} 3"));
    CHECK(has_line(text, "certlab_step_duration_seconds_bucket{le=\"+Inf\"} 3"));
    CHECK(has_line(text, "certlab_step_duration_seconds_count 3"));
}

TEST_CASE("station metrics: soak iterations count as the next one starts and when the soak ends") {
    station::StationMetrics m;
    auto soak_count = [&] {
        auto text = scrape(m);
        auto at = text.find("\ncertlab_soak_iterations_total ");
        REQUIRE(at != std::string::npos);
        return std::stoi(text.substr(at + 31));
    };
    m.on_step(step(7, 0, Outcome::pass, StepPhase::setup));
    m.on_step(step(7, 0));
    m.on_step(step(7, 0));
    CHECK(soak_count() == 0);
    m.on_step(step(7, 1));
    CHECK(soak_count() == 1);
    m.on_step(step(7, 2, Outcome::pass, StepPhase::power));
    m.on_step(step(7, 2));
    CHECK(soak_count() == 2);
    m.on_step(step(7, 2, Outcome::pass, StepPhase::teardown));
    m.on_scenario(scenario(7, 3, 3, true));
    CHECK(soak_count() == 3);

    // A single-iteration scenario is no soak.
    m.on_step(step(8, 0));
    m.on_scenario(scenario(8, 1, 1, false));
    CHECK(soak_count() == 3);

    // Stopped during its third iteration: that one did not complete.
    m.on_step(step(9, 0));
    m.on_step(step(9, 1));
    m.on_step(step(9, 2));
    m.on_scenario(scenario(9, 2, 100, true));
    CHECK(soak_count() == 5);

    // Resumed at iteration 40: only what this process saw run counts.
    m.on_step(step(10, 40));
    m.on_step(step(10, 41));
    m.on_scenario(scenario(10, 42, 42, true));
    CHECK(soak_count() == 7);
}
