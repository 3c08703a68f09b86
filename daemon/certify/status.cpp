#include "certify/status.hpp"

namespace certlab::certify {

std::string_view to_string(State s) {
    switch (s) {
        case State::not_run: return "not_run";
        case State::inconclusive: return "inconclusive";
        case State::passed: return "passed";
        case State::failed: return "failed";
        case State::certified: return "certified";
        case State::rejected: return "rejected";
    }
    return "not_run";
}

std::vector<ScenarioStatus> derive_statuses(const std::vector<record::PlanItem>& plan,
                                            const std::vector<record::CertResult>& results,
                                            const std::vector<record::SignOff>& signoffs) {
    std::vector<ScenarioStatus> out;
    out.reserve(plan.size());
    for (const auto& item : plan) {
        ScenarioStatus st{item, State::not_run, {}, {}, {}, 0};
        for (const auto& r : results) {
            if (r.suite_id != item.suite_id || r.scenario_id != item.scenario_id) continue;
            ++st.attempts;
            if (!st.latest || r.result_id > st.latest->result_id) st.latest = r;
            // Only pass and fail are the device's doing; a station fault leaves the
            // earlier evidence standing.
            const bool verdict = r.outcome == record::Outcome::pass || r.outcome == record::Outcome::fail;
            if (verdict && (!st.evidence || r.result_id > st.evidence->result_id)) st.evidence = r;
        }
        if (st.evidence) {
            st.state = st.evidence->outcome == record::Outcome::pass ? State::passed : State::failed;
            for (const auto& s : signoffs) {
                if (s.scenario_id != item.scenario_id || s.scenario_result_id != st.evidence->result_id) continue;
                if (!st.signoff || s.id > st.signoff->id) st.signoff = s;
            }
            if (st.signoff)
                st.state = st.signoff->verdict == record::Verdict::certified ? State::certified : State::rejected;
        } else if (st.latest) {
            st.state = State::inconclusive;
        }
        out.push_back(std::move(st));
    }
    return out;
}

std::string describe(const ScenarioStatus& s) {
    std::string text = s.item.scenario_id + " (" + s.item.title + ") is ";
    switch (s.state) {
        case State::not_run:
            return text + "not run yet (run suite " + s.item.suite_id + " for this certification)";
        case State::inconclusive:
            return text + "inconclusive: run " + std::to_string(s.latest->run_id) + " ended " +
                   std::string(record::to_string(s.latest->outcome)) +
                   (s.latest->reason.empty() ? std::string() : " (" + s.latest->reason + ")") +
                   ", a station fault; run it again";
        case State::passed:
            return text + "passed in run " + std::to_string(s.evidence->run_id) + ", awaiting sign-off";
        case State::failed:
            return text + "failed (run " + std::to_string(s.evidence->run_id) +
                   (s.evidence->reason.empty() ? std::string() : ": " + s.evidence->reason) + ")";
        case State::certified:
            return text + "certified by " + s.signoff->by;
        case State::rejected:
            return text + "rejected by " + s.signoff->by +
                   (s.signoff->feedback.empty() ? std::string() : ": " + s.signoff->feedback);
    }
    return text + std::string(to_string(s.state));
}

}  // namespace certlab::certify
