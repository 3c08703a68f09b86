// The certification desk: intake, sign-off, issues, merchants and phase changes
// over the store, each checked against the rules of plan.hpp, status.hpp and
// gates.hpp before it is written. Every change is committed before it returns.
// Used on the station's thread (the API and the run lifecycle).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "certify/plan.hpp"
#include "certify/status.hpp"
#include "record/certification.hpp"

namespace certlab::record {
class Store;
}

namespace certlab::certify {

/// A request the record refuses; the message says why in the user's terms.
class Refusal : public std::runtime_error {
public:
    enum class Kind {
        not_found,  ///< no such certification, scenario in its plan, or issue
        invalid,    ///< the request cannot make sense (unknown permission, empty title)
        conflict,   ///< not now: a gate, a phase, a status stands in the way
    };
    Refusal(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    [[nodiscard]] Kind kind() const { return kind_; }

private:
    Kind kind_;
};

struct IntakeRequest {
    std::string partner;
    std::string integration;
    std::string device_model;
    std::string serial_number;
    std::string firmware;
    std::string device_id;                 ///< the station device it is tested as
    std::vector<std::string> permissions;
    std::string by;                        ///< who took it in
};

/// A certification as people look at it: the record, each planned scenario's
/// status, and whether the next phase is open.
struct CertificationView {
    record::CertificationRecord record;
    std::vector<ScenarioStatus> statuses;  ///< in plan order
    std::optional<record::Phase> next;     ///< nullopt after ga
    std::optional<std::string> next_blocked_by;  ///< why `next` cannot be entered now
};

class Desk {
public:
    using Clock = std::function<record::TimePoint()>;
    /// `suites`: the station's suites, for plans. `clock` stamps every change.
    Desk(record::Store& store, std::vector<SuiteMeta> suites, Clock clock = {});

    /// Records a certification and its plan for a device with `device_capabilities`.
    /// Refused (invalid) when a field is empty or no plan can be made.
    record::Certification intake(const IntakeRequest& request, const std::vector<std::string>& device_capabilities);
    [[nodiscard]] std::vector<CertificationView> list() const;
    [[nodiscard]] CertificationView view(std::int64_t id) const;

    /// The evaluator certifies the scenario's latest result; only a `passed`
    /// scenario can be, and only in phase lab. Closes its failure and rejection issues.
    record::SignOff certify(std::int64_t id, const std::string& scenario, const std::string& by);
    /// The evaluator rejects a passed (or certified) scenario with feedback, which
    /// becomes an outstanding issue. Only in phase lab.
    std::pair<record::SignOff, record::Issue> reject(std::int64_t id, const std::string& scenario,
                                                     const std::string& by, const std::string& feedback);

    /// Records an issue by hand: title, next_steps, severity, scenario_id (optional,
    /// must be planned), raised_by are taken from `draft`.
    record::Issue add_issue(std::int64_t id, record::Issue draft);
    record::Issue close_issue(std::int64_t id, std::int64_t issue_id, const std::string& by,
                              const std::string& resolution);
    /// A pilot merchant; at most pilot_max_merchants, names unique.
    record::Merchant add_merchant(std::int64_t id, const std::string& name, const std::string& location,
                                  const std::string& by);
    /// Moves to `to` when its gate is open (gates.hpp); refused (conflict) naming what blocks.
    record::PhaseChange change_phase(std::int64_t id, record::Phase to, const std::string& by,
                                     const std::string& note);

    /// Whether a run of `suite_id` on `device_id` (which reports `device_firmware`)
    /// may count for the certification; throws Refusal when not.
    void check_run(std::int64_t id, const std::string& device_id, const std::string& suite_id,
                   const std::string& device_firmware) const;
    /// A run for the certification began: a certification still in intake is now in the lab.
    void run_started(std::int64_t id, std::int64_t run_id);
    /// Raises an issue for every failed required scenario not yet raised (after a
    /// run ends); returns the new ones.
    std::vector<record::Issue> sync_issues(std::int64_t id);
    /// sync_issues for every certification (at start: a run may have ended just
    /// before a crash); returns how many issues were raised.
    std::size_t sync_all();

private:
    [[nodiscard]] record::CertificationRecord read(std::int64_t id) const;
    [[nodiscard]] CertificationView make_view(record::CertificationRecord rec) const;
    [[nodiscard]] record::TimePoint now() const { return clock_(); }

    record::Store& store_;
    std::vector<SuiteMeta> suites_;
    Clock clock_;
};

}  // namespace certlab::certify
