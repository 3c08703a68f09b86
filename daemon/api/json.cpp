#include "api/json.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

namespace certlab::api {

// Ordered: documents keep the field order of docs/API.md (id first).
using json = nlohmann::ordered_json;

namespace {

json optional_time(const std::optional<record::TimePoint>& t) {
    return t ? json(record::format_time(*t)) : json(nullptr);
}

json optional_outcome(const std::optional<record::Outcome>& o) {
    return o ? json(std::string(record::to_string(*o))) : json(nullptr);
}

/// Seconds with millisecond resolution, as a JSON number.
double seconds(std::chrono::system_clock::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) /
           1000.0;
}


json values_json(const sdk::Values& values) {
    json out = json::object();
    for (const auto& [name, value] : values) out[name] = value_json(value);
    return out;
}

}  // namespace

json soak_stats_json(const record::SoakStats& s) {
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    json latency = json::array();
    for (const auto& l : s.latency)
        latency.push_back({{"action", l.action}, {"count", l.count}, {"p50_ms", num(l.p50_ms)},
                           {"p95_ms", num(l.p95_ms)}, {"p99_ms", num(l.p99_ms)}, {"max_ms", num(l.max_ms)}});
    json drift = json::array();
    for (const auto& d : s.drift)
        drift.push_back({{"name", d.name}, {"unit", d.unit}, {"count", d.count}, {"first", num(d.first)},
                         {"last", num(d.last)}, {"min", num(d.min)}, {"max", num(d.max)}, {"mean", num(d.mean)},
                         {"slope_per_1k", num(d.slope_per_1k)}});
    return {{"iterations", s.iterations}, {"passed", s.passed},     {"failed", s.failed},
            {"errors", s.errors},         {"timeouts", s.timeouts}, {"power_cycles", s.power_cycles},
            {"marginal", s.marginal},     {"pass_rate", num(s.pass_rate)},
            {"latency", std::move(latency)}, {"drift", std::move(drift)}};
}

std::string dump(const json& doc) {
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    return out;
}

json upload_json(const std::optional<upload::UploadStatus>& status, record::TimePoint now) {
    if (!status) return {{"configured", false}};
    const auto& s = *status;
    auto when = [](const std::optional<record::TimePoint>& t) {
        return t ? json(record::format_time(*t)) : json(nullptr);
    };
    json age = nullptr;
    if (s.oldest) age = std::max(0.0, std::chrono::duration<double>(now - *s.oldest).count());
    return {{"configured", true},
            {"url", s.url},
            {"state", s.state},
            {"pending", s.pending},
            {"oldest_pending_at", when(s.oldest)},
            {"oldest_pending_age_s", age},
            {"uploaded", s.uploaded},
            {"replayed", s.replayed},
            {"errors", s.errors},
            {"consecutive_failures", s.consecutive_failures},
            {"last_success_at", when(s.last_success_at)},
            {"last_error", s.last_error},
            {"last_error_at", when(s.last_error_at)},
            {"next_attempt_at", when(s.next_attempt_at)}};
}

json health_json(const HealthInfo& health, record::TimePoint now) {
    return {
        {"status", health.status},
        {"station_id", health.station_id},
        {"version", health.version},
        {"api_version", 1},
        {"uptime_s", health.uptime.count()},
        {"time", record::format_time(now)},
    };
}

json device_json(const DeviceInfo& d) {
    return {
        {"id", d.id},
        {"profile", d.profile},
        {"driver", d.driver},
        {"address", d.address},
        {"state", d.state},
        {"state_reason", d.state_reason},
        {"state_since", record::format_time(d.state_since)},
        {"current_run", d.current_run ? json(*d.current_run) : json(nullptr)},
        {"identity", d.identity},
        {"capabilities", d.capabilities},
    };
}

json suite_json(const SuiteInfo& s) {
    return {
        {"id", s.id},
        {"title", s.title},
        {"file", s.file},
        {"requires_capabilities", s.requires_capabilities},
        {"scenarios", s.scenarios},
    };
}

json run_json(const record::Run& r, record::TimePoint now) {
    json duration = nullptr;
    if (r.ended_at) duration = seconds(*r.ended_at - r.started_at);
    else if (r.status == record::RunStatus::running) duration = seconds(now - r.started_at);
    json roles = json::object();
    for (const auto& [role, b] : r.roles)
        roles[role] = {{"device", b.device_id}, {"driver", b.driver}, {"firmware", b.firmware}};
    return {
        {"id", r.id},
        {"device", r.device_id},
        {"suite", r.suite_id},
        {"suite_title", r.suite_title},
        {"suite_hash", r.suite_hash},
        {"driver", r.driver},
        {"station_id", r.station_id},
        {"certlab_version", r.certlab_version},
        {"status", std::string(record::to_string(r.status))},
        {"outcome", optional_outcome(r.outcome)},
        {"reason", r.reason},
        {"started_at", record::format_time(r.started_at)},
        {"ended_at", optional_time(r.ended_at)},
        {"duration_s", duration},
        {"scenarios_total", r.scenarios_total},
        {"roles", std::move(roles)},
        {"firmware", r.firmware},
        {"certification", r.certification_id ? json(*r.certification_id) : json(nullptr)},
        {"resumed", r.resumed},
        {"href", "/v1/runs/" + std::to_string(r.id)},
    };
}

json scenario_json(const record::ScenarioResult& s) {
    return {
        {"id", s.scenario_id},
        {"result_id", s.id},
        {"title", s.title},
        {"outcome", optional_outcome(s.outcome)},
        {"reason", s.reason},
        {"iterations", s.iterations},
        {"iterations_planned", s.iterations_planned},
        {"passed_iterations", s.passed_iterations},
        {"started_at", record::format_time(s.started_at)},
        {"ended_at", optional_time(s.ended_at)},
        {"stats", s.stats ? soak_stats_json(*s.stats) : json(nullptr)},
    };
}

json measurement_json(const record::Measurement& m) {
    return {
        {"name", m.name},
        {"value", m.value},
        {"unit", m.unit},
        {"low", m.low ? json(*m.low) : json(nullptr)},
        {"high", m.high ? json(*m.high) : json(nullptr)},
        {"within", m.within},
        {"marginal", m.marginal},
    };
}

json value_json(const sdk::Value& v) {
    json value = std::visit(
        [](const auto& x) -> json {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>) return nullptr;
            else return x;
        },
        v.data);
    json out = {{"value", std::move(value)}};
    if (!v.unit.empty()) out["unit"] = v.unit;
    return out;
}

json transcript_json(const sdk::Transcript& t) {
    json entries = json::array();
    for (const auto& e : t.entries()) {
        json entry = {{"offset_us", e.offset_us}};
        switch (e.dir) {
        case sdk::TranscriptEntry::Dir::tx: entry["dir"] = "tx"; break;
        case sdk::TranscriptEntry::Dir::rx: entry["dir"] = "rx"; break;
        case sdk::TranscriptEntry::Dir::note: entry["dir"] = "note"; break;
        }
        if (e.dir == sdk::TranscriptEntry::Dir::note) {
            entry["text"] = e.bytes;
        } else {
            entry["hex"] = to_hex(e.bytes);
            entry["text"] = sdk::render_bytes(e.bytes);
        }
        entries.push_back(std::move(entry));
    }
    return {{"text", t.render()}, {"entries", std::move(entries)}};
}

json step_json(const record::StepResult& s) {
    json measurements = json::array();
    for (const auto& m : s.measurements) measurements.push_back(measurement_json(m));
    return {
        {"seq", s.seq},
        {"id", s.id},
        {"scenario_result_id", s.scenario_result_id},
        {"iteration", s.iteration},
        {"index", s.index},
        {"phase", std::string(record::to_string(s.phase))},
        {"attempt", s.attempt},
        {"retried", s.retried},
        {"kind", s.kind},
        {"action", s.action},
        {"role", s.role},
        {"args", values_json(s.args)},
        {"values", values_json(s.values)},
        {"outcome", std::string(record::to_string(s.outcome))},
        {"reason", s.reason},
        {"warning", s.warning},
        {"started_at", record::format_time(s.started_at)},
        {"duration_us", s.duration_us},
        {"measurements", std::move(measurements)},
        {"transcript", transcript_json(s.transcript)},
    };
}

}  // namespace certlab::api
