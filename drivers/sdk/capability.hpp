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

    [[nodiscard]] const ActionSpec* action(std::string_view n) const;
};

/// Every capability the station knows, with its actions, parameters and results.
[[nodiscard]] std::span<const CapabilitySpec> capability_catalog();
[[nodiscard]] const CapabilitySpec* find_capability(std::string_view name);
/// Looks up `capability.action`; nullptr when either part is unknown.
[[nodiscard]] const ActionSpec* find_action(std::string_view qualified);

}  // namespace certlab::sdk
