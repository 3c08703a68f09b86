// The CertificationExport document (docs/record-api.openapi.yaml) from the API's
// documents: the contract's own shapes (Certification, Run, ScenarioResult's parts,
// SignOff, Issue) plus what only the station knows (derived plan status, evidence,
// where each result came from).
#include <algorithm>
#include <initializer_list>
#include <map>
#include <stdexcept>

#include "cli/export.hpp"
#include "cli/export_text.hpp"

namespace certlab::cli {

namespace {

using namespace exporting;

/// The named fields of `obj`, in that order; a missing one is null (the contract
/// requires every field, so a gap shows up in validation rather than vanishing).
Json pick(const Json& obj, std::initializer_list<const char*> keys) {
    Json out = Json::object();
    for (const char* k : keys) out[k] = obj.is_object() && obj.contains(k) ? obj.at(k) : Json();
    return out;
}

Json array_of(const Json& obj, const char* key) {
    if (!obj.is_object()) return Json::array();
    auto it = obj.find(key);
    return it != obj.end() && it->is_array() ? *it : Json::array();
}

std::string string_of(const Json& obj, const char* key) {
    if (!obj.is_object()) return {};
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Json certification(const Json& detail) {
    const auto& c = detail.value("certification", Json::object());
    Json out = pick(c, {"id", "partner", "integration", "device_model", "serial_number", "firmware", "device",
                        "permissions", "capabilities", "taken_in_by", "phase", "phase_since", "created_at"});
    out["plan"] = Json::array();
    for (const auto& p : array_of(detail, "plan"))
        out["plan"].push_back(pick(p, {"scenario", "suite", "title", "permissions", "roles"}));
    out["merchants"] = Json::array();
    for (const auto& m : array_of(detail, "merchants"))
        out["merchants"].push_back(pick(m, {"id", "name", "location", "added_by", "added_at"}));
    out["phases"] = Json::array();
    for (const auto& p : array_of(detail, "phases")) out["phases"].push_back(pick(p, {"from", "to", "by", "note", "at"}));
    return out;
}

Json result_ref(const Json& r) {
    if (!r.is_object()) return nullptr;
    return pick(r, {"run", "result_id", "outcome", "reason", "ended_at", "device", "firmware"});
}

Json sign_off(const Json& s) { return pick(s, {"id", "scenario", "verdict", "by", "feedback", "at", "result_id"}); }

Json plan_status(const Json& p) {
    Json out = pick(p, {"scenario", "status", "status_text", "attempts"});
    out["evidence"] = result_ref(p.value("evidence", Json()));
    out["latest"] = result_ref(p.value("latest", Json()));
    const auto& s = p.value("signoff", Json());
    out["sign_off"] = s.is_object() ? sign_off(s) : Json();
    return out;
}

Json summary(const Json& detail) {
    std::map<std::string, std::int64_t> by_status{{"certified", 0}, {"passed", 0},       {"failed", 0},
                                                   {"rejected", 0},  {"inconclusive", 0}, {"not_run", 0}};
    const auto plan = array_of(detail, "plan");
    for (const auto& p : plan) ++by_status[string_of(p, "status")];
    std::int64_t open = 0;
    for (const auto& i : array_of(detail, "issues")) open += string_of(i, "status") == "open";
    Json out{{"scenarios_total", static_cast<std::int64_t>(plan.size())}};
    for (const char* s : {"certified", "passed", "failed", "rejected", "inconclusive", "not_run"}) out[s] = by_status[s];
    out["open_issues"] = open;
    const auto& next = detail.value("next_phase", Json());
    if (next.is_object())
        out["next_phase"] = {{"phase", next.value("phase", Json())},
                             {"allowed", next.value("allowed", false)},
                             {"blocked_by", string_of(next, "blocked_by")}};
    else out["next_phase"] = nullptr;
    return out;
}

Json run_doc(const Json& r) {
    Json out = pick(r, {"id", "certification", "device", "suite", "suite_title", "suite_hash", "status", "outcome",
                        "reason", "started_at", "ended_at", "scenarios_total", "resumed"});
    Json roles = Json::object();
    const auto bindings = r.value("roles", Json::object());  // items() must not outlive it
    for (const auto& [role, b] : bindings.items())
        roles[role] = pick(b, {"device", "driver", "firmware"});
    out["provenance"] = {{"certlab_version", r.value("certlab_version", Json())},
                         {"driver", r.value("driver", Json())},
                         {"firmware", r.value("firmware", Json())},
                         {"roles", std::move(roles)}};
    return out;
}

/// The API's transcript (hex for device bytes, text for notes) as the contract's
/// entries (base64 of the bytes).
Json transcript(const Json& t) {
    Json out = Json::array();
    for (const auto& e : array_of(t, "entries")) {
        const auto dir = string_of(e, "dir");
        std::string bytes;
        if (dir == "note") {
            bytes = string_of(e, "text");
        } else if (auto decoded = hex_decode(string_of(e, "hex"))) {
            bytes = std::move(*decoded);
        } else {
            throw std::runtime_error("the station's transcript has an entry whose hex is malformed");
        }
        out.push_back({{"dir", dir}, {"offset_us", e.value("offset_us", Json())}, {"data", base64_encode(bytes)}});
    }
    return out;
}

Json step_doc(const Json& s) {
    Json out = pick(s, {"seq", "iteration", "index", "phase", "attempt", "retried", "kind", "action", "role", "args",
                        "values", "outcome", "reason", "warning", "started_at", "duration_us", "measurements"});
    out["transcript"] = transcript(s.value("transcript", Json::object()));
    return out;
}

std::string media_type(const std::string& name) {
    static const std::map<std::string, std::string> by_extension{
        {"png", "image/png"},   {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
        {"webp", "image/webp"}, {"pdf", "application/pdf"},  {"txt", "text/plain"},  {"log", "text/plain"},
        {"csv", "text/csv"},    {"json", "application/json"}, {"bin", "application/octet-stream"}};
    auto dot = name.rfind('.');
    if (dot == std::string::npos) return "application/octet-stream";
    std::string ext = name.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    auto it = by_extension.find(ext);
    return it == by_extension.end() ? "application/octet-stream" : it->second;
}

Json scenario_doc(const Json& s, const ExportSource::RunDocs& docs) {
    Json out = pick(s, {"scenario", "result_id", "title", "outcome", "reason", "iterations", "iterations_planned",
                        "passed_iterations", "started_at", "ended_at", "stats"});
    out["scenario"] = s.value("id", Json());
    const auto result_id = s.value("result_id", Json());
    out["steps"] = Json::array();
    for (const auto& step : docs.steps)
        if (step.value("scenario_result_id", Json()) == result_id) out["steps"].push_back(step_doc(step));
    // Prompts carry the evidence a technician attached; the bytes stay at the station.
    out["attachments"] = Json::array();
    for (const auto& p : docs.prompts) {
        const auto& a = p.value("attachment", Json());
        if (!a.is_object() || p.value("scenario", Json()) != out["scenario"]) continue;
        const auto name = string_of(a, "name");
        out["attachments"].push_back({{"name", name},
                                      {"media_type", media_type(name)},
                                      {"size", a.value("size", Json())},
                                      {"sha256", a.value("sha256", Json())},
                                      {"prompt", p.value("id", Json())},
                                      {"href", a.value("href", Json())}});
    }
    return out;
}

}  // namespace

Json build_export(const ExportSource& src) {
    Json doc{{"format", "certlab.certification-export/1"},
             {"exported_at", src.exported_at},
             {"station", src.health.value("station_id", Json())},
             {"certlab_version", src.health.value("version", Json())}};
    doc["certification"] = certification(src.detail);
    doc["summary"] = summary(src.detail);
    doc["plan"] = Json::array();
    doc["sign_offs"] = Json::array();
    for (const auto& p : array_of(src.detail, "plan")) {
        doc["plan"].push_back(plan_status(p));
        if (const auto& s = doc["plan"].back()["sign_off"]; s.is_object()) doc["sign_offs"].push_back(s);
    }
    std::sort(doc["sign_offs"].begin(), doc["sign_offs"].end(),
              [](const Json& a, const Json& b) { return a.value("id", 0) < b.value("id", 0); });
    doc["issues"] = Json::array();
    for (const auto& i : array_of(src.detail, "issues"))
        doc["issues"].push_back(pick(i, {"id", "title", "next_steps", "severity", "source", "scenario", "run",
                                         "result_id", "status", "phase", "raised_by", "created_at", "closed_at",
                                         "closed_by", "resolution"}));

    std::map<std::string, std::string> suite_files;
    for (const auto& s : src.suites) suite_files[string_of(s, "id")] = string_of(s, "file");
    doc["runs"] = Json::array();
    for (const auto& r : src.runs) {
        const auto suite = string_of(r.run, "suite");
        Json run{{"station", r.run.value("station_id", Json())},
                 {"suite_file", suite_files.count(suite) ? suite_files[suite] : std::string()},
                 {"run", run_doc(r.run)},
                 {"scenarios", Json::array()}};
        for (const auto& s : r.scenarios) run["scenarios"].push_back(scenario_doc(s, r));
        doc["runs"].push_back(std::move(run));
    }
    return doc;
}

}  // namespace certlab::cli
