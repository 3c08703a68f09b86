// The certification record's model: a partner device taken in for certification,
// its plan (the scenarios its API permissions require), evaluator sign-offs,
// outstanding issues, pilot merchants and the phases it went through. Plain data;
// the store persists it, certify/ derives statuses and checks phase gates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "record/model.hpp"

namespace certlab::record {

/// intake -> lab -> certified -> pilot -> ga, each step behind a gate (certify/gates.hpp).
enum class Phase { intake, lab, certified, pilot, ga };
enum class Verdict { certified, rejected };
enum class Severity { critical, major, minor };
enum class IssueStatus { open, closed };
/// Where an outstanding issue came from: a failed required scenario in a run, an
/// evaluator's rejection, or a person who wrote it down.
enum class IssueSource { failure, rejection, manual };

[[nodiscard]] std::string_view to_string(Phase p);
[[nodiscard]] std::string_view to_string(Verdict v);
[[nodiscard]] std::string_view to_string(Severity s);
[[nodiscard]] std::string_view to_string(IssueStatus s);
[[nodiscard]] std::string_view to_string(IssueSource s);
/// Names as spelled by to_string (phase also accepts upper case: "GA").
[[nodiscard]] std::optional<Phase> parse_phase(std::string_view s);
[[nodiscard]] std::optional<Verdict> parse_verdict(std::string_view s);
[[nodiscard]] std::optional<Severity> parse_severity(std::string_view s);
[[nodiscard]] std::optional<IssueStatus> parse_issue_status(std::string_view s);
[[nodiscard]] std::optional<IssueSource> parse_issue_source(std::string_view s);

/// One scenario the certification requires, and why.
struct PlanItem {
    std::string scenario_id;               ///< e.g. PRN-004; unique within a plan
    std::string suite_id;                  ///< the suite whose runs produce its results
    std::string title;
    std::vector<std::string> permissions;  ///< the certification's permissions that require it
    std::vector<std::string> roles;        ///< other devices its suite needs (psu, ...), besides the dut
    bool operator==(const PlanItem&) const = default;
};

struct Certification {
    std::int64_t id = 0;
    std::string partner;
    std::string integration;
    std::string device_model;
    std::string serial_number;
    std::string firmware;                   ///< as declared at intake
    std::string device_id;                  ///< the station device it is tested as
    std::vector<std::string> permissions;   ///< API permissions to certify, as given
    std::vector<std::string> capabilities;  ///< the device's, when the plan was made
    std::string taken_in_by;
    Phase phase = Phase::intake;
    TimePoint created_at{};
    TimePoint phase_since{};
    std::vector<PlanItem> plan;             ///< in suite and scenario order
};

/// An evaluator's verdict on one result of a planned scenario.
struct SignOff {
    std::int64_t id = 0;
    std::int64_t certification_id = 0;
    std::string scenario_id;
    Verdict verdict = Verdict::certified;
    std::string by;
    std::string feedback;                   ///< why, for a rejection; may be empty
    TimePoint at{};
    std::int64_t scenario_result_id = 0;    ///< the result that was judged
};

struct Issue {
    std::int64_t id = 0;
    std::int64_t certification_id = 0;
    std::string title;
    std::string next_steps;
    Severity severity = Severity::major;
    IssueSource source = IssueSource::manual;
    std::string scenario_id;                ///< may be empty for a manual issue
    std::optional<std::int64_t> run_id;     ///< failure: the run it failed in
    std::optional<std::int64_t> scenario_result_id;
    IssueStatus status = IssueStatus::open;
    Phase phase = Phase::intake;            ///< the certification's phase when it was raised
    std::string raised_by;
    TimePoint created_at{};
    std::optional<TimePoint> closed_at;
    std::string closed_by;
    std::string resolution;
};

/// A merchant who runs the integration in the pilot.
struct Merchant {
    std::int64_t id = 0;
    std::int64_t certification_id = 0;
    std::string name;
    std::string location;
    std::string added_by;
    TimePoint added_at{};
};

struct PhaseChange {
    std::int64_t certification_id = 0;
    std::optional<Phase> from;              ///< empty for the intake itself
    Phase to = Phase::intake;
    std::string by;
    std::string note;
    TimePoint at{};
};

/// One ended scenario result of a run made for a certification, with the run's
/// provenance: what status derivation and issue creation read.
struct CertResult {
    std::int64_t result_id = 0;
    std::int64_t run_id = 0;
    std::string suite_id;
    std::string scenario_id;
    std::string title;
    Outcome outcome = Outcome::pass;
    std::string reason;
    std::optional<TimePoint> ended_at;
    std::string device_id;
    std::string firmware;                   ///< what the device reported when the run started
};

/// Everything recorded about one certification, read in one snapshot.
struct CertificationRecord {
    Certification cert;
    std::vector<CertResult> results;        ///< oldest first
    std::vector<SignOff> signoffs;          ///< oldest first
    std::vector<Issue> issues;              ///< oldest first
    std::vector<Merchant> merchants;        ///< oldest first
    std::vector<PhaseChange> history;       ///< oldest first; the first is the intake
};

}  // namespace certlab::record
