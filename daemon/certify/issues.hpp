// Outstanding issues the record raises by itself: one for every failed required
// scenario of a certification's runs, and one for every rejection, each with next
// steps drawn from what went wrong. Pure; unit-tested.
#pragma once

#include <string>
#include <vector>

#include "record/certification.hpp"

namespace certlab::certify {

/// Next steps for a failed result: what failed and why, a hint from the kind of
/// failure, how to re-run it for this certification, and the sign-off that follows.
[[nodiscard]] std::string failure_next_steps(const record::Certification& cert, const record::PlanItem& item,
                                             const record::CertResult& result);

/// The issue a failed result of a planned scenario becomes (severity major).
[[nodiscard]] record::Issue failure_issue(const record::Certification& cert, const record::PlanItem& item,
                                          const record::CertResult& result, record::TimePoint now);

/// Every failed result of a planned scenario as its issue, oldest first. The store
/// keeps one per certification, run and scenario, so passing all of them again is
/// harmless.
[[nodiscard]] std::vector<record::Issue> failure_issues(const record::CertificationRecord& rec,
                                                        record::TimePoint now);

/// The issue an evaluator's rejection becomes; its next steps are the feedback.
[[nodiscard]] record::Issue rejection_issue(const record::Certification& cert, const record::PlanItem& item,
                                            const record::SignOff& rejection);

}  // namespace certlab::certify
