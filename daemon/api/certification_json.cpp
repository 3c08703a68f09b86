#include "api/certification_json.hpp"

#include <nlohmann/json.hpp>

namespace certlab::api {

using json = nlohmann::ordered_json;

namespace {

json optional_time(const std::optional<record::TimePoint>& t) {
    return t ? json(record::format_time(*t)) : json(nullptr);
}

json optional_id(const std::optional<std::int64_t>& id) { return id ? json(*id) : json(nullptr); }

json name(std::string_view s) { return std::string(s); }

json result_json(const std::optional<record::CertResult>& r) {
    if (!r) return nullptr;
    return {
        {"run", r->run_id},
        {"result_id", r->result_id},
        {"outcome", name(record::to_string(r->outcome))},
        {"reason", r->reason},
        {"ended_at", optional_time(r->ended_at)},
        {"device", r->device_id},
        {"firmware", r->firmware},
    };
}

}  // namespace

json signoff_json(const record::SignOff& s) {
    return {
        {"id", s.id},
        {"scenario", s.scenario_id},
        {"verdict", name(record::to_string(s.verdict))},
        {"by", s.by},
        {"feedback", s.feedback},
        {"at", record::format_time(s.at)},
        {"result_id", s.scenario_result_id},
    };
}

json issue_json(const record::Issue& i) {
    return {
        {"id", i.id},
        {"title", i.title},
        {"next_steps", i.next_steps},
        {"severity", name(record::to_string(i.severity))},
        {"source", name(record::to_string(i.source))},
        {"scenario", i.scenario_id.empty() ? json(nullptr) : json(i.scenario_id)},
        {"run", optional_id(i.run_id)},
        {"result_id", optional_id(i.scenario_result_id)},
        {"status", name(record::to_string(i.status))},
        {"phase", name(record::to_string(i.phase))},
        {"raised_by", i.raised_by},
        {"created_at", record::format_time(i.created_at)},
        {"closed_at", optional_time(i.closed_at)},
        {"closed_by", i.closed_by},
        {"resolution", i.resolution},
    };
}

json merchant_json(const record::Merchant& m) {
    return {
        {"id", m.id},
        {"name", m.name},
        {"location", m.location},
        {"added_by", m.added_by},
        {"added_at", record::format_time(m.added_at)},
    };
}

json phase_change_json(const record::PhaseChange& c) {
    return {
        {"from", c.from ? name(record::to_string(*c.from)) : json(nullptr)},
        {"to", name(record::to_string(c.to))},
        {"by", c.by},
        {"note", c.note},
        {"at", record::format_time(c.at)},
    };
}

json plan_entry_json(const certify::ScenarioStatus& s) {
    return {
        {"scenario", s.item.scenario_id},
        {"suite", s.item.suite_id},
        {"title", s.item.title},
        {"permissions", s.item.permissions},
        {"roles", s.item.roles},
        {"status", name(certify::to_string(s.state))},
        {"status_text", certify::describe(s)},
        {"attempts", s.attempts},
        {"evidence", result_json(s.evidence)},
        {"latest", result_json(s.latest)},
        {"signoff", s.signoff ? signoff_json(*s.signoff) : json(nullptr)},
    };
}

json certification_json(const certify::CertificationView& v) {
    const auto& c = v.record.cert;
    int certified = 0;
    for (const auto& s : v.statuses)
        if (s.state == certify::State::certified) ++certified;
    int open = 0;
    for (const auto& i : v.record.issues)
        if (i.status == record::IssueStatus::open) ++open;
    return {
        {"id", c.id},
        {"partner", c.partner},
        {"integration", c.integration},
        {"device_model", c.device_model},
        {"serial_number", c.serial_number},
        {"firmware", c.firmware},
        {"device", c.device_id},
        {"permissions", c.permissions},
        {"capabilities", c.capabilities},
        {"phase", name(record::to_string(c.phase))},
        {"phase_since", record::format_time(c.phase_since)},
        {"created_at", record::format_time(c.created_at)},
        {"taken_in_by", c.taken_in_by},
        {"scenarios_total", v.statuses.size()},
        {"scenarios_certified", certified},
        {"open_issues", open},
        {"merchants", v.record.merchants.size()},
        {"href", "/v1/certifications/" + std::to_string(c.id)},
    };
}

json certification_detail_json(const certify::CertificationView& v) {
    json plan = json::array();
    for (const auto& s : v.statuses) plan.push_back(plan_entry_json(s));
    json issues = json::array();
    for (const auto& i : v.record.issues) issues.push_back(issue_json(i));
    json merchants = json::array();
    for (const auto& m : v.record.merchants) merchants.push_back(merchant_json(m));
    json phases = json::array();
    for (const auto& c : v.record.history) phases.push_back(phase_change_json(c));
    json next = nullptr;
    if (v.next)
        next = {
            {"phase", name(record::to_string(*v.next))},
            {"allowed", !v.next_blocked_by.has_value()},
            {"blocked_by", v.next_blocked_by ? json(*v.next_blocked_by) : json(nullptr)},
        };
    return {
        {"certification", certification_json(v)},
        {"plan", std::move(plan)},
        {"issues", std::move(issues)},
        {"merchants", std::move(merchants)},
        {"phases", std::move(phases)},
        {"next_phase", std::move(next)},
    };
}

}  // namespace certlab::api
