// A device profile's `actions:`: how a generic driver (`line`, `http`) implements
// catalog actions, and the capabilities a profile defines for a partner's device.
#pragma once

#include <string>
#include <vector>

#include "config/yaml_util.hpp"
#include "sdk/profile_action.hpp"

namespace certlab::config {

/// Reads `actions:` of profile `profile_id`. Each key is `capability.action` or
/// `identify`. An action of a built-in capability takes its parameters and results
/// from the catalog; any other capability is defined here (sdk::define_capability)
/// with `doc`, `params` and `results`, and must be defined the same way by every
/// profile that names it. Every other key under an action is a driver field, kept
/// with its location (`results.<name>.<key>` for keys under a result). A profile that
/// implements a built-in capability implements all its actions. Fails with
/// file:line:column on anything else.
[[nodiscard]] std::vector<sdk::ProfileAction> read_profile_actions(const YamlFile& f, const YAML::Node& actions,
                                                                   const std::string& profile_id);

/// The capabilities the actions implement, in the order they first appear.
[[nodiscard]] std::vector<std::string> capabilities_of(const std::vector<sdk::ProfileAction>& actions);

}  // namespace certlab::config
