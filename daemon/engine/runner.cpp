#include "engine/runner.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "engine/check.hpp"
#include "engine/soak.hpp"
#include "record/store.hpp"
#include "sdk/error.hpp"

namespace certlab::engine {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using record::Outcome;
using Clock = std::chrono::steady_clock;

namespace {

/// The driver call as a value: `||` waits for the first *successful* branch, so the
/// call must never complete with an exception or a fast failure would wait out the timer.
struct CallResult {
    sdk::Values values;
    std::exception_ptr error;
};

sdk::Task<CallResult> guarded_invoke(sdk::Driver& driver, const sdk::ActionSpec& action,
                                     const sdk::Args& args) {
    // Results are built in plain statements: g++ 12 double-destroys temporaries
    // whose initialiser contains a co_await.
    CallResult out;
    try {
        sdk::Values values = co_await driver.invoke(action, args);
        out.values = std::move(values);
    } catch (...) {
        out.error = std::current_exception();
    }
    co_return out;
}

/// Detaches the step's transcript from the stream on every path out.
struct TranscriptTap {
    sdk::Stream& stream;
    TranscriptTap(sdk::Stream& s, sdk::Transcript& t) : stream(s) { stream.set_transcript(&t); }
    ~TranscriptTap() { stream.set_transcript(nullptr); }
};

std::string seconds_text(std::chrono::microseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g s", std::chrono::duration<double>(d).count());
    return buf;
}

/// Sleeps in short slices so a stop request ends a long wait promptly.
sdk::Task<void> sleep_for(std::chrono::microseconds d, const RunControl& control) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = Clock::now() + d;
    while (!control.stop_requested && Clock::now() < until) {
        timer.expires_at(std::min(until, Clock::now() + std::chrono::milliseconds(100)));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

/// Maps what a driver threw to an outcome. Link faults are the station's (`error`),
/// garbage from the device is the device's (`fail`).
void classify(std::exception_ptr error, record::StepResult& r, DeviceLink& device) {
    try {
        std::rethrow_exception(error);
    } catch (const sdk::TransportError& e) {
        if (e.kind() == sdk::TransportError::Kind::timeout) {
            r.outcome = Outcome::timeout;
            r.reason = std::string("no response: ") + e.what();
        } else if (e.kind() == sdk::TransportError::Kind::closed) {
            r.outcome = Outcome::error;
            r.reason = std::string("device-lost: ") + e.what();
            device.fault(e.what());
        } else {
            r.outcome = Outcome::error;
            r.reason = std::string("link fault: ") + e.what();
            device.fault(e.what());
        }
    } catch (const sdk::ProtocolError& e) {
        r.outcome = Outcome::fail;
        r.reason = std::string("malformed response: ") + e.what();
    } catch (const sdk::ConfigError& e) {
        r.outcome = Outcome::error;
        r.reason = std::string("configuration: ") + e.what();
    } catch (const std::exception& e) {
        r.outcome = Outcome::error;
        r.reason = std::string("driver error: ") + e.what();
    }
}

std::string unmet_condition(const Condition& cond, const sdk::Value* v) {
    std::string got = v ? v->to_string() : std::string("no value");
    return "condition " + cond.save + "." + cond.key + " = " + cond.expected.to_string() + " not met (" + got + ")";
}

std::string timeout_reason(const Scenario& sc, const Step& step, std::chrono::microseconds budget) {
    if (step.timeout <= budget) return "step exceeded its " + seconds_text(step.timeout) + " timeout";
    return "scenario " + sc.id + " exceeded its " + seconds_text(sc.timeout) + " timeout";
}

std::string percent_text(double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g%%", share * 100);
    return buf;
}

/// The question of a prompt step, as the step result's arguments.
sdk::Args question_args(const PromptSpec& spec, std::chrono::microseconds timeout) {
    sdk::Args args;
    args["kind"] = std::string(to_string(spec.kind));
    args["message"] = spec.message;
    if (!spec.choices.empty()) args["choices"] = spec.choices;
    if (!spec.fail_on.empty()) args["fail_on"] = spec.fail_on;
    if (spec.min) args["min"] = sdk::Value(*spec.min, spec.unit);
    if (spec.max) args["max"] = sdk::Value(*spec.max, spec.unit);
    args["timeout"] = sdk::Value(std::chrono::duration<double>(timeout).count(), "s");
    args["on_timeout"] = std::string(to_string(spec.on_timeout));
    return args;
}

std::string run_summary(const RunControl& control, int passed, std::size_t total) {
    if (control.stop_requested) return "stopped: " + control.stop_reason;
    return std::to_string(passed) + " of " + std::to_string(total) + " scenarios passed";
}

}  // namespace

Runner::Runner(record::Store& store, RoleLinks links, const Suite& suite, record::Run& run,
               RunControl& control, RunObserver observer)
    : store_(store), links_(std::move(links)), suite_(suite), run_(run), control_(control),
      observer_(std::move(observer)) {
    for (const auto& [role, caps] : suite_.roles)
        if (!links_.contains(role) || !links_.at(role))
            throw std::invalid_argument("run of suite " + suite_.id + ": no device for role " + role);
}

Runner::Runner(record::Store& store, DeviceLink& device, const Suite& suite, record::Run& run,
               RunControl& control, RunObserver observer)
    : Runner(store, RoleLinks{{"dut", &device}}, suite, run, control, std::move(observer)) {}

sdk::Task<record::StepResult> Runner::execute(const Scenario& sc, const Step& step, int iteration,
                                              int index, std::chrono::microseconds budget) {
    record::StepResult r;
    r.run_id = run_.id;
    r.iteration = iteration;
    r.index = index;
    // No ?: yielding a std::string in coroutine bodies: g++ 12 destroys such a
    // temporary twice (double free). Plain statements instead.
    r.kind = step.describe_kind();
    if (step.kind == Step::Kind::call) r.action = step.action->qualified();
    r.role = step.role;
    r.args = step.args;
    r.started_at = std::chrono::system_clock::now();
    const auto t0 = Clock::now();
    auto finish = [&] {
        r.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    };

    for (const auto& cond : step.when) {
        auto saved = saved_.find(cond.save);
        const sdk::Value* v = nullptr;
        if (saved != saved_.end())
            if (auto it = saved->second.find(cond.key); it != saved->second.end()) v = &it->second;
        if (!v || v->data != cond.expected.data) {
            r.outcome = Outcome::skipped;
            r.reason = unmet_condition(cond, v);
            finish();
            co_return r;
        }
    }

    if (step.kind == Step::Kind::wait) {
        co_await sleep_for(std::min(step.wait, budget), control_);
        finish();
        co_return r;
    }

    if (step.kind == Step::Kind::prompt) {
        co_await ask_technician(sc, step, budget, r);
        if (!step.save.empty() && r.outcome != Outcome::skipped) saved_[step.save] = r.values;
        finish();
        co_return r;
    }

    DeviceLink& device = *links_.at(step.role);  // every role is bound (constructor)
    if (auto unavailable = co_await open_device(device); !unavailable.empty()) {
        r.outcome = Outcome::error;
        r.reason = std::move(unavailable);
        finish();
        co_return r;
    }

    const auto timeout = std::min(step.timeout, budget);
    CallResult call;
    bool timed_out = false;
    {
        TranscriptTap tap(device.stream(), r.transcript);
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        auto call_op = guarded_invoke(device.driver(), *step.action, step.args);
        auto timer_op = timer.async_wait(asio::use_awaitable);
        auto either = std::move(call_op) || std::move(timer_op);
        auto first = co_await std::move(either);
        if (first.index() == 0) call = std::move(std::get<0>(first));
        else timed_out = true;
    }
    if (timed_out) {
        r.outcome = Outcome::timeout;
        r.reason = timeout_reason(sc, step, budget);
        device.stream().discard_input();
    } else if (call.error) {
        classify(call.error, r, device);
    } else {
        device.link_ok();
        r.values = std::move(call.values);
        for (const auto& check : step.checks) {
            auto c = evaluate(check, r.values);
            if (c.measurement) r.measurements.push_back(std::move(*c.measurement));
            if (!c.warning.empty()) r.warning += (r.warning.empty() ? "" : "; ") + c.warning;
            if (!c.ok && r.outcome == Outcome::pass) {
                r.outcome = Outcome::fail;
                r.reason = c.reason;
            }
        }
        // A device that says why it refused gets its words into the reason.
        if (r.outcome == Outcome::fail)
            if (auto it = r.values.find("reason"); it != r.values.end() && it->second.is_string() &&
                                                   !std::get<std::string>(it->second.data).empty())
                r.reason += " (device: " + std::get<std::string>(it->second.data) + ")";
        if (!step.save.empty()) saved_[step.save] = r.values;
    }
    finish();
    co_return r;
}

sdk::Task<void> Runner::ask_technician(const Scenario& sc, const Step& step, std::chrono::microseconds budget,
                                       record::StepResult& r) {
    const PromptSpec& spec = step.prompt;
    PromptRequest request;
    request.run_id = run_.id;
    request.scenario_id = sc.id;
    request.iteration = r.iteration;
    request.step_index = r.index;
    request.spec = spec;
    request.timeout = std::min(step.timeout, budget);
    r.action = step.describe();
    r.args = question_args(spec, request.timeout);
    if (!control_.prompter) {
        r.outcome = Outcome::error;
        r.reason = "no technician desk on this station";
        co_return;
    }
    PromptReply reply;
    try {
        PromptReply got = co_await control_.prompter->ask(request, control_);
        reply = std::move(got);
    } catch (const std::exception& e) {
        r.outcome = Outcome::error;
        r.reason = std::string("technician desk: ") + e.what();
        co_return;
    }
    r.values = answer_values(spec, reply);
    if (reply.status == PromptReply::Status::stopped) {
        r.outcome = Outcome::aborted;
        r.reason = "stopped: " + control_.stop_reason;
        co_return;
    }
    auto verdict = judge(spec, reply, request.timeout);
    r.outcome = verdict.outcome;
    r.reason = std::move(verdict.reason);
}

sdk::Task<std::string> Runner::open_device(DeviceLink& device) {
    // A device that dropped off (unplugged, rebooting, power-cycled) gets the
    // station's lost_wait to come back before its step is an error.
    const auto until = Clock::now() + control_.lost_wait;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        std::string why;
        try {
            co_await device.ensure_open();
            co_return std::string();
        } catch (const std::exception& e) {
            why = e.what();
        }
        if (control_.stop_requested || Clock::now() >= until) {
            std::string out = "device unavailable";
            if (control_.lost_wait.count() > 0) out += " for " + seconds_text(control_.lost_wait);
            co_return out + ": " + why;
        }
        timer.expires_after(std::min<Clock::duration>(std::chrono::milliseconds(250), until - Clock::now()));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

void Runner::commit(record::StepResult& r) {
    // Numbered 1, 2, ... without a gap, also when a commit fails: the highest seq is
    // the run's step count (record/store.hpp).
    r.seq = seq_ + 1;
    store_.commit_step(r);  // durable before anything else hears of it
    seq_ = r.seq;
    if (observer_.on_step) observer_.on_step(r);
}

sdk::Task<record::StepResult> Runner::run_step(const Scenario& sc, const Step& step, record::StepPhase phase,
                                               std::int64_t scenario_result_id, int iteration, int index,
                                               Clock::time_point deadline) {
    for (int attempt = 1;; ++attempt) {
        // Setup and teardown run whatever happened, and so are not cut by the
        // scenario's timeout; their steps keep their own.
        auto budget = step.timeout + step.wait;
        if (deadline != Clock::time_point::max() && phase != record::StepPhase::setup &&
            phase != record::StepPhase::teardown)
            budget = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
        auto r = co_await execute(sc, step, iteration, index, budget);
        r.scenario_result_id = scenario_result_id;
        r.phase = phase;
        r.attempt = attempt;
        const bool again = r.outcome != Outcome::pass && r.outcome != Outcome::skipped &&
                           attempt < step.retry.attempts && step.retry.retries(r.outcome) &&
                           !control_.stop_requested && Clock::now() < deadline;
        if (again) {
            r.retried = true;
            r.reason += " (retried: attempt " + std::to_string(attempt) + " of " +
                        std::to_string(step.retry.attempts) + ")";
        }
        commit(r);
        if (!again) co_return r;
        if (step.retry.delay.count() > 0) co_await sleep_for(step.retry.delay, control_);
    }
}

sdk::Task<Outcome> Runner::run_phase(const Scenario& sc, const std::vector<Step>& steps, record::StepPhase phase,
                                     std::int64_t scenario_result_id, int iteration, std::string& reason) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        // Teardown goes on after a stop: it is what leaves the bench safe.
        if (phase != record::StepPhase::teardown && control_.stop_requested) {
            reason = "stopped: " + control_.stop_reason;
            co_return Outcome::aborted;
        }
        auto r = co_await run_step(sc, steps[i], phase, scenario_result_id, iteration, static_cast<int>(i),
                                   Clock::time_point::max());
        if (r.outcome == Outcome::pass || r.outcome == Outcome::skipped) continue;
        reason = std::string(to_string(phase)) + " step " + std::to_string(i + 1) + " " + steps[i].describe() +
                 ": " + r.reason;
        co_return r.outcome;
    }
    co_return Outcome::pass;
}

sdk::Task<record::StepResult> Runner::power_cycle(const Scenario& sc, std::int64_t scenario_result_id,
                                                  int iteration) {
    const auto& pc = sc.power_cycle;
    Step step;
    step.action = pc.action;
    step.role = pc.role;
    step.args["off_time"] = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(pc.off_time).count()) + "ms";
    // The supply needs the off time plus its own answers.
    step.timeout = pc.off_time + std::chrono::seconds(10);
    auto r = co_await run_step(sc, step, record::StepPhase::power, scenario_result_id, iteration, 0,
                               Clock::time_point::max());
    if (r.outcome == Outcome::pass) co_await sleep_for(pc.settle, control_);
    co_return r;
}

sdk::Task<Outcome> Runner::run_scenario(const Scenario& sc, const record::ScenarioResult* cut) {
    record::ScenarioResult sr;
    Progress progress;
    if (cut) {
        // Cut by a restart: what its steps say is where it stands.
        sr = *cut;
        progress = replay(store_.scenario_steps(sr.id), sc.steps.size(), sc.iterations);
        if (progress.cut_iteration) {
            record::StepResult r;
            r.run_id = run_.id;
            r.scenario_result_id = sr.id;
            r.iteration = *progress.cut_iteration;
            r.index = progress.cut_index;
            r.kind = interrupted_kind;
            r.outcome = Outcome::error;
            r.reason = "certlabd stopped during this iteration; the run resumed at the next";
            r.started_at = std::chrono::system_clock::now();
            commit(r);
            progress.stats.add_step(r);
            progress.stats.end_iteration(Outcome::error);
            ++progress.iterations;
            progress.outcome = record::worst(progress.outcome, Outcome::error);
            if (progress.first_reason.empty()) progress.first_reason = bad_step_reason(r, sc.iterations);
            progress.next_iteration = r.iteration + 1;
        }
        spdlog::info("run {} {}: resuming at iteration {} of {}", run_.id, sc.id, progress.next_iteration + 1,
                     sc.iterations);
    } else {
        sr.run_id = run_.id;
        sr.scenario_id = sc.id;
        sr.title = sc.title;
        sr.iterations_planned = sc.iterations;
        sr.started_at = std::chrono::system_clock::now();
        store_.begin_scenario(sr);
    }
    auto& stats = progress.stats;
    sr.iterations = progress.iterations;
    sr.passed_iterations = progress.passed;
    Outcome outcome = progress.outcome;
    std::string first_reason = progress.first_reason;
    int failures = progress.failures;
    auto publish = [&] {
        if (sc.is_soak()) sr.stats = stats.summary();
    };

    // The scenario's clocks run from its start, across restarts.
    const auto elapsed = std::chrono::duration_cast<Clock::duration>(std::chrono::system_clock::now() - sr.started_at);
    const auto start = Clock::now() - std::max(Clock::duration::zero(), elapsed);
    const auto deadline = sc.timeout.count() > 0 ? start + sc.timeout : Clock::time_point::max();
    const auto soak_end = sc.duration.count() > 0 ? start + sc.duration : Clock::time_point::max();
    auto last_progress = Clock::now();
    std::string stop_rule;

    saved_.clear();
    std::string setup_reason;
    const Outcome setup = co_await run_phase(sc, sc.setup, record::StepPhase::setup, sr.id, progress.next_iteration,
                                             setup_reason);
    const auto after_setup = saved_;  // what setup saved, every iteration sees
    if (setup != Outcome::pass) {
        outcome = record::worst(outcome, setup);
        first_reason = setup_reason;
    }

    for (int it = progress.next_iteration; setup == Outcome::pass && it < sc.iterations; ++it) {
        if (Clock::now() >= soak_end) break;  // a soak by time ends here, by design
        saved_ = after_setup;
        Outcome it_outcome = Outcome::pass;
        std::string reason;
        const bool resumed_here = cut && it == progress.next_iteration;
        const auto& pc = sc.power_cycle;
        // Power comes back on after a restart in any case: the restart may have cut
        // a power cycle while the output was off.
        if (pc.every > 0 && !control_.stop_requested && ((it > 0 && it % pc.every == 0) || resumed_here)) {
            auto r = co_await power_cycle(sc, sr.id, it);
            stats.add_step(r);
            if (r.outcome != Outcome::pass && r.outcome != Outcome::skipped) {
                it_outcome = r.outcome;
                reason = bad_step_reason(r, sc.iterations);
            }
        }
        for (std::size_t i = 0; it_outcome == Outcome::pass && i < sc.steps.size(); ++i) {
            const auto& step = sc.steps[i];
            if (control_.stop_requested) {
                it_outcome = Outcome::aborted;
                reason = "stopped: " + control_.stop_reason;
                break;
            }
            if (Clock::now() >= deadline) {
                it_outcome = Outcome::timeout;
                reason = "scenario exceeded its " + seconds_text(sc.timeout) + " timeout";
                break;
            }
            auto r = co_await run_step(sc, step, record::StepPhase::main, sr.id, it, static_cast<int>(i), deadline);
            stats.add_step(r);
            if (r.outcome == Outcome::pass || r.outcome == Outcome::skipped) continue;
            it_outcome = r.outcome;
            reason = bad_step_reason(r, sc.iterations);
        }
        // A stop before the iteration's first step leaves no trace in the record:
        // the iteration did not happen.
        if (it_outcome == Outcome::aborted) {
            outcome = record::worst(outcome, Outcome::aborted);
            if (first_reason.empty()) first_reason = reason;
            break;
        }
        stats.end_iteration(it_outcome);
        ++sr.iterations;
        if (it_outcome == Outcome::pass) {
            ++sr.passed_iterations;
        } else {
            outcome = record::worst(outcome, it_outcome);
            if (first_reason.empty()) first_reason = reason;
            ++failures;
            if (failures >= sc.max_failures) {
                if (sc.max_failures > 1)
                    stop_rule = "stopped: " + std::to_string(failures) + " iterations did not pass (max_failures)";
                break;
            }
            if (sc.max_failure_rate && sr.iterations >= sc.failure_rate_after &&
                static_cast<double>(failures) / sr.iterations > *sc.max_failure_rate) {
                stop_rule = "stopped: " + std::to_string(failures) + " of " + std::to_string(sr.iterations) +
                            " iterations did not pass, above the " + percent_text(*sc.max_failure_rate) +
                            " limit";
                break;
            }
        }
        if (Clock::now() - last_progress > std::chrono::seconds(1)) {
            publish();
            store_.update_scenario_progress(sr);
            last_progress = Clock::now();
        }
        if (sc.interval.count() > 0 && it + 1 < sc.iterations && !control_.stop_requested)
            co_await sleep_for(std::min<std::chrono::microseconds>(
                                   sc.interval, std::chrono::duration_cast<std::chrono::microseconds>(
                                                    std::max(Clock::duration::zero(), soak_end - Clock::now()))),
                               control_);
    }

    std::string teardown_reason;
    const Outcome teardown = co_await run_phase(sc, sc.teardown, record::StepPhase::teardown, sr.id,
                                                std::max(0, sr.iterations - 1), teardown_reason);

    sr.reason = first_reason;
    if (sc.iterations > 1 && sr.passed_iterations < sr.iterations && outcome != Outcome::aborted)
        sr.reason = std::to_string(sr.iterations - sr.passed_iterations) + " of " + std::to_string(sr.iterations) +
                    " iterations did not pass; first: " + first_reason;
    if (!stop_rule.empty()) sr.reason = stop_rule + "; " + sr.reason;
    if (teardown != Outcome::pass) {
        outcome = record::worst(outcome, teardown);
        sr.reason += (sr.reason.empty() ? "" : "; ") + teardown_reason;
    }
    if (sc.duration.count() > 0) sr.iterations_planned = std::max(sr.iterations, 1);
    sr.outcome = outcome;
    sr.ended_at = std::chrono::system_clock::now();
    publish();
    store_.end_scenario(sr);
    if (observer_.on_scenario) observer_.on_scenario(sr);
    co_return outcome;
}

sdk::Task<Outcome> Runner::run() {
    // A run cut by a restart goes on after its last committed step: scenarios that
    // ended keep their results, the one under way resumes (run_scenario).
    std::map<std::string, record::ScenarioResult, std::less<>> before;
    if (run_.resumed > 0) {
        seq_ = store_.last_seq(run_.id);
        if (auto detail = store_.get_run_detail(run_.id, 0))
            for (auto& s : detail->scenarios) before[s.scenario_id] = std::move(s);
    }
    run_.status = record::RunStatus::running;
    store_.update_run_status(run_.id, run_.status);
    Outcome total = Outcome::pass;
    int passed = 0;
    for (const auto& sc : suite_.scenarios) {
        const auto found = before.find(sc.id);
        if (found != before.end() && found->second.outcome) {
            total = record::worst(total, *found->second.outcome);
            if (*found->second.outcome == Outcome::pass) ++passed;
            continue;
        }
        if (control_.stop_requested) {
            total = record::worst(total, Outcome::aborted);
            break;
        }
        const record::ScenarioResult* cut = found == before.end() ? nullptr : &found->second;
        auto o = co_await run_scenario(sc, cut);
        total = record::worst(total, o);
        if (o == Outcome::pass) ++passed;
    }
    run_.status = control_.stop_requested ? record::RunStatus::aborted : record::RunStatus::completed;
    run_.outcome = total;
    run_.reason = run_summary(control_, passed, suite_.scenarios.size());
    run_.ended_at = std::chrono::system_clock::now();
    store_.end_run(run_.id, run_.status, total, run_.reason);
    co_return total;
}

}  // namespace certlab::engine
