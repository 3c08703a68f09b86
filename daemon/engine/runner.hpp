// Runs one suite on the device under test (and the devices in the suite's other
// roles): every step's result is committed to the store before the next step starts. One coroutine per run; runs on different devices
// interleave on the station's executor.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "engine/device_link.hpp"
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
    sdk::Task<record::Outcome> run_scenario(const Scenario& sc);
    sdk::Task<record::StepResult> execute(const Scenario& sc, const Step& step, int iteration,
                                          int index, std::chrono::microseconds budget);

    record::Store& store_;
    RoleLinks links_;
    const Suite& suite_;
    record::Run& run_;
    RunControl& control_;
    RunObserver observer_;
    std::int64_t seq_ = 0;
    std::map<std::string, sdk::Values, std::less<>> saved_;  ///< `save:` results of this iteration
    std::string last_reason_;  ///< reason of the step that ended the scenario
};

}  // namespace certlab::engine
