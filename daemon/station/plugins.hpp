// Loads driver plugins (`.so` files, drivers/sdk/plugin.hpp) into the driver registry.
// A plugin that cannot be loaded is refused with the reason; nothing it offered is
// registered, and the daemon carries on with the drivers it has.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/station_config.hpp"
#include "sdk/registry.hpp"

namespace certlab::station {

/// Loads every `*.so` in `dirs` (each directory in name order). Drivers of accepted
/// plugins are added to `registry`; accepted plugins stay loaded until the process ends.
[[nodiscard]] std::vector<config::PluginLoad> load_plugins(const std::vector<std::filesystem::path>& dirs,
                                                           sdk::Registry& registry);

/// Loads one plugin file; see load_plugins.
[[nodiscard]] config::PluginLoad load_plugin(const std::filesystem::path& file, sdk::Registry& registry);

}  // namespace certlab::station
