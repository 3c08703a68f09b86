#include "station/events.hpp"

#include <chrono>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/json.hpp"

namespace certlab::station {

using json = nlohmann::ordered_json;

namespace {

json or_null(std::optional<std::int64_t> v) { return v ? json(*v) : json(nullptr); }
json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

std::int64_t EventBus::first_id_now() {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    return ms * 1000 + 1;
}

EventBus::EventBus(std::int64_t first_id, std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), next_id_(first_id) {}

EventBus::Subscription::~Subscription() {
    if (!bus_) return;
    std::lock_guard lock(bus_->mutex_);
    bus_->listeners_.erase(key_);
}

EventBus::Subscription EventBus::subscribe(std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    const int key = ++next_key_;
    listeners_.emplace(key, std::move(wake));
    return Subscription(this, key);
}

std::int64_t EventBus::publish(std::string type, std::string data, std::optional<std::int64_t> run,
                               std::string device) {
    std::int64_t id = 0;
    std::vector<std::function<void()>> listeners;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        ring_.push_back(Event{id, std::move(type), std::move(data), run, std::move(device)});
        while (ring_.size() > capacity_) ring_.pop_front();
        // A copy, called unlocked: a listener may unsubscribe (its stream ending)
        // while being told.
        listeners.reserve(listeners_.size());
        for (const auto& [key, wake] : listeners_) listeners.push_back(wake);
    }
    for (auto& wake : listeners) wake();
    return id;
}

std::int64_t EventBus::first_id() const {
    std::lock_guard lock(mutex_);
    return first_id_locked();
}

std::int64_t EventBus::next_id() const {
    std::lock_guard lock(mutex_);
    return next_id_;
}

bool EventBus::missed_after(std::int64_t last_id) const {
    std::lock_guard lock(mutex_);
    return last_id + 1 < first_id_locked() || last_id >= next_id_;
}

std::vector<Event> EventBus::after(std::int64_t last_id, std::size_t max) const {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    const auto first = first_id_locked();
    // Ids are consecutive, so the position in the ring is the id's distance from the first.
    std::int64_t from = last_id + 1 < first || last_id >= next_id_ ? first : last_id + 1;
    for (auto i = static_cast<std::size_t>(from - first); i < ring_.size() && out.size() < max; ++i)
        out.push_back(ring_[i]);
    return out;
}

void EventBus::device_state(const std::string& device, std::string_view state, std::string_view previous,
                            const std::string& reason) {
    json d = {{"device", device},
              {"state", state},
              {"previous", previous},
              {"reason", reason},
              {"at", record::format_time(std::chrono::system_clock::now())}};
    publish("device.state", api::dump(d), std::nullopt, device);
}

namespace {

json run_fields(const record::Run& run) {
    json d = {{"run", run.id},
              {"device", run.device_id},
              {"suite", run.suite_id},
              {"status", record::to_string(run.status)}};
    return d;
}

}  // namespace

void EventBus::run_queued(const record::Run& run) {
    auto d = run_fields(run);
    d["certification"] = or_null(run.certification_id);
    d["resumed"] = run.resumed;
    publish("run.queued", api::dump(d), run.id, run.device_id);
}

void EventBus::run_started(const record::Run& run) {
    auto d = run_fields(run);
    d["status"] = "running";
    publish("run.started", api::dump(d), run.id, run.device_id);
}

void EventBus::run_ended(const record::Run& run) {
    auto d = run_fields(run);
    d["outcome"] = run.outcome ? json(record::to_string(*run.outcome)) : json(nullptr);
    d["reason"] = run.reason;
    publish("run.ended", api::dump(d), run.id, run.device_id);
}

void EventBus::step(const record::StepResult& s, const std::string& scenario, int iterations_planned,
                    const std::string& device) {
    // Compact on purpose: the transcript and values are a GET /v1/runs/{id}/steps away.
    json d = {{"run", s.run_id},
              {"seq", s.seq},
              {"scenario", scenario},
              {"iteration", s.iteration},
              {"iterations_planned", iterations_planned},
              {"phase", record::to_string(s.phase)},
              {"index", s.index},
              {"kind", s.kind},
              {"action", s.action},
              {"role", s.role},
              {"attempt", s.attempt},
              {"outcome", record::to_string(s.outcome)},
              {"duration_us", s.duration_us},
              {"started_at", record::format_time(s.started_at)},
              {"reason", s.reason}};
    publish("step", api::dump(d), s.run_id, device);
}

void EventBus::scenario_ended(const record::ScenarioResult& s, const std::string& device) {
    const double pass_rate =
        s.iterations > 0 ? static_cast<double>(s.passed_iterations) / static_cast<double>(s.iterations) : 0.0;
    json d = {{"run", s.run_id},
              {"scenario", s.scenario_id},
              {"title", s.title},
              {"outcome", s.outcome ? json(record::to_string(*s.outcome)) : json(nullptr)},
              {"reason", s.reason},
              {"iterations", s.iterations},
              {"iterations_planned", s.iterations_planned},
              {"passed_iterations", s.passed_iterations},
              {"pass_rate", pass_rate}};
    publish("scenario.ended", api::dump(d), s.run_id, device);
}

void EventBus::prompt_opened(const record::Prompt& p, const std::string& device) {
    json d = {{"prompt", p.id},
              {"run", p.run_id},
              {"device", or_null(device)},
              {"scenario", p.scenario_id},
              {"iteration", p.iteration},
              {"step_index", p.step_index},
              {"kind", p.kind},
              {"message", p.message},
              {"choices", p.choices},
              {"deadline", record::format_time(p.deadline)}};
    publish("prompt.opened", api::dump(d), p.run_id, device);
}

void EventBus::prompt_answered(std::int64_t prompt_id, std::int64_t run_id, const std::string& answer,
                               const std::string& by, const std::string& device) {
    json d = {{"prompt", prompt_id}, {"run", run_id}, {"device", or_null(device)}, {"answer", answer}, {"by", by}};
    publish("prompt.answered", api::dump(d), run_id, device);
}

void EventBus::prompt_closed(std::int64_t prompt_id, std::int64_t run_id, std::string_view status,
                             const std::string& reason, const std::string& device) {
    json d = {{"prompt", prompt_id},
              {"run", run_id},
              {"device", or_null(device)},
              {"status", status},
              {"reason", reason}};
    publish("prompt.closed", api::dump(d), run_id, device);
}

void EventBus::upload_changed(bool failing, std::int64_t pending, std::int64_t consecutive_failures,
                              const std::string& error) {
    json d = {{"pending", pending}, {"consecutive_failures", consecutive_failures}, {"error", error}};
    publish(failing ? "upload.failing" : "upload.recovered", api::dump(d));
}

}  // namespace certlab::station
