#include "engine/runner.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "engine/check.hpp"
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

std::string iteration_reason(const Scenario& sc, int it, const std::string& reason) {
    if (sc.iterations <= 1) return reason;
    return "iteration " + std::to_string(it + 1) + ", " + reason;
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

    DeviceLink& device = *links_.at(step.role);  // every role is bound (constructor)
    try {
        co_await device.ensure_open();
    } catch (const std::exception& e) {
        r.outcome = Outcome::error;
        r.reason = std::string("device unavailable: ") + e.what();
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

sdk::Task<Outcome> Runner::run_scenario(const Scenario& sc) {
    record::ScenarioResult sr;
    sr.run_id = run_.id;
    sr.scenario_id = sc.id;
    sr.title = sc.title;
    sr.iterations_planned = sc.iterations;
    sr.started_at = std::chrono::system_clock::now();
    store_.begin_scenario(sr);

    const auto start = Clock::now();
    const auto deadline = sc.timeout.count() > 0 ? start + sc.timeout : Clock::time_point::max();
    auto last_progress = start;
    Outcome outcome = Outcome::pass;
    int failures = 0;

    for (int it = 0; it < sc.iterations; ++it) {
        saved_.clear();
        Outcome it_outcome = Outcome::pass;
        std::string reason;
        for (std::size_t i = 0; i < sc.steps.size(); ++i) {
            const auto& step = sc.steps[i];
            if (control_.stop_requested) {
                it_outcome = Outcome::aborted;
                reason = "stopped: " + control_.stop_reason;
                break;
            }
            auto now = Clock::now();
            if (now >= deadline) {
                it_outcome = Outcome::timeout;
                reason = "scenario exceeded its " + seconds_text(sc.timeout) + " timeout";
                break;
            }
            auto budget = deadline == Clock::time_point::max()
                              ? step.timeout + step.wait
                              : std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
            auto r = co_await execute(sc, step, it, static_cast<int>(i), budget);
            r.scenario_result_id = sr.id;
            r.seq = ++seq_;
            store_.commit_step(r);  // durable before anything else hears of it
            if (observer_.on_step) observer_.on_step(r);
            if (r.outcome == Outcome::pass || r.outcome == Outcome::skipped) continue;
            it_outcome = r.outcome;
            reason = "step " + std::to_string(i + 1) + " " + step.describe() + ": " + r.reason;
            break;
        }
        ++sr.iterations;
        if (it_outcome == Outcome::pass) {
            ++sr.passed_iterations;
        } else {
            outcome = record::worst(outcome, it_outcome);
            if (sr.reason.empty()) sr.reason = iteration_reason(sc, it, reason);
            if (it_outcome == Outcome::aborted || ++failures >= sc.max_failures) break;
        }
        if (Clock::now() - last_progress > std::chrono::seconds(1)) {
            store_.update_scenario_progress(sr);
            last_progress = Clock::now();
        }
        if (sc.interval.count() > 0 && it + 1 < sc.iterations && !control_.stop_requested)
            co_await sleep_for(sc.interval, control_);
    }
    if (sc.iterations > 1 && sr.passed_iterations < sr.iterations && outcome != Outcome::aborted)
        sr.reason = std::to_string(sr.iterations - sr.passed_iterations) + " of " +
                    std::to_string(sr.iterations) + " iterations did not pass; first: " + sr.reason;
    sr.outcome = outcome;
    sr.ended_at = std::chrono::system_clock::now();
    store_.end_scenario(sr);
    if (observer_.on_scenario) observer_.on_scenario(sr);
    co_return outcome;
}

sdk::Task<Outcome> Runner::run() {
    run_.status = record::RunStatus::running;
    store_.update_run_status(run_.id, run_.status);
    Outcome total = Outcome::pass;
    int passed = 0;
    for (const auto& sc : suite_.scenarios) {
        if (control_.stop_requested) {
            total = record::worst(total, Outcome::aborted);
            break;
        }
        auto o = co_await run_scenario(sc);
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
