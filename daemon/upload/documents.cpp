#include "upload/documents.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/json.hpp"
#include "record/store.hpp"

namespace certlab::upload {

namespace {

using json = nlohmann::ordered_json;
using record::format_time;

json time_or_null(const std::optional<record::TimePoint>& t) {
    return t ? json(format_time(*t)) : json(nullptr);
}

json outcome_or_null(const std::optional<record::Outcome>& o) {
    return o ? json(record::to_string(*o)) : json(nullptr);
}

json values_json(const sdk::Values& values) {
    json out = json::object();
    for (const auto& [name, value] : values) out[name] = api::value_json(value);
    return out;
}

json transcript_json(const sdk::Transcript& t) {
    json out = json::array();
    for (const auto& e : t.entries()) {
        const char* dir = e.dir == sdk::TranscriptEntry::Dir::tx   ? "tx"
                          : e.dir == sdk::TranscriptEntry::Dir::rx ? "rx"
                                                                   : "note";
        out.push_back({{"dir", dir}, {"offset_us", std::max<std::int64_t>(e.offset_us, 0)},
                       {"data", encode_base64(e.bytes)}});
    }
    return out;
}

json step_json(const record::StepResult& s) {
    // The station API's shapes are the contract's: {value, unit} and measurements
    // with their limits (a value that is not finite is null).
    json measurements = json::array();
    for (const auto& m : s.measurements) measurements.push_back(api::measurement_json(m));
    return {{"seq", s.seq},
            {"iteration", s.iteration},
            {"index", s.index},
            {"phase", record::to_string(s.phase)},
            {"attempt", s.attempt},
            {"retried", s.retried},
            {"kind", s.kind},
            {"action", s.action},
            {"role", s.role},
            {"args", values_json(s.args)},
            {"values", values_json(s.values)},
            {"outcome", record::to_string(s.outcome)},
            {"reason", s.reason},
            {"warning", s.warning},
            {"started_at", format_time(s.started_at)},
            {"duration_us", std::max<std::int64_t>(s.duration_us, 0)},
            {"measurements", std::move(measurements)},
            {"transcript", transcript_json(s.transcript)}};
}

json certification_json(const record::CertificationRecord& r) {
    const auto& c = r.cert;
    json plan = json::array();
    for (const auto& p : c.plan)
        plan.push_back({{"scenario", p.scenario_id}, {"suite", p.suite_id}, {"title", p.title},
                        {"permissions", p.permissions}, {"roles", p.roles}});
    json merchants = json::array();
    for (const auto& m : r.merchants)
        merchants.push_back({{"id", m.id}, {"name", m.name}, {"location", m.location},
                             {"added_by", m.added_by}, {"added_at", format_time(m.added_at)}});
    json phases = json::array();
    for (const auto& h : r.history)
        phases.push_back({{"from", h.from ? json(record::to_string(*h.from)) : json(nullptr)},
                          {"to", record::to_string(h.to)}, {"by", h.by}, {"note", h.note},
                          {"at", format_time(h.at)}});
    return {{"id", c.id},
            {"partner", c.partner},
            {"integration", c.integration},
            {"device_model", c.device_model},
            {"serial_number", c.serial_number},
            {"firmware", c.firmware},
            {"device", c.device_id},
            {"permissions", c.permissions},
            {"capabilities", c.capabilities},
            {"taken_in_by", c.taken_in_by},
            {"phase", record::to_string(c.phase)},
            {"phase_since", format_time(c.phase_since)},
            {"created_at", format_time(c.created_at)},
            {"plan", std::move(plan)},
            {"merchants", std::move(merchants)},
            {"phases", std::move(phases)}};
}

json run_json(const record::Run& run) {
    json roles = json::object();
    for (const auto& [role, b] : run.roles)
        roles[role] = {{"device", b.device_id}, {"driver", b.driver}, {"firmware", b.firmware}};
    return {{"id", run.id},
            {"certification", run.certification_id ? json(*run.certification_id) : json(nullptr)},
            {"device", run.device_id},
            {"suite", run.suite_id},
            {"suite_title", run.suite_title},
            {"suite_hash", run.suite_hash},
            {"status", record::to_string(run.status)},
            {"outcome", outcome_or_null(run.outcome)},
            {"reason", run.reason},
            {"started_at", format_time(run.started_at)},
            {"ended_at", time_or_null(run.ended_at)},
            {"scenarios_total", run.scenarios_total},
            {"resumed", run.resumed},
            {"provenance",
             {{"certlab_version", run.certlab_version},
              {"driver", run.driver},
              {"firmware", run.firmware},
              {"roles", std::move(roles)}}}};
}

std::string media_type(const std::string& name) {
    auto dot = name.rfind('.');
    std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "png") return "image/png";
    if (ext == "txt" || ext == "log") return "text/plain";
    if (ext == "json") return "application/json";
    if (ext == "pdf") return "application/pdf";
    return "application/octet-stream";
}

/// The attachments technicians gave with their answers to the scenario's prompts.
json attachments_json(const record::Store& store, const record::ScenarioResult& sr) {
    json out = json::array();
    for (const auto& p : store.list_prompts(false, sr.run_id, -1)) {
        if (p.scenario_id != sr.scenario_id || !p.attachment) continue;
        auto a = store.get_attachment(p.id);
        if (!a) continue;
        out.push_back({{"name", a->name},
                       {"media_type", media_type(a->name)},
                       {"size", static_cast<std::int64_t>(a->content.size())},
                       {"sha256", p.attachment->sha256},
                       {"content", encode_base64(a->content)}});
    }
    return out;
}

json scenario_json(const record::Store& store, const record::ScenarioResult& s) {
    return {{"scenario", s.scenario_id},
            {"result_id", s.id},
            {"title", s.title},
            {"outcome", outcome_or_null(s.outcome)},
            {"reason", s.reason},
            {"iterations", s.iterations},
            {"iterations_planned", s.iterations_planned},
            {"passed_iterations", s.passed_iterations},
            {"started_at", format_time(s.started_at)},
            {"ended_at", time_or_null(s.ended_at)},
            {"stats", s.stats ? api::soak_stats_json(*s.stats) : json(nullptr)},
            {"attachments", attachments_json(store, s)}};
}

json signoff_json(const record::SignOff& s) {
    return {{"id", s.id},       {"scenario", s.scenario_id},          {"verdict", record::to_string(s.verdict)},
            {"by", s.by},       {"feedback", s.feedback},             {"at", format_time(s.at)},
            {"result_id", s.scenario_result_id}};
}

json issue_json(const record::Issue& i) {
    return {{"id", i.id},
            {"title", i.title},
            {"next_steps", i.next_steps},
            {"severity", record::to_string(i.severity)},
            {"source", record::to_string(i.source)},
            {"scenario", i.scenario_id.empty() ? json(nullptr) : json(i.scenario_id)},
            {"run", i.run_id ? json(*i.run_id) : json(nullptr)},
            {"result_id", i.scenario_result_id ? json(*i.scenario_result_id) : json(nullptr)},
            {"status", record::to_string(i.status)},
            {"phase", record::to_string(i.phase)},
            {"raised_by", i.raised_by},
            {"created_at", format_time(i.created_at)},
            {"closed_at", time_or_null(i.closed_at)},
            {"closed_by", i.closed_by},
            {"resolution", i.resolution}};
}

std::optional<record::ScenarioResult> find_scenario(const record::Store& store, std::int64_t run_id,
                                                    std::int64_t result_id) {
    auto detail = store.get_run_detail(run_id, 0);
    if (!detail) return std::nullopt;
    for (auto& s : detail->scenarios)
        if (s.id == result_id) return std::move(s);
    return std::nullopt;
}

/// (method, path, body) for the item, or nullopt when the store no longer has it.
struct Built {
    std::string method;
    std::string path;
    json body;
};

std::optional<Built> build(const record::Store& store, const std::string& base, const record::OutboxItem& item) {
    using K = record::OutboxKind;
    const std::string cert = base + "/certifications/";
    const std::string run = base + "/runs/";
    switch (item.kind) {
    case K::certification: {
        auto r = store.read_certification(item.ref);
        if (!r) return std::nullopt;
        return Built{"PUT", cert + std::to_string(item.ref), certification_json(*r)};
    }
    case K::run: {
        auto r = store.get_run(item.ref);
        if (!r) return std::nullopt;
        return Built{"PUT", run + std::to_string(item.ref), run_json(*r)};
    }
    case K::scenario: {
        auto s = find_scenario(store, item.parent, item.ref);
        if (!s) return std::nullopt;
        return Built{"PUT", run + std::to_string(item.parent) + "/scenarios/" + s->scenario_id,
                     scenario_json(store, *s)};
    }
    case K::step: {
        auto steps = store.steps(item.parent, item.ref - 1, 1);
        if (steps.empty() || steps.front().seq != item.ref) return std::nullopt;
        const auto& step = steps.front();
        auto s = find_scenario(store, item.parent, step.scenario_result_id);
        if (!s) return std::nullopt;
        return Built{"PUT", run + std::to_string(item.parent) + "/steps/" + std::to_string(item.ref),
                     json{{"scenario", s->scenario_id}, {"result_id", s->id}, {"step", step_json(step)}}};
    }
    case K::sign_off:
    case K::issue: {
        auto r = store.read_certification(item.parent);
        if (!r) return std::nullopt;
        const std::string path = cert + std::to_string(item.parent);
        if (item.kind == K::sign_off) {
            for (const auto& s : r->signoffs)
                if (s.id == item.ref) return Built{"POST", path + "/sign-offs", signoff_json(s)};
        } else {
            for (const auto& i : r->issues)
                if (i.id == item.ref) return Built{"POST", path + "/issues", issue_json(i)};
        }
        return std::nullopt;
    }
    }
    return std::nullopt;
}

}  // namespace

std::string encode_base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<record::OutboxRequest> build_request(const record::Store& store, const std::string& station_id,
                                                   const record::OutboxItem& item) {
    auto built = build(store, "/v1/stations/" + station_id, item);
    if (!built) return std::nullopt;
    // Unique per intended write (outbox ids are never reused) and readable in the
    // record's logs: 1234.step.17.480 is the 480th step of run 17.
    std::string key = std::to_string(item.id) + "." + std::string(record::to_string(item.kind)) + "." +
                      std::to_string(item.parent) + "." + std::to_string(item.ref);
    return record::OutboxRequest{std::move(key), std::move(built->method), std::move(built->path),
                                 api::dump(built->body)};
}

}  // namespace certlab::upload
