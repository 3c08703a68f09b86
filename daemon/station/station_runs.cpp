// Station: taking runs — queues per device, waiting for devices, executing, resuming
// runs a crash cut, aborting. The rest of the station is in station.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "station/events.hpp"
#include "station/station.hpp"
#include "station/station_tasks.hpp"

namespace certlab::station {

void Station::take_back_unfinished_runs() {
    const std::string cut = "certlabd stopped while the run was in progress";
    if (!cfg_.resume_interrupted) {
        if (int n = store_->mark_interrupted(cut); n > 0)
            spdlog::warn("marked {} run(s) interrupted by the previous shutdown or crash", n);
        return;
    }
    for (auto& run : store_->unfinished_runs()) {
        // Resume only what would run the same: the same suite text, the same devices.
        std::string why;
        const auto* suite = find_suite(run.suite_id);
        std::map<std::string, Device*> bound;
        auto bind = [&](const std::string& role, const std::string& id) {
            auto it = devices_.find(id);
            if (it == devices_.end()) why = "device '" + id + "' (role " + role + ") is not declared any more";
            else bound[role] = it->second.get();
        };
        if (!suite) why = "suite '" + run.suite_id + "' is not loaded any more";
        else if (suite->hash != run.suite_hash) why = "suite '" + run.suite_id + "' changed since the run started";
        bind("dut", run.device_id);
        for (const auto& [role, b] : run.roles) bind(role, b.device_id);
        if (suite && why.empty())
            for (const auto& [role, caps] : suite->roles)
                if (!bound.contains(role)) why = "role " + role + " has no device";
        if (!why.empty()) {
            store_->interrupt_run(run.id, cut + "; not resumed: " + why);
            spdlog::warn("run {} interrupted by the previous shutdown or crash, not resumed: {}", run.id, why);
            continue;
        }
        if (!store_->resume_run(run.id)) continue;
        ++run.resumed;
        spdlog::warn("run {} (suite {} on {}) was cut by the previous shutdown or crash; resuming it", run.id,
                     run.suite_id, run.device_id);
        auto active = std::make_unique<ActiveRun>();
        active->run = std::move(run);
        active->suite = suite;
        active->devices = std::move(bound);
        resuming_.push_back(std::move(active));
    }
}

std::optional<api::StartRunResult> Station::refuse_role(const Device& dev, const std::string& role,
                                                        const engine::Suite& suite) const {
    std::string who = "device '" + dev.device_id() + "'";
    if (role != "dut") who += " (role " + role + ")";
    for (const auto& cap : suite.roles.at(role))
        if (!dev.has_capability(cap))
            return api::StartRunResult{std::nullopt, 422,
                                       who + " lacks capability '" + cap + "' required by suite '" + suite.id + "'"};
    // A busy device queues the run; a lost one gets lost_wait to come back (wait_turn).
    // Only a quarantined device needs a technician first.
    if (dev.state() == DeviceState::quarantined) {
        const auto reason = dev.info().state_reason;
        std::string message = who + " is quarantined";
        if (!reason.empty()) message += ": " + reason;
        return api::StartRunResult{std::nullopt, 409, message + "; release it first"};
    }
    return std::nullopt;
}

api::StartRunResult Station::start_run(const std::string& device_id, const std::string& suite_id,
                                       std::optional<std::int64_t> certification_id) {
    if (stopping_) return {std::nullopt, 503, "station is shutting down"};
    auto it = devices_.find(device_id);
    if (it == devices_.end()) return {std::nullopt, 404, "no device '" + device_id + "'"};
    const auto* suite = find_suite(suite_id);
    if (!suite) return {std::nullopt, 404, "no suite '" + suite_id + "'"};
    auto& dev = *it->second;

    // Bind every role of the suite to a device: the dut, and the others through the
    // station's wiring of the dut. All must be ready; all turn busy together.
    std::map<std::string, Device*> bound{{"dut", &dev}};
    const auto* wiring = config::find_wiring(cfg_, device_id);
    for (const auto& [role, caps] : suite->roles) {
        if (role == "dut") continue;
        if (!wiring || !wiring->roles.contains(role))
            return {std::nullopt, 422, "suite '" + suite_id + "' needs a device in role " + role +
                                           "; station.yaml has no wiring of '" + device_id + "' for it"};
        const auto& target = wiring->roles.at(role);
        auto found = devices_.find(target);
        if (found == devices_.end()) return {std::nullopt, 422, "role " + role + ": no device '" + target + "'"};
        if (found->second.get() == &dev)
            return {std::nullopt, 422, "role " + role + ": '" + device_id + "' is the device under test"};
        bound[role] = found->second.get();
    }
    for (const auto& [role, d] : bound)
        if (auto refused = refuse_role(*d, role, *suite)) return *refused;
    auto firmware_of = [](const Device& d) {
        const auto identity = d.info().identity;
        const auto fw = identity.find("firmware");
        return fw == identity.end() ? std::string() : fw->second;
    };
    const std::string firmware = firmware_of(dev);
    if (certification_id) {
        try {
            desk_->check_run(*certification_id, device_id, suite_id, firmware);
        } catch (const certify::Refusal& e) {
            using K = certify::Refusal::Kind;
            return {std::nullopt, e.kind() == K::not_found ? 404 : e.kind() == K::invalid ? 422 : 409, e.what()};
        }
    }

    auto active = std::make_unique<ActiveRun>();
    auto& run = active->run;
    run.device_id = device_id;
    run.suite_id = suite->id;
    run.suite_title = suite->title;
    run.suite_hash = suite->hash;
    run.driver = dev.driver_name();
    run.station_id = cfg_.station_id;
    run.certlab_version = CERTLAB_VERSION;
    run.status = record::RunStatus::queued;
    run.started_at = std::chrono::system_clock::now();
    run.scenarios_total = static_cast<int>(suite->scenarios.size());
    run.firmware = firmware;
    run.certification_id = certification_id;
    for (const auto& [role, d] : bound)
        if (role != "dut") run.roles[role] = record::RoleBinding{d->device_id(), d->driver_name(), firmware_of(*d)};
    store_->begin_run(run);
    const auto id = run.id;
    if (certification_id) {
        try {
            desk_->run_started(*certification_id, id);
        } catch (const std::exception& e) {
            spdlog::error("run {}: certification {} not moved to lab: {}", id, *certification_id, e.what());
        }
    }
    active->suite = suite;
    active->devices = std::move(bound);
    enqueue(std::move(active));
    spdlog::info("run {} queued: suite {} on device {}", id, suite_id, device_id);
    return {id, 202, {}};
}

void Station::enqueue(std::unique_ptr<ActiveRun> active) {
    const auto id = active->run.id;
    // Runs join every queue they need in the order they were made, so the oldest
    // waiting run is at the head of all of its queues: no two runs wait on each other.
    for (const auto& [role, d] : active->devices) queues_[d->device_id()].push_back(id);
    active->control.prompter = prompts_.get();
    active->control.lost_wait = cfg_.lost_wait;
    const auto* suite = active->suite;
    events_->run_queued(active->run);
    active_.emplace(id, std::move(active));
    spawn(io_, execute(id, *suite), "run " + std::to_string(id));
}

Station::Blocked Station::blocked(const ActiveRun& active) const {
    for (const auto& [role, d] : active.devices) {
        const auto& id = d->device_id();
        const auto& q = queues_.at(id);
        if (q.front() != active.run.id)
            return {"waiting for run " + std::to_string(q.front()) + " on device '" + id + "'", false};
        if (d->current_run) return {"device '" + id + "' is busy with run " + std::to_string(*d->current_run), false};
        // Identification has the link until it is done.
        // A device that keeps failing to come up is caught mid-attempt as often as not:
        // say why the last attempt failed, or a run that gives up does not tell why.
        if (d->bringing_up()) {
            std::string why = "device '" + id + "' is being brought up";
            if (const auto reason = d->info().state_reason; !reason.empty()) why += " (last: " + reason + ")";
            return {why, active.run.resumed == 0};
        }
        // A resumed run goes on with the devices it had, up or not: a restart may
        // have cut a power cycle with the dut's power off, and the run's own setup
        // and power cycle are what bring it back (its steps wait lost_wait for it).
        if (active.run.resumed > 0 && d->state() != DeviceState::quarantined) continue;
        if (d->state() != DeviceState::ready) {
            std::string why = "device '" + id + "' is " + std::string(to_string(d->state()));
            if (const auto reason = d->info().state_reason; !reason.empty()) why += ": " + reason;
            return {why, true};
        }
    }
    return {};
}

sdk::Task<bool> Station::wait_turn(ActiveRun& active) {
    // Polled: a run waits on queues and device states that change in many places,
    // and 50 ms is nothing next to a run. A device that is there but not ready
    // (lost, coming up) has lost_wait from when the run could otherwise go.
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> not_ready_since;
    std::string last;
    for (;;) {
        if (active.control.stop_requested) {
            active.run.reason = "stopped before it started: " + active.control.stop_reason;
            co_return false;
        }
        const auto [why, away] = blocked(active);
        if (why.empty()) co_return true;
        if (why != last) spdlog::info("run {}: {}", active.run.id, why);
        last = why;
        if (!away) {
            not_ready_since.reset();
        } else {
            if (!not_ready_since) not_ready_since = Clock::now();
            if (Clock::now() - *not_ready_since >= cfg_.lost_wait) {
                active.run.reason = why + " (waited " + std::to_string(cfg_.lost_wait.count()) + " ms)";
                co_return false;
            }
        }
        co_await sleep_for(std::chrono::milliseconds(50));
    }
}

void Station::leave_queues(const ActiveRun& active) {
    for (const auto& [role, d] : active.devices) {
        auto& q = queues_[d->device_id()];
        q.erase(std::remove(q.begin(), q.end(), active.run.id), q.end());
        if (q.empty()) queues_.erase(d->device_id());
    }
}

sdk::Task<void> Station::execute(std::int64_t run_id, const engine::Suite& suite) {
    auto& active = *active_.at(run_id);
    if (!co_await wait_turn(active)) {
        // Never started: nothing ran, so nothing is left to stop.
        const bool stopped = active.control.stop_requested;
        spdlog::warn("run {} not started: {}", run_id, active.run.reason);
        try {
            store_->end_run(run_id, stopped ? record::RunStatus::aborted : record::RunStatus::completed,
                            stopped ? record::Outcome::aborted : record::Outcome::error, active.run.reason);
        } catch (const std::exception& e) {
            spdlog::error("run {} could not be closed in the store: {}", run_id, e.what());
        }
        metrics_.run_ended(stopped ? record::Outcome::aborted : record::Outcome::error);
        publish_run_ended(run_id);
        leave_queues(active);
        active_.erase(run_id);
        co_return;
    }
    for (const auto& [role, d] : active.devices) {
        d->current_run = run_id;
        d->set_state(DeviceState::busy);
    }
    publish_devices();  // current_run, also where the state did not change
    events_->run_started(active.run);
    engine::RoleLinks links;
    for (const auto& [role, d] : active.devices) links[role] = d;
    engine::RunObserver observer;
    // Scenario result id -> scenario id and planned iterations, for the step events.
    std::map<std::int64_t, std::pair<std::string, int>> scenario_of;
    observer.on_step = [this, &scenario_of, &active](const record::StepResult& s) {
        metrics_.on_step(s);
        if (!scenario_of.contains(s.scenario_result_id))
            if (auto detail = store_->get_run_detail(s.run_id, 0))
                for (const auto& sc : detail->scenarios) scenario_of[sc.id] = {sc.scenario_id, sc.iterations_planned};
        std::pair<std::string, int> sc{"", 1};
        if (auto it = scenario_of.find(s.scenario_result_id); it != scenario_of.end()) sc = it->second;
        events_->step(s, sc.first, sc.second, active.run.device_id);
    };
    observer.on_scenario = [&](const record::ScenarioResult& s) {
        metrics_.on_scenario(s);
        events_->scenario_ended(s, active.run.device_id);
        spdlog::info("run {} {} {}: {}{}{}", run_id, s.scenario_id, s.title,
                     record::to_string(*s.outcome), s.reason.empty() ? "" : " - ", s.reason);
    };
    active.runner = std::make_unique<engine::Runner>(*store_, std::move(links), suite, active.run,
                                                     active.control, std::move(observer));
    try {
        auto outcome = co_await active.runner->run();
        spdlog::info("run {} {}: {} ({})", run_id, record::to_string(active.run.status),
                     record::to_string(outcome), active.run.reason);
        metrics_.run_ended(outcome);
    } catch (const std::exception& e) {
        // The store failed: the run cannot be recorded further. Say so loudly.
        spdlog::error("run {} stopped: {}", run_id, e.what());
        metrics_.run_ended(record::Outcome::error);
        try {
            store_->end_run(run_id, record::RunStatus::aborted, record::Outcome::error, e.what());
        } catch (const std::exception& e2) {
            spdlog::error("run {} could not be closed in the store: {}", run_id, e2.what());
        }
    }
    publish_run_ended(run_id);
    if (active.run.certification_id) {
        // Every failed required scenario becomes an outstanding issue (once per run).
        try {
            for (const auto& issue : desk_->sync_issues(*active.run.certification_id))
                spdlog::info("run {}: issue {} raised: {}", run_id, issue.id, issue.title);
        } catch (const std::exception& e) {
            spdlog::error("run {}: its failures are not issues yet (retried at the next start): {}", run_id, e.what());
        }
    }
    for (const auto& [role, d] : active.devices) {
        d->current_run.reset();
        // One a resumed run took before this process identified it is brought up now.
        if (d->state() == DeviceState::busy) d->set_state(d->identified() ? DeviceState::ready : DeviceState::present);
    }
    publish_devices();
    leave_queues(active);
    active_.erase(run_id);
}

void Station::publish_run_ended(std::int64_t run_id) {
    try {
        if (auto run = store_->get_run(run_id)) events_->run_ended(*run);
    } catch (const std::exception& e) {
        spdlog::error("run {}: no run.ended event: {}", run_id, e.what());
    }
}

api::ActionResult Station::abort_run(std::int64_t run_id, const std::string& by, const std::string& reason) {
    // A run this station holds stops at its next step boundary: the runner finishes
    // and commits the step in flight, ends the run `aborted`, and execute() frees its
    // devices. A second request changes nothing (RunControl keeps the first reason).
    if (auto it = active_.find(run_id); it != active_.end()) {
        std::string why = "aborted by " + by;
        if (!reason.empty()) why += ": " + reason;
        spdlog::info("run {}: {}; stopping at the next step boundary", run_id, why);
        it->second->control.request_stop(std::move(why));
        return {202, {}};
    }
    // Not held here: the record says whether it ever existed and how it ended.
    const auto run = store_->get_run(run_id);
    const auto id = "run " + std::to_string(run_id);
    if (!run) return {404, "no " + id};
    const auto status = std::string(record::to_string(run->status));
    if (run->status == record::RunStatus::queued || run->status == record::RunStatus::running)
        return {409, id + " is " + status + " in the record but not in progress on this station"};
    std::string how = id + " has already ended: " + status;
    if (run->outcome) how += ", outcome " + std::string(record::to_string(*run->outcome));
    if (!run->reason.empty()) how += " (" + run->reason + ")";
    return {409, how};
}

}  // namespace certlab::station
