#include "certify/desk.hpp"

#include <algorithm>
#include <chrono>

#include "certify/gates.hpp"
#include "certify/issues.hpp"
#include "record/store.hpp"

namespace certlab::certify {

namespace {

using record::Phase;
using Kind = Refusal::Kind;

std::string cert_name(std::int64_t id) { return "certification " + std::to_string(id); }

std::string phase_name(Phase p) { return std::string(record::to_string(p)); }

const ScenarioStatus& planned(const CertificationView& v, const std::string& scenario) {
    for (const auto& s : v.statuses)
        if (s.item.scenario_id == scenario) return s;
    std::string ids;
    for (const auto& s : v.statuses) ids += (ids.empty() ? "" : ", ") + s.item.scenario_id;
    throw Refusal(Kind::not_found, "scenario " + scenario + " is not in the plan of " + cert_name(v.record.cert.id) +
                                       " (plan: " + ids + ")");
}

void require_lab(const record::Certification& c, const char* what) {
    if (c.phase == Phase::lab) return;
    std::string msg = std::string("cannot ") + what + ": " + cert_name(c.id) + " is in phase " + phase_name(c.phase);
    if (c.phase == Phase::intake) msg += "; run its plan first";
    else msg += "; sign-offs change only in lab (move it back to lab first)";
    throw Refusal(Kind::conflict, msg);
}

void require_text(const std::string& value, const char* field) {
    if (value.find_first_not_of(" \t\r\n") == std::string::npos)
        throw Refusal(Kind::invalid, std::string(field) + " must not be empty");
}

}  // namespace

Desk::Desk(record::Store& store, std::vector<SuiteMeta> suites, Clock clock)
    : store_(store), suites_(std::move(suites)), clock_(std::move(clock)) {
    if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

record::CertificationRecord Desk::read(std::int64_t id) const {
    auto rec = store_.read_certification(id);
    if (!rec) throw Refusal(Kind::not_found, "no " + cert_name(id));
    return std::move(*rec);
}

CertificationView Desk::make_view(record::CertificationRecord rec) const {
    CertificationView v;
    v.statuses = derive_statuses(rec.cert.plan, rec.results, rec.signoffs);
    v.next = next_phase(rec.cert.phase);
    if (v.next) {
        GateFacts facts{rec.cert.phase, v.statuses, rec.merchants.size(), rec.issues};
        v.next_blocked_by = refuse_phase_change(facts, *v.next);
    }
    v.record = std::move(rec);
    return v;
}

record::Certification Desk::intake(const IntakeRequest& r, const std::vector<std::string>& device_capabilities) {
    require_text(r.partner, "partner");
    require_text(r.integration, "integration");
    require_text(r.device_model, "device model");
    require_text(r.device_id, "device");
    for (const auto& p : r.permissions) require_text(p, "a permission");
    record::Certification c;
    try {
        c.plan = derive_plan(suites_, r.permissions, device_capabilities);
    } catch (const PlanError& e) {
        throw Refusal(Kind::invalid, std::string("no plan for this intake: ") + e.what());
    }
    c.partner = r.partner;
    c.integration = r.integration;
    c.device_model = r.device_model;
    c.serial_number = r.serial_number;
    c.firmware = r.firmware;
    c.device_id = r.device_id;
    for (const auto& p : r.permissions)
        if (std::find(c.permissions.begin(), c.permissions.end(), p) == c.permissions.end()) c.permissions.push_back(p);
    c.capabilities = device_capabilities;
    c.taken_in_by = r.by;
    c.phase = Phase::intake;
    c.created_at = c.phase_since = now();
    store_.create_certification(c);
    return c;
}

std::vector<CertificationView> Desk::list() const {
    std::vector<CertificationView> out;
    for (auto id : store_.certification_ids())
        if (auto rec = store_.read_certification(id)) out.push_back(make_view(std::move(*rec)));
    return out;
}

CertificationView Desk::view(std::int64_t id) const { return make_view(read(id)); }

record::SignOff Desk::certify(std::int64_t id, const std::string& scenario, const std::string& by) {
    require_text(by, "the evaluator's name");
    auto v = view(id);
    const auto& st = planned(v, scenario);
    require_lab(v.record.cert, ("certify " + scenario).c_str());
    if (st.state != State::passed) {
        std::string msg = "cannot certify: " + describe(st);
        if (st.state == State::rejected) msg += "; run it again to have a new result judged";
        throw Refusal(Kind::conflict, msg);
    }
    record::SignOff s;
    s.certification_id = id;
    s.scenario_id = scenario;
    s.verdict = record::Verdict::certified;
    s.by = by;
    s.at = now();
    s.scenario_result_id = st.evidence->result_id;
    store_.record_signoff(s, nullptr,
                          "resolved: " + scenario + " certified on its result in run " +
                              std::to_string(st.evidence->run_id));
    return s;
}

std::pair<record::SignOff, record::Issue> Desk::reject(std::int64_t id, const std::string& scenario,
                                                       const std::string& by, const std::string& feedback) {
    require_text(by, "the evaluator's name");
    require_text(feedback, "feedback");
    auto v = view(id);
    const auto& st = planned(v, scenario);
    require_lab(v.record.cert, ("reject " + scenario).c_str());
    if (st.state != State::passed && st.state != State::certified)
        throw Refusal(Kind::conflict, "cannot reject: " + describe(st) +
                                          (st.state == State::failed ? "; its failure is already an issue" : ""));
    record::SignOff s;
    s.certification_id = id;
    s.scenario_id = scenario;
    s.verdict = record::Verdict::rejected;
    s.by = by;
    s.feedback = feedback;
    s.at = now();
    s.scenario_result_id = st.evidence->result_id;
    auto issue = rejection_issue(v.record.cert, st.item, s);
    issue.run_id = st.evidence->run_id;
    store_.record_signoff(s, &issue, {});
    return {s, issue};
}

record::Issue Desk::add_issue(std::int64_t id, record::Issue draft) {
    require_text(draft.title, "title");
    auto rec = read(id);
    const auto& plan = rec.cert.plan;
    if (!draft.scenario_id.empty() &&
        std::none_of(plan.begin(), plan.end(), [&](const auto& p) { return p.scenario_id == draft.scenario_id; }))
        throw Refusal(Kind::not_found, "scenario " + draft.scenario_id + " is not in the plan of " + cert_name(id));
    record::Issue i;
    i.certification_id = id;
    i.title = draft.title;
    i.next_steps = draft.next_steps;
    i.severity = draft.severity;
    i.source = record::IssueSource::manual;
    i.scenario_id = draft.scenario_id;
    i.status = record::IssueStatus::open;
    i.phase = rec.cert.phase;
    i.raised_by = draft.raised_by;
    i.created_at = now();
    store_.add_issue(i);
    return i;
}

record::Issue Desk::close_issue(std::int64_t id, std::int64_t issue_id, const std::string& by,
                                const std::string& resolution) {
    require_text(resolution, "resolution");
    auto rec = read(id);
    auto it = std::find_if(rec.issues.begin(), rec.issues.end(), [&](const auto& i) { return i.id == issue_id; });
    if (it == rec.issues.end())
        throw Refusal(Kind::not_found, "no issue " + std::to_string(issue_id) + " in " + cert_name(id));
    if (it->status == record::IssueStatus::closed)
        throw Refusal(Kind::conflict, "issue " + std::to_string(issue_id) + " is already closed (" + it->resolution + ")");
    const auto at = now();
    if (!store_.close_issue(id, issue_id, by, resolution, at))
        throw Refusal(Kind::conflict, "issue " + std::to_string(issue_id) + " was closed meanwhile");
    it->status = record::IssueStatus::closed;
    it->closed_at = at;
    it->closed_by = by;
    it->resolution = resolution;
    return *it;
}

record::Merchant Desk::add_merchant(std::int64_t id, const std::string& name, const std::string& location,
                                    const std::string& by) {
    require_text(name, "merchant name");
    auto rec = read(id);
    if (rec.cert.phase == Phase::ga)
        throw Refusal(Kind::conflict, cert_name(id) + " is generally available; its pilot is over");
    for (const auto& m : rec.merchants)
        if (m.name == name) throw Refusal(Kind::conflict, "merchant '" + name + "' is already recorded for " + cert_name(id));
    if (rec.merchants.size() >= pilot_max_merchants)
        throw Refusal(Kind::conflict, cert_name(id) + " already has " + std::to_string(rec.merchants.size()) +
                                          " merchants; a pilot has at most " + std::to_string(pilot_max_merchants));
    record::Merchant m;
    m.certification_id = id;
    m.name = name;
    m.location = location;
    m.added_by = by;
    m.added_at = now();
    store_.add_merchant(m);
    return m;
}

record::PhaseChange Desk::change_phase(std::int64_t id, Phase to, const std::string& by, const std::string& note) {
    auto v = view(id);
    GateFacts facts{v.record.cert.phase, v.statuses, v.record.merchants.size(), v.record.issues};
    if (auto refused = refuse_phase_change(facts, to)) throw Refusal(Kind::conflict, *refused);
    record::PhaseChange change{id, v.record.cert.phase, to, by, note, now()};
    if (!store_.change_phase(change))
        throw Refusal(Kind::conflict, cert_name(id) + " changed phase meanwhile; look again");
    return change;
}

void Desk::check_run(std::int64_t id, const std::string& device_id, const std::string& suite_id,
                     const std::string& device_firmware) const {
    auto cert = store_.get_certification(id);
    if (!cert) throw Refusal(Kind::not_found, "no " + cert_name(id));
    if (cert->phase != Phase::intake && cert->phase != Phase::lab)
        throw Refusal(Kind::conflict, cert_name(id) + " is in phase " + phase_name(cert->phase) +
                                          "; runs count for it only in intake and lab (move it back to lab to test again)");
    if (cert->device_id != device_id)
        throw Refusal(Kind::invalid, cert_name(id) + " is for device '" + cert->device_id + "', not '" + device_id + "'");
    std::string suites;
    for (const auto& p : cert->plan) {
        if (p.suite_id == suite_id) {
            suites.clear();
            break;
        }
        if (suites.find(p.suite_id) == std::string::npos) suites += (suites.empty() ? "" : ", ") + p.suite_id;
    }
    if (!suites.empty())
        throw Refusal(Kind::invalid, "suite '" + suite_id + "' has no scenario in the plan of " + cert_name(id) +
                                         " (its suites: " + suites + ")");
    if (!cert->firmware.empty() && !device_firmware.empty() && cert->firmware != device_firmware)
        throw Refusal(Kind::conflict, "device '" + device_id + "' reports firmware " + device_firmware + " but " +
                                          cert_name(id) + " was taken in for firmware " + cert->firmware +
                                          "; take in a certification for the firmware on the device");
}

void Desk::run_started(std::int64_t id, std::int64_t run_id) {
    auto cert = store_.get_certification(id);
    if (!cert || cert->phase != Phase::intake) return;
    // The first run is what takes a certification into the lab.
    (void)store_.change_phase({id, Phase::intake, Phase::lab, "certlab", "run " + std::to_string(run_id) + " started", now()});
}

std::vector<record::Issue> Desk::sync_issues(std::int64_t id) {
    return store_.add_failure_issues(failure_issues(read(id), now()));
}

std::size_t Desk::sync_all() {
    std::size_t n = 0;
    for (auto id : store_.certification_ids()) n += sync_issues(id).size();
    return n;
}

}  // namespace certlab::certify
