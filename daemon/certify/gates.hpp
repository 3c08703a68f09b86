// The gates between a certification's phases: intake -> lab -> certified -> pilot
// -> ga, one step at a time, or back to lab to test again. Pure; unit-tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "certify/status.hpp"
#include "record/certification.hpp"

namespace certlab::certify {

/// A pilot runs with 5 to 10 merchants.
inline constexpr std::size_t pilot_min_merchants = 5;
inline constexpr std::size_t pilot_max_merchants = 10;

/// What the gates look at.
struct GateFacts {
    record::Phase phase = record::Phase::intake;
    std::vector<ScenarioStatus> statuses;  ///< one per plan item
    std::size_t merchants = 0;
    std::vector<record::Issue> issues;
};

/// The phase after `p`; nullopt after ga.
[[nodiscard]] std::optional<record::Phase> next_phase(record::Phase p);

/// Why the certification may not move to `to` now, naming everything that blocks
/// ("cannot enter certified: required scenario PRN-004 (...) is failed (...)");
/// nullopt when it may.
/// - certified: every required scenario is certified;
/// - pilot: 5 to 10 merchants are recorded;
/// - ga: no critical issue is open (those raised in the pilot above all);
/// - lab: from intake, or back from certified or pilot to test again.
[[nodiscard]] std::optional<std::string> refuse_phase_change(const GateFacts& facts, record::Phase to);

}  // namespace certlab::certify
