// Capabilities: the interfaces suites are written against. Data, not drivers.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace certlab::sdk {

enum class ValueType { boolean, integer, number, string, string_list };

[[nodiscard]] std::string_view to_string(ValueType t);

struct ParamSpec {
    std::string name;
    ValueType type;
    bool required = false;
    std::string doc;
};

struct ResultSpec {
    std::string name;
    ValueType type;
    std::string unit;  ///< unit symbol the value is reported in ("" if unitless)
    std::string doc;
};

struct ActionSpec {
    std::string capability;
    std::string name;
    std::string doc;
    std::vector<ParamSpec> params;
    std::vector<ResultSpec> results;

    /// `capability.action`, as a suite names it.
    [[nodiscard]] std::string qualified() const { return capability + "." + name; }
    [[nodiscard]] const ParamSpec* param(std::string_view n) const;
    [[nodiscard]] const ResultSpec* result(std::string_view n) const;
};

struct CapabilitySpec {
    std::string name;
    std::string doc;
    std::vector<ActionSpec> actions;
    /// Where a profile-defined capability was first defined ("profile X, file:line:column");
    /// empty for the built-in ones.
    std::string origin;

    [[nodiscard]] const ActionSpec* action(std::string_view n) const;
};

/// The built-in capabilities, with their actions, parameters and results.
[[nodiscard]] std::span<const CapabilitySpec> capability_catalog();

/// Adds a capability a device profile defines for a driver whose actions come from
/// the profile (`line`, `http`). Append-only: what it returns lives as long as the
/// process, so suites may keep pointers into it. Defining a capability again with the
/// same actions, parameters and results returns the earlier definition; a built-in
/// name or a different definition throws std::invalid_argument saying what differs
/// and where the first definition is.
const CapabilitySpec& define_capability(CapabilitySpec spec);
/// Every capability: the built-in ones, then those profiles defined, in order.
[[nodiscard]] std::vector<const CapabilitySpec*> all_capabilities();
/// What differs between two definitions of a capability ("" when they are the same).
[[nodiscard]] std::string capability_difference(const CapabilitySpec& a, const CapabilitySpec& b);

/// Looks a capability up among all of them (built in and defined).
[[nodiscard]] const CapabilitySpec* find_capability(std::string_view name);
/// Looks up `capability.action`; nullptr when either part is unknown.
[[nodiscard]] const ActionSpec* find_action(std::string_view qualified);

}  // namespace certlab::sdk
