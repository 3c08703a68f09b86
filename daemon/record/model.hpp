// The certification record's local model: runs, scenario results, step results,
// measurements. Plain data; the store persists it, the engine produces it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/transcript.hpp"
#include "sdk/value.hpp"

namespace certlab::record {

using TimePoint = std::chrono::system_clock::time_point;

/// How a step, scenario or run ended. `fail` is the device's fault; `error` and
/// `timeout` are the station's or the link's and never count against the device.
enum class Outcome { pass, fail, error, timeout, aborted, skipped };

enum class RunStatus { queued, running, completed, aborted, interrupted };

[[nodiscard]] std::string_view to_string(Outcome o);
[[nodiscard]] std::string_view to_string(RunStatus s);
[[nodiscard]] std::optional<Outcome> parse_outcome(std::string_view s);
[[nodiscard]] std::optional<RunStatus> parse_run_status(std::string_view s);

/// Which outcome dominates when several are combined: error > timeout > fail >
/// aborted > pass > skipped.
[[nodiscard]] Outcome worst(Outcome a, Outcome b);

/// ISO 8601 UTC with milliseconds: 2026-11-29T03:45:41.123Z
[[nodiscard]] std::string format_time(TimePoint t);
[[nodiscard]] std::optional<TimePoint> parse_time(std::string_view s);

/// The device that filled one of a run's roles.
struct RoleBinding {
    std::string device_id;
    std::string driver;  ///< name and version
    std::string firmware;  ///< what the device reported when the run started (provenance)
    bool operator==(const RoleBinding&) const = default;
};

struct Run {
    std::int64_t id = 0;
    std::string device_id;
    std::string suite_id;
    std::string suite_title;
    std::string suite_hash;       ///< sha256 of the suite file as loaded
    std::string driver;           ///< driver name and version, e.g. "escpos 1.0"
    std::string station_id;
    std::string certlab_version;
    RunStatus status = RunStatus::queued;
    std::optional<Outcome> outcome;  ///< set once the run ends
    std::string reason;
    TimePoint started_at{};
    std::optional<TimePoint> ended_at;
    int scenarios_total = 0;      ///< scenarios the suite has
    /// Devices in the suite's other roles: role -> {device id, driver}; empty when
    /// the run uses the device under test only.
    std::map<std::string, RoleBinding> roles;
    std::string firmware;         ///< the device's firmware when the run started (provenance)
    std::optional<std::int64_t> certification_id;  ///< the certification the run is evidence for
    int resumed = 0;              ///< times the run was resumed after certlabd restarted
};

/// Call latency of one action over a soak, from the steps that got an answer (pass
/// or fail; a timeout's duration is its timer, not the device). Nearest-rank
/// quantiles, in milliseconds.
struct LatencyStats {
    std::string action;
    std::int64_t count = 0;
    double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
    bool operator==(const LatencyStats&) const = default;
};

/// How one measured value moved over a soak.
struct DriftStats {
    std::string name;
    std::string unit;
    std::int64_t count = 0;
    double first = 0, last = 0, min = 0, max = 0, mean = 0;
    /// Least-squares slope against the iteration number, per 1000 iterations.
    double slope_per_1k = 0;
    bool operator==(const DriftStats&) const = default;
};

/// Running statistics of a soak scenario, recomputable from its step results.
struct SoakStats {
    std::int64_t iterations = 0;  ///< iterations ended (the same as ScenarioResult::iterations)
    std::int64_t passed = 0;
    std::int64_t failed = 0;      ///< outcome fail: the device's
    std::int64_t errors = 0;      ///< error: the station's or the link's
    std::int64_t timeouts = 0;
    std::int64_t power_cycles = 0;
    std::int64_t marginal = 0;    ///< steps that passed with a marginal value
    double pass_rate = 0;         ///< passed / iterations (0 when none)
    std::vector<LatencyStats> latency;  ///< by action name
    std::vector<DriftStats> drift;      ///< by measurement name
    bool operator==(const SoakStats&) const = default;
};

struct ScenarioResult {
    std::int64_t id = 0;
    std::int64_t run_id = 0;
    std::string scenario_id;      ///< e.g. PRN-003
    std::string title;
    std::optional<Outcome> outcome;  ///< empty while running
    std::string reason;
    int iterations = 0;           ///< iterations completed
    int iterations_planned = 1;
    int passed_iterations = 0;
    TimePoint started_at{};
    std::optional<TimePoint> ended_at;
    std::optional<SoakStats> stats;  ///< soaks only
};

struct Measurement {
    std::string name;
    double value = 0;
    std::string unit;
    std::optional<double> low;    ///< lower limit, in `unit`
    std::optional<double> high;   ///< upper limit, in `unit`
    bool within = true;
    bool marginal = false;        ///< within the limits, but in the suite's marginal band
};

/// Which part of a scenario a step belongs to.
enum class StepPhase { setup, main, teardown, power };
[[nodiscard]] std::string_view to_string(StepPhase p);
[[nodiscard]] std::optional<StepPhase> parse_step_phase(std::string_view s);

struct StepResult {
    std::int64_t id = 0;
    std::int64_t run_id = 0;
    std::int64_t scenario_result_id = 0;
    std::int64_t seq = 0;         ///< order within the run, from 1
    int iteration = 0;            ///< 0-based iteration of the scenario
    int index = 0;                ///< 0-based step index within the scenario
    std::string kind;             ///< call, wait, ...
    std::string action;           ///< capability.action for calls
    std::string role = "dut";     ///< the run's device it ran on (see Run::roles)
    sdk::Args args;
    sdk::Values values;
    Outcome outcome = Outcome::pass;
    std::string reason;
    TimePoint started_at{};
    std::int64_t duration_us = 0; ///< [us]
    StepPhase phase = StepPhase::main;    ///< `index` counts within the phase; power = a soak's power cycle
    int attempt = 1;              ///< 1-based try of a step with `retry:`
    bool retried = false;         ///< this attempt's outcome made the engine try again
    std::string warning;          ///< passed, but marginal (empty: no warning)
    sdk::Transcript transcript;
    std::vector<Measurement> measurements;
};

/// A run with everything under it, as the API and CLI show it.
struct RunDetail {
    Run run;
    std::vector<ScenarioResult> scenarios;
    std::vector<StepResult> steps;  ///< may be limited; see step_count
    std::int64_t step_count = 0;
};

}  // namespace certlab::record
