#include "certify/issues.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace certlab::certify {

namespace {

// The runner's reasons have a small vocabulary (engine/runner.cpp, engine/check.cpp);
// the first fragment found picks the hint.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> hints{{
    {"iterations did not pass",
     "It fails intermittently: look for what changes over the iterations (heat, buffers filling, paper, power)."},
    {"malformed response",
     "The device answered bytes the driver cannot decode: check its firmware speaks the protocol its profile "
     "names, and the link settings (baud rate, parity)."},
    {"is below the limit", "A measured value is under its limit: check the device against its specification."},
    {"is above the limit", "A measured value is over its limit: check the device against its specification."},
    {"(device: ", "The device said why it refused: fix that condition first."},
    {"expected to match", "The device reported a value of the wrong form: check its firmware's answer format."},
    {": expected ", "The device reported a value other than the scenario expects: fix the device or its "
                    "configuration so that it does."},
    {"no value reported", "The device did not report a value the scenario checks: check its firmware version."},
}};

std::string_view hint_for(const std::string& reason) {
    for (const auto& [fragment, hint] : hints)
        if (reason.find(fragment) != std::string::npos) return hint;
    return "Find out why the device behaves differently from what the scenario describes.";
}

const record::PlanItem* plan_item(const record::Certification& cert, const record::CertResult& r) {
    for (const auto& p : cert.plan)
        if (p.suite_id == r.suite_id && p.scenario_id == r.scenario_id) return &p;
    return nullptr;
}

}  // namespace

std::string failure_next_steps(const record::Certification& cert, const record::PlanItem& item,
                               const record::CertResult& r) {
    const std::string cert_id = std::to_string(cert.id);
    std::string firmware = r.firmware.empty() ? std::string() : " (firmware " + r.firmware + ")";
    std::string steps = "1. " + item.scenario_id + " failed in run " + std::to_string(r.run_id) + " on device " +
                        r.device_id + firmware + ": " + (r.reason.empty() ? "no reason recorded" : r.reason) +
                        ". See certlab run show " + std::to_string(r.run_id) + " --steps.\n";
    steps += "2. " + std::string(hint_for(r.reason)) + "\n";
    steps += "3. Run suite " + item.suite_id + " again for this certification: certlab run start --device " +
             cert.device_id + " --suite " + item.suite_id + " --certification " + cert_id + "\n";
    steps += "4. When " + item.scenario_id + " passes, have it signed off: certlab certify " + cert_id + " " +
             item.scenario_id;
    return steps;
}

record::Issue failure_issue(const record::Certification& cert, const record::PlanItem& item,
                            const record::CertResult& r, record::TimePoint now) {
    record::Issue i;
    i.certification_id = cert.id;
    i.title = item.scenario_id + " (" + item.title + ") failed in run " + std::to_string(r.run_id);
    i.next_steps = failure_next_steps(cert, item, r);
    i.severity = record::Severity::major;
    i.source = record::IssueSource::failure;
    i.scenario_id = item.scenario_id;
    i.run_id = r.run_id;
    i.scenario_result_id = r.result_id;
    i.phase = cert.phase;
    i.raised_by = "certlab";
    i.created_at = now;
    return i;
}

std::vector<record::Issue> failure_issues(const record::CertificationRecord& rec, record::TimePoint now) {
    std::vector<record::Issue> out;
    for (const auto& r : rec.results) {
        if (r.outcome != record::Outcome::fail) continue;
        if (const auto* item = plan_item(rec.cert, r)) out.push_back(failure_issue(rec.cert, *item, r, now));
    }
    return out;
}

record::Issue rejection_issue(const record::Certification& cert, const record::PlanItem& item,
                              const record::SignOff& s) {
    record::Issue i;
    i.certification_id = cert.id;
    i.title = item.scenario_id + " (" + item.title + ") rejected by " + s.by;
    i.next_steps = "1. Evaluator feedback: " + s.feedback + "\n2. Address it, then run suite " + item.suite_id +
                   " again for this certification: certlab run start --device " + cert.device_id + " --suite " +
                   item.suite_id + " --certification " + std::to_string(cert.id) + "\n3. Have " + item.scenario_id +
                   " signed off again: certlab certify " + std::to_string(cert.id) + " " + item.scenario_id;
    i.severity = record::Severity::major;
    i.source = record::IssueSource::rejection;
    i.scenario_id = item.scenario_id;
    i.scenario_result_id = s.scenario_result_id;
    i.phase = cert.phase;
    i.raised_by = s.by;
    i.created_at = s.at;
    return i;
}

}  // namespace certlab::certify
