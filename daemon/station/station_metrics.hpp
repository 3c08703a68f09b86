// What the station counts for `GET /metrics`: counters fed by the runs (steps,
// step latency, soak iterations, runs ended), and the gauges of a scrape, computed
// then from the station's state. Prometheus formatting is api/metrics' business.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "api/metrics.hpp"
#include "record/model.hpp"

namespace certlab::station {

/// The station's state at a scrape.
struct MetricsSnapshot {
    std::map<std::string, int> devices_by_state;  ///< state name -> devices; missing states are 0
    int runs_queued = 0;
    int runs_running = 0;
    int prompts_waiting = 0;
    std::string version;
    std::chrono::steady_clock::duration uptime{};
};

class StationMetrics {
public:
    StationMetrics();

    /// A committed step (RunObserver::on_step of every run).
    void on_step(const record::StepResult& step);
    /// A finished scenario (RunObserver::on_scenario of every run).
    void on_scenario(const record::ScenarioResult& scenario);
    /// A run that ended, whether it ran or was refused its turn.
    void run_ended(record::Outcome outcome);

    /// The counters, then the gauges of `now`, into `out`.
    void collect(api::metrics::Registry& out, const MetricsSnapshot& now) const;

    /// Step latency bucket bounds [s]: 1 ms to 60 s.
    static const std::vector<double>& latency_bounds();

private:
    /// A soak scenario in progress: the iterations this process saw it run.
    struct SoakTrack {
        std::optional<int> first;  ///< first iteration with a main or power step here
        int last = 0;              ///< iteration of the latest such step
        int counted = 0;           ///< iterations already added to the counter
    };

    api::metrics::Registry counters_;
    std::map<record::Outcome, api::metrics::Counter*> steps_;
    std::map<record::Outcome, api::metrics::Counter*> runs_ended_;
    api::metrics::Histogram* latency_ = nullptr;
    api::metrics::Counter* soak_iterations_ = nullptr;
    std::map<std::int64_t, SoakTrack> soaks_;  ///< by scenario result id
};

}  // namespace certlab::station
