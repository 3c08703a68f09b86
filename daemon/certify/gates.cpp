#include "certify/gates.hpp"

namespace certlab::certify {

namespace {

using record::Phase;

std::string phase_name(Phase p) { return std::string(record::to_string(p)); }

std::optional<std::string> certified_gate(const GateFacts& f) {
    if (f.statuses.empty()) return "cannot enter certified: the plan requires no scenario";
    std::string blockers;
    int n = 0;
    for (const auto& s : f.statuses) {
        if (s.state == State::certified) continue;
        blockers += (blockers.empty() ? "" : "; ") + std::string("required scenario ") + describe(s);
        ++n;
    }
    if (n == 0) return std::nullopt;
    return "cannot enter certified: " + blockers;
}

std::optional<std::string> pilot_gate(const GateFacts& f) {
    const auto n = f.merchants;
    if (n >= pilot_min_merchants && n <= pilot_max_merchants) return std::nullopt;
    std::string msg = "cannot enter pilot: " + std::to_string(n) + (n == 1 ? " merchant is" : " merchants are") +
                      " recorded; a pilot needs " + std::to_string(pilot_min_merchants) + " to " +
                      std::to_string(pilot_max_merchants);
    if (n < pilot_min_merchants) msg += " (record " + std::to_string(pilot_min_merchants - n) + " more)";
    return msg;
}

std::optional<std::string> ga_gate(const GateFacts& f) {
    std::string open;
    for (const auto& i : f.issues) {
        if (i.severity != record::Severity::critical || i.status != record::IssueStatus::open) continue;
        open += (open.empty() ? "" : "; ") + std::string("critical issue ") + std::to_string(i.id) + " (" + i.title +
                ", raised in " + phase_name(i.phase) + ") is open";
    }
    if (open.empty()) return std::nullopt;
    return "cannot enter ga: " + open;
}

}  // namespace

std::optional<Phase> next_phase(Phase p) {
    switch (p) {
        case Phase::intake: return Phase::lab;
        case Phase::lab: return Phase::certified;
        case Phase::certified: return Phase::pilot;
        case Phase::pilot: return Phase::ga;
        case Phase::ga: return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::string> refuse_phase_change(const GateFacts& f, Phase to) {
    if (to == f.phase) return "the certification is already in phase " + phase_name(to);
    if (to == Phase::lab && (f.phase == Phase::certified || f.phase == Phase::pilot)) return std::nullopt;
    if (next_phase(f.phase) != to) {
        std::string msg = "cannot go from " + phase_name(f.phase) + " to " + phase_name(to) +
                          ": phases go intake, lab, certified, pilot, ga, one at a time";
        if (auto next = next_phase(f.phase)) msg += " (next is " + phase_name(*next) + ")";
        return msg;
    }
    switch (to) {
        case Phase::lab: return f.statuses.empty() ? std::optional<std::string>("cannot enter lab: the plan is empty")
                                                   : std::nullopt;
        case Phase::certified: return certified_gate(f);
        case Phase::pilot: return pilot_gate(f);
        case Phase::ga: return ga_gate(f);
        case Phase::intake: break;
    }
    return "cannot go back to intake";
}

}  // namespace certlab::certify
