// A planned scenario's status, derived from the results of the certification's
// runs and the evaluator's sign-offs - never typed in by hand. Pure; unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "record/certification.hpp"

namespace certlab::certify {

/// not_run: no result yet. inconclusive: only results that say nothing about the
/// device (error, timeout, aborted, skipped: the station's faults). passed: the latest
/// pass/fail result passed, awaiting sign-off. failed: it failed. certified /
/// rejected: the evaluator's verdict on that latest pass/fail result.
enum class State { not_run, inconclusive, passed, failed, certified, rejected };

[[nodiscard]] std::string_view to_string(State s);

struct ScenarioStatus {
    record::PlanItem item;
    State state = State::not_run;
    /// The most recent pass or fail result: what the state rests on.
    std::optional<record::CertResult> evidence;
    /// The most recent ended result of any outcome.
    std::optional<record::CertResult> latest;
    /// The verdict on `evidence` (state certified or rejected), if any.
    std::optional<record::SignOff> signoff;
    int attempts = 0;  ///< ended results of this scenario in the certification's runs
};

/// One status per plan item, in plan order. A result belongs to an item when its
/// suite and scenario id match; later results supersede earlier ones (result ids
/// grow), and a sign-off counts only for the result it judged.
[[nodiscard]] std::vector<ScenarioStatus> derive_statuses(const std::vector<record::PlanItem>& plan,
                                                          const std::vector<record::CertResult>& results,
                                                          const std::vector<record::SignOff>& signoffs);

/// "PRN-004 (Paper-out is detected) is failed (run 7: step 2 printer.print: ...)",
/// the words gate refusals and sign-off refusals use.
[[nodiscard]] std::string describe(const ScenarioStatus& s);

}  // namespace certlab::certify
