// A suite as loaded from lab-config/suites/*.yaml: scenarios of typed, validated
// steps. Loading checks every action, argument, expectation and unit against the
// capability catalog, so a run never meets a step it cannot execute.
#pragma once

#include "sdk/error.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "engine/prompt.hpp"
#include "record/model.hpp"
#include "sdk/capability.hpp"
#include "sdk/value.hpp"

namespace certlab::engine {

/// One check on a named result value.
struct Check {
    enum class Kind { equals, regex, range };
    std::string key;          ///< result name
    Kind kind = Kind::equals;
    sdk::Value expected;      ///< equals
    std::string pattern;      ///< regex source
    std::regex re;            ///< regex, compiled at load
    std::optional<double> min;  ///< range, in `unit`
    std::optional<double> max;  ///< range, in `unit`
    std::string unit;         ///< unit of min/max
    /// Marginal band (range checks): a value inside the limits but below `warn_below`
    /// or above `warn_above` passes with a warning, in `unit`.
    std::optional<double> warn_below;
    std::optional<double> warn_above;
    bool record = false;      ///< a `measure` (stored as a measurement) rather than an `expect`
    std::string where;        ///< file:line:column
};

/// `when:` guard: run the step only if an earlier saved value equals `expected`.
struct Condition {
    std::string save;   ///< name given by an earlier step's `save:`
    std::string key;    ///< result of that step
    sdk::Value expected;
};

/// `retry:` on a step: a bad attempt whose outcome is in `on` is recorded with its
/// cause and the step is tried again, up to `attempts` tries in all.
struct Retry {
    int attempts = 1;                 ///< tries in all; 1 = no retry
    std::vector<record::Outcome> on;  ///< outcomes that are retried
    std::chrono::microseconds delay{};
    [[nodiscard]] bool retries(record::Outcome o) const;
};

struct Step {
    enum class Kind { call, wait, prompt };
    Kind kind = Kind::call;
    const sdk::ActionSpec* action = nullptr;  ///< call: from the catalog
    std::string role = "dut";                 ///< call: which of the run's devices
    sdk::Args args;
    std::vector<Check> checks;   ///< expect and measure, in file order
    std::vector<Condition> when;
    std::string save;            ///< name under which the results are kept
    std::chrono::microseconds timeout{};  ///< bound on the whole call
    std::chrono::microseconds wait{};     ///< wait steps
    PromptSpec prompt;                    ///< prompt steps (timeout: how long to wait for an answer)
    Retry retry;
    std::string where;

    [[nodiscard]] std::string describe() const;
    [[nodiscard]] const char* describe_kind() const {
        if (kind == Kind::prompt) return "prompt";
        return kind == Kind::wait ? "wait" : "call";
    }
};

/// `power_cycle:` of a soak: before every `every`-th iteration the device in `role`
/// (a power supply wired to the dut) cuts the power for `off_time`; the dut then has
/// `settle` to come back.
struct PowerCycle {
    int every = 0;  ///< 0 = no power cycling
    std::string role = "psu";
    std::chrono::microseconds off_time{std::chrono::milliseconds(500)};
    std::chrono::microseconds settle{std::chrono::seconds(1)};
    const sdk::ActionSpec* action = nullptr;  ///< power.cycle
};

struct Scenario {
    std::string id;     ///< e.g. PRN-003
    std::string title;
    std::string description;
    /// API permissions whose certification needs this scenario; empty: the suite's.
    /// Always among the suite's `permissions`.
    std::vector<std::string> permissions;
    std::vector<Step> setup;     ///< before the first iteration (and again on resume)
    std::vector<Step> steps;     ///< one iteration
    std::vector<Step> teardown;  ///< after the last iteration, whatever happened
    /// Iterations to run; with a `duration` and no `iterations`, as many as fit.
    int iterations = 1;
    std::chrono::microseconds duration{};   ///< soak by time (from the scenario's start); 0 = none
    std::chrono::microseconds interval{};   ///< pause between iterations
    int max_failures = 1;                   ///< stop after this many iterations that did not pass
    /// Stop when more than this share of iterations did not pass (0..1), once at least
    /// `failure_rate_after` iterations ran; empty = no such rule.
    std::optional<double> max_failure_rate;
    int failure_rate_after = 20;
    PowerCycle power_cycle;
    std::chrono::microseconds timeout{};    ///< whole scenario; 0 = none
    std::string where;

    /// A soak: more than one iteration, or by time. Soaks keep running statistics.
    [[nodiscard]] bool is_soak() const { return iterations > 1 || duration.count() > 0; }
};

struct Suite {
    std::string id;
    std::string title;
    std::string version;
    std::string description;
    std::string file;
    std::string hash;    ///< sha256 of the file text (provenance)
    std::vector<std::string> requires_capabilities;  ///< of the device under test
    /// Role → capabilities its device must have. Always holds "dut" (with
    /// requires_capabilities); other roles (a psu, a scanner) are filled from the
    /// station's wiring of the device under test.
    std::map<std::string, std::vector<std::string>> roles;
    std::vector<std::string> permissions;  ///< API permissions whose certification needs it
    std::vector<Scenario> scenarios;
};

/// A suite needs a capability that is neither built in nor defined by a loaded device
/// profile (a `line` or `http` profile defines its own): on a bench without such a
/// profile the suite cannot run, but the bench is not misconfigured either.
class MissingCapability : public sdk::ConfigError {
public:
    using sdk::ConfigError::ConfigError;
};

/// Loads and validates one suite file; throws sdk::ConfigError("file:line:col: ..."),
/// MissingCapability for a capability no one defined.
Suite load_suite(const std::filesystem::path& file);
/// Same, from text (tests).
Suite parse_suite(std::string_view text, const std::string& name);
/// Every *.yaml under the directories; a duplicate suite id is an error. A suite
/// throwing MissingCapability is left out, and its message (file:line:column, the
/// capability) goes to `skipped`, or to the log as a warning when `skipped` is null.
std::vector<Suite> load_suites(const std::vector<std::filesystem::path>& dirs,
                               std::vector<std::string>* skipped = nullptr);

}  // namespace certlab::engine
