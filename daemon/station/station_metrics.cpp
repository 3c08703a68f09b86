#include "station/station_metrics.hpp"

#include <algorithm>
#include <array>

#include "station/device.hpp"

namespace certlab::station {

namespace {

using record::Outcome;

constexpr std::array all_outcomes{Outcome::pass,    Outcome::fail,    Outcome::error,
                                  Outcome::timeout, Outcome::aborted, Outcome::skipped};
constexpr std::array all_states{DeviceState::present, DeviceState::identified, DeviceState::ready,
                                DeviceState::busy,    DeviceState::lost,       DeviceState::quarantined};

api::metrics::Labels outcome_label(Outcome o) { return {{"outcome", std::string(record::to_string(o))}}; }

}  // namespace

const std::vector<double>& StationMetrics::latency_bounds() {
    // Driver calls answer in milliseconds; waits, prompts and power cycles take seconds.
    static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10,   30, 60};
    return bounds;
}

StationMetrics::StationMetrics() {
    // Every outcome listed from the start, zeros included, so rates work from the first scrape.
    for (auto o : all_outcomes)
        runs_ended_[o] = &counters_.counter("certlab_runs_ended_total",
                                            "Runs that ended since certlabd started, by outcome.", outcome_label(o));
    for (auto o : all_outcomes)
        steps_[o] = &counters_.counter("certlab_steps_total",
                                       "Steps committed since certlabd started (each retry attempt counts), by outcome.",
                                       outcome_label(o));
    latency_ = &counters_.histogram("certlab_step_duration_seconds",
                                    "Duration of committed steps, every outcome (a timeout's is its timer).",
                                    latency_bounds());
    soak_iterations_ = &counters_.counter(
        "certlab_soak_iterations_total",
        "Soak iterations completed since certlabd started, counted as the next one starts or the soak ends.");
}

void StationMetrics::on_step(const record::StepResult& step) {
    steps_.at(step.outcome)->inc();
    latency_->observe(static_cast<double>(step.duration_us) / 1e6);
    if (step.phase != record::StepPhase::main && step.phase != record::StepPhase::power) return;
    // A step of a later iteration means the earlier ones are done; only a soak has more than one.
    auto& t = soaks_[step.scenario_result_id];
    if (!t.first) {
        t.first = step.iteration;
        t.last = step.iteration;
    } else if (step.iteration > t.last) {
        const int done = step.iteration - t.last;
        soak_iterations_->inc(done);
        t.counted += done;
        t.last = step.iteration;
    }
}

void StationMetrics::on_scenario(const record::ScenarioResult& scenario) {
    auto it = soaks_.find(scenario.id);
    if (it == soaks_.end()) return;
    const bool soak = scenario.stats.has_value() || scenario.iterations_planned > 1;
    if (soak && it->second.first) {
        // `iterations` counts the completed ones (a resumed run's earlier ones too),
        // so the last iteration counts here unless a stop cut it short.
        const int done_here = scenario.iterations - *it->second.first;
        soak_iterations_->inc(std::max(0, done_here - it->second.counted));
    }
    soaks_.erase(it);
}

void StationMetrics::run_ended(Outcome outcome) { runs_ended_.at(outcome)->inc(); }

void StationMetrics::collect(api::metrics::Registry& out, const MetricsSnapshot& now) const {
    out = counters_;
    out.gauge("certlab_build_info", "certlabd build; the value is always 1.", {{"version", now.version}}).set(1);
    out.gauge("certlab_uptime_seconds", "Seconds since certlabd started.")
        .set(std::chrono::duration<double>(now.uptime).count());
    for (auto s : all_states) {
        const std::string name(to_string(s));
        auto found = now.devices_by_state.find(name);
        out.gauge("certlab_devices", "Devices by state, every state listed.", {{"state", name}})
            .set(found == now.devices_by_state.end() ? 0 : found->second);
    }
    const char* runs_help = "Runs held by the station now: queued (waiting for their devices) or running.";
    out.gauge("certlab_runs", runs_help, {{"status", "queued"}}).set(now.runs_queued);
    out.gauge("certlab_runs", runs_help, {{"status", "running"}}).set(now.runs_running);
    out.gauge("certlab_prompts_waiting", "Technician prompts open and waiting for an answer.").set(now.prompts_waiting);
}

}  // namespace certlab::station
