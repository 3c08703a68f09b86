// An action a device profile defines for a generic driver (`line`, `http`). Light on
// purpose: the configuration loader includes it without the coroutine machinery.
#pragma once

#include <string>

#include "sdk/capability.hpp"
#include "sdk/settings.hpp"

namespace certlab::sdk {

/// One entry of a device profile's `actions:` for a driver that takes its actions
/// from the profile (DriverInfo::profile_actions, e.g. `line`, `http`): the catalog
/// action it implements and the driver's own fields written under it (`send`,
/// `expect`, `path`, `results.<name>.pointer`, ...), each with its file:line:column.
struct ProfileAction {
    std::string name;                   ///< `capability.action`, or `identify`
    const ActionSpec* spec = nullptr;   ///< nullptr for `identify`
    std::string where;                  ///< file:line:column of its key
    Settings fields;
};

}  // namespace certlab::sdk
