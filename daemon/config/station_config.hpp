// The station's configuration: station.yaml plus the device profiles it points at.
// Plain typed structs; loading validates everything and reports file:line:column.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/api_config.hpp"
#include "config/upload_config.hpp"
#include "inventory/match_spec.hpp"
#include "sdk/profile_action.hpp"
#include "sdk/settings.hpp"

namespace certlab::config {

/// A serial option as written (baud, parity, ...), kept with its location so a
/// late check can still say where it came from.
struct SerialSetting {
    std::string key;
    std::string value;
    std::string where;
};

/// lab-config/devices/*.yaml: how to recognise and drive one kind of device.
struct DeviceProfile {
    std::string id;
    std::string file;
    std::string where;                      ///< file:line:column of its `profile:` value
    std::string description;
    std::string driver;                     ///< registered driver name
    std::vector<std::string> capabilities;  ///< subset of the driver's (empty = all)
    std::vector<SerialSetting> serial;      ///< default line settings for serial links
    sdk::Settings settings;                 ///< driver settings
    std::vector<sdk::ProfileAction> actions;  ///< `actions:` of a driver that takes them from the profile
    std::optional<inventory::MatchSpec> match;  ///< how discovery recognises it (none: static only)
};

/// A device declared in station.yaml.
struct DeviceConfig {
    std::string id;
    std::string profile;
    std::string address;                 ///< transport address, e.g. tcp:127.0.0.1:9100
    std::string where;                   ///< file:line:column of the entry
    std::vector<SerialSetting> serial;   ///< overrides the profile's
    sdk::Settings settings;              ///< overrides the profile's
};

/// What the discovery watchers look at (station.yaml `discovery:`).
struct DiscoveryConfig {
    bool serial = false;
    std::vector<std::string> serial_paths;
    std::vector<std::string> serial_globs;
    std::vector<std::string> serial_exclude;
    bool serial_enumerate = true;
    std::chrono::milliseconds serial_poll{500};
    bool net = false;
    std::vector<std::string> net_hosts;
    std::vector<std::string> net_cidrs;
    std::vector<std::uint16_t> net_ports;
    double net_rate = 50;                    ///< [connects/s]
    std::chrono::milliseconds net_interval{5000};
    bool usb = false;                          ///< `usb:` present and not `enabled: false`
    std::chrono::milliseconds usb_rescan{2000};  ///< full rescan; a safety net beside hotplug
    std::vector<std::string> mdns_types;       ///< DNS-SD types browsed (none: no mDNS)
    std::string mdns_domain = "local";
    std::chrono::milliseconds mdns_daemon_loss_grace{15000};
    std::chrono::milliseconds mdns_retry{5000};
    std::string where;                       ///< file:line:column of `discovery:`
};

/// Which devices fill a suite's other roles when a device is under test
/// (station.yaml `wiring:`): the bench's cabling, e.g. printer-1's outlet on psu-1.
struct Wiring {
    std::string dut;                          ///< device id, or a glob of ids (discovered devices)
    std::map<std::string, std::string> roles; ///< role -> declared device id
    std::string where;                        ///< file:line:column of the entry
};

/// What became of one plugin file found in a `plugins:` directory.
struct PluginLoad {
    std::filesystem::path file;
    std::vector<std::string> drivers;  ///< drivers it registered (none when refused)
    std::string refused;               ///< why it was refused; empty when it loaded
};

/// Loads the driver plugins of the given directories (station/plugins.hpp).
using PluginLoader = std::function<std::vector<PluginLoad>(const std::vector<std::filesystem::path>& dirs)>;

struct StationConfig {
    std::filesystem::path file;
    std::string station_id = "station";
    std::string api_bind = "127.0.0.1";
    std::uint16_t api_port = 8470;
    ApiConfig api;                       ///< access control, TLS, request limits
    UploadConfig upload;                 ///< where results go (the certification record)
    std::filesystem::path store_path;
    bool store_sync_full = true;         ///< fsync every commit (power-loss safe)
    std::string log_level = "info";
    /// `log.file`: log to this file, rotated, when not under systemd (empty: stderr).
    std::filesystem::path log_file;
    std::uint64_t log_max_size = 10 * 1024 * 1024;  ///< [bytes] rotate past this size
    int log_max_files = 5;                          ///< rotated files kept beside the current one
    std::chrono::milliseconds reconnect_interval{2000};  ///< retry a lost device this often
    std::chrono::seconds shutdown_grace{10};             ///< wait this long for runs to stop
    int quarantine_after = 5;  ///< consecutive link faults before a device is quarantined (0 = never)
    /// How long a run waits for a device of its that is lost (or not up yet) before
    /// its step, or the run if it has not started, ends in `error`.
    std::chrono::milliseconds lost_wait{10000};
    /// Runs cut by a crash or kill go on at the next start (a soak at its next
    /// iteration); off: they are marked `interrupted`.
    bool resume_interrupted = true;
    std::vector<std::filesystem::path> profile_dirs;
    std::vector<std::filesystem::path> suite_dirs;
    std::vector<std::filesystem::path> plugin_dirs;  ///< `plugins:` directories of driver .so files
    std::vector<PluginLoad> plugins;                 ///< what loading them came to
    std::map<std::string, DeviceProfile> profiles;
    std::vector<DeviceConfig> devices;
    std::vector<Wiring> wiring;          ///< exact ids first, then globs in file order
    DiscoveryConfig discovery;
};

/// Loads station.yaml and every profile under its profile directories. Throws
/// sdk::ConfigError("file:line:column: what was expected") on the first problem.
/// `plugin_loader` gets the `plugins:` directories before any profile is read, so
/// profiles may name the drivers plugins bring; without it no plugin is loaded.
StationConfig load_station_config(const std::filesystem::path& file, const PluginLoader& plugin_loader = {});

/// The wiring entry for a device under test: its exact id first, then the first glob
/// that matches; nullptr when it has none.
[[nodiscard]] const Wiring* find_wiring(const StationConfig& cfg, const std::string& device_id);

/// Loads one profile file (also used by `certlabd --check-config`).
DeviceProfile load_profile(const std::filesystem::path& file);

}  // namespace certlab::config
