// Runs one suite on the device under test (and the devices in the suite's other
// roles): every step's result is committed to the store before the next step starts. One coroutine per run; runs on different devices
// interleave on the station's executor.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "engine/device_link.hpp"
#include "engine/prompt.hpp"
#include "engine/suite.hpp"
#include "record/model.hpp"
#include "sdk/task.hpp"

namespace certlab::record {
class Store;
}

namespace certlab::engine {

/// Shared between a run and whoever may stop it (API abort, daemon shutdown).
struct RunControl {
    bool stop_requested = false;
    std::string stop_reason;
    /// Where prompt steps put their questions (the station's desk); null: this
    /// station has none, and a prompt step ends as `error`.
    Prompter* prompter = nullptr;
    /// How long a step waits for its device to come back when it cannot be opened.
    std::chrono::microseconds lost_wait{};
    void request_stop(std::string reason) {
        if (!stop_requested) stop_reason = std::move(reason);
        stop_requested = true;
    }
};

/// Called after each committed step and each finished scenario (events, logs).
struct RunObserver {
    std::function<void(const record::StepResult&)> on_step;
    std::function<void(const record::ScenarioResult&)> on_scenario;
};

/// The devices of one run by role; "dut" is always there.
using RoleLinks = std::map<std::string, DeviceLink*, std::less<>>;

class Runner {
public:
    /// `run` must already be in the store (Store::begin_run) with status queued.
    /// `links` holds a device for every role of the suite.
    Runner(record::Store& store, RoleLinks links, const Suite& suite, record::Run& run,
           RunControl& control, RunObserver observer = {});
    /// A suite on the device under test alone.
    Runner(record::Store& store, DeviceLink& device, const Suite& suite, record::Run& run,
           RunControl& control, RunObserver observer = {});

    /// Runs every scenario and ends the run in the store; returns its outcome.
    /// Never throws for device or link faults; a store failure propagates.
    sdk::Task<record::Outcome> run();

private:
    using Clock = std::chrono::steady_clock;
    /// A scenario from its start, or (`cut`) its result left open by a restart.
    sdk::Task<record::Outcome> run_scenario(const Scenario& sc, const record::ScenarioResult* cut);
    /// Setup or teardown: each step in turn until one does not pass; its reason into `reason`.
    sdk::Task<record::Outcome> run_phase(const Scenario& sc, const std::vector<Step>& steps, record::StepPhase phase,
                                         std::int64_t scenario_result_id, int iteration, std::string& reason);
    /// One step with its retries, every attempt committed; returns the last attempt.
    sdk::Task<record::StepResult> run_step(const Scenario& sc, const Step& step, record::StepPhase phase,
                                           std::int64_t scenario_result_id, int iteration, int index,
                                           Clock::time_point deadline);
    /// A soak's power cycle of the dut through its supply, and the settle time after.
    sdk::Task<record::StepResult> power_cycle(const Scenario& sc, std::int64_t scenario_result_id, int iteration);
    /// Opens the device, waiting up to RunControl::lost_wait for it; "" when open,
    /// else why not.
    sdk::Task<std::string> open_device(DeviceLink& device);
    /// Numbers the step, commits it, tells the observer.
    void commit(record::StepResult& r);
    sdk::Task<record::StepResult> execute(const Scenario& sc, const Step& step, int iteration,
                                          int index, std::chrono::microseconds budget);
    /// A prompt step's question and answer, into `r` (prompt.hpp says what becomes what).
    sdk::Task<void> ask_technician(const Scenario& sc, const Step& step, std::chrono::microseconds budget,
                                   record::StepResult& r);

    record::Store& store_;
    RoleLinks links_;
    const Suite& suite_;
    record::Run& run_;
    RunControl& control_;
    RunObserver observer_;
    std::int64_t seq_ = 0;
    std::map<std::string, sdk::Values, std::less<>> saved_;  ///< `save:` results of this iteration
};

}  // namespace certlab::engine
