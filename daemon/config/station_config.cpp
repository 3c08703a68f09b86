#include "config/station_config.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <fnmatch.h>
#include <iterator>
#include <set>

#include "config/profile_actions.hpp"
#include "config/yaml_util.hpp"
#include "inventory/match_config.hpp"
#include "sdk/registry.hpp"
#include "transport/address.hpp"

namespace certlab::config {
namespace fs = std::filesystem;

namespace {

fs::path resolve(const fs::path& base_file, const std::string& p) {
    fs::path path(p);
    return path.is_absolute() ? path : (base_file.parent_path() / path).lexically_normal();
}

/// "10MiB", "512KiB", "1GiB", "2MB", "4096" (bytes) -> bytes; 0 when malformed.
std::uint64_t parse_size(const std::string& text) {
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr == text.data()) return 0;
    std::string unit(ptr, text.data() + text.size());
    unit.erase(0, unit.find_first_not_of(' '));
    static const std::map<std::string, std::uint64_t, std::less<>> units{
        {"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"kB", 1000}, {"KB", 1000}, {"MB", 1000'000}, {"GB", 1000'000'000}};
    auto it = units.find(unit);
    if (it == units.end() || n > (std::uint64_t{1} << 40) / it->second) return 0;
    return n * it->second;
}

bool valid_id(std::string_view id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

std::string require_id(const YamlFile& f, const YAML::Node& map, std::string_view key,
                       std::string_view what) {
    auto id = f.get_string(map, key, what);
    if (!valid_id(id))
        f.fail(map[std::string(key)], std::string(key) +
                                          ": expected letters, digits, '-', '_' or '.', got '" +
                                          id + "'");
    return id;
}

/// Reads `serial:` and checks each option now, so a bad baud fails at start.
std::vector<SerialSetting> read_serial(const YamlFile& f, const YAML::Node& parent) {
    std::vector<SerialSetting> out;
    auto n = parent["serial"];
    if (!n) return out;
    f.check_keys(n, {"baud", "data_bits", "parity", "stop_bits", "flow"}, "serial");
    transport::SerialOptions probe;
    for (const auto& kv : n) {
        SerialSetting s{kv.first.as<std::string>(), f.scalar(kv.second, kv.first.as<std::string>()),
                        f.where(kv.second)};
        try {
            transport::apply_serial_option(probe, s.key, s.value);
        } catch (const sdk::ConfigError& e) {
            f.fail(kv.second, e.what());
        }
        out.push_back(std::move(s));
    }
    return out;
}

sdk::Settings read_settings(const YamlFile& f, const YAML::Node& parent) {
    sdk::Settings settings;
    auto n = parent["settings"];
    if (!n) return settings;
    f.require_map(n, "settings");
    for (const auto& kv : n) {
        auto key = kv.first.as<std::string>();
        settings.set(key, f.scalar(kv.second, key), f.where(kv.second));
    }
    return settings;
}

void load_profiles_from(StationConfig& cfg, const fs::path& dir, const YamlFile& station,
                        const YAML::Node& at) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        station.fail(at, "profiles: expected a directory, '" + dir.string() + "' is not one");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        auto p = load_profile(file);
        if (auto it = cfg.profiles.find(p.id); it != cfg.profiles.end())
            throw sdk::ConfigError(p.where + ": profile: '" + p.id + "' is already defined at " +
                                   it->second.where);
        cfg.profiles.emplace(p.id, std::move(p));
    }
}

/// `wiring:` maps a device under test (id or glob of ids) to the devices in its
/// other roles, which must be declared in `devices:` (a power supply or a scanner on
/// the bench is cabled, not discovered). Exact ids are listed before globs.
void read_wiring(StationConfig& cfg, const YamlFile& f, const YAML::Node& wiring) {
    if (!wiring || wiring.IsNull()) return;
    f.require_map(wiring, "wiring");
    std::vector<Wiring> exact, globs;
    for (const auto& entry : wiring) {
        Wiring w;
        w.dut = entry.first.as<std::string>();
        w.where = f.where(entry.first);
        const bool glob = w.dut.find_first_of("*?[") != std::string::npos;
        if (!glob && !valid_id(w.dut))
            f.fail(entry.first, "wiring: expected a device id or a glob of ids, got '" + w.dut + "'");
        f.require_map(entry.second, "wiring of " + w.dut);
        for (const auto& kv : entry.second) {
            const auto role = kv.first.as<std::string>();
            if (role == "dut") f.fail(kv.first, "wiring: 'dut' is the device under test itself");
            const auto target = f.scalar(kv.second, "wiring " + w.dut + "." + role);
            const bool declared = std::any_of(cfg.devices.begin(), cfg.devices.end(),
                                              [&](const DeviceConfig& d) { return d.id == target; });
            if (!declared)
                f.fail(kv.second, "wiring: " + role + ": expected a device declared in 'devices:', got '" + target + "'");
            if (target == w.dut) f.fail(kv.second, "wiring: " + role + ": a device cannot be wired to itself");
            w.roles[role] = target;
        }
        (glob ? globs : exact).push_back(std::move(w));
    }
    cfg.wiring = std::move(exact);
    cfg.wiring.insert(cfg.wiring.end(), std::make_move_iterator(globs.begin()), std::make_move_iterator(globs.end()));
}

}  // namespace

const Wiring* find_wiring(const StationConfig& cfg, const std::string& device_id) {
    for (const auto& w : cfg.wiring)
        if (w.dut == device_id || fnmatch(w.dut.c_str(), device_id.c_str(), 0) == 0) return &w;
    return nullptr;
}

DeviceProfile load_profile(const fs::path& file) {
    auto f = YamlFile::load(file);
    const auto& root = f.root();
    f.check_keys(root, {"profile", "description", "driver", "capabilities", "serial", "settings", "match",
                        "priority", "probe", "identify", "actions"},
                 "device profile");
    DeviceProfile p;
    p.file = file.string();
    p.id = require_id(f, root, "profile", "device profile");
    p.where = f.where(root["profile"]);
    p.description = f.get_string(root, "description", "device profile", "");
    p.driver = f.get_string(root, "driver", "device profile");
    const auto* info = sdk::Registry::instance().find(p.driver);
    if (!info) {
        std::string known;
        for (const auto& d : sdk::Registry::instance().all()) known += (known.empty() ? "" : ", ") + d.name;
        f.fail(root["driver"], "driver: expected a known driver (" + known + "), got '" + p.driver + "'");
    }
    // What the driver offers: its own capabilities, or those the profile's actions implement.
    std::vector<std::string> offered = info->capabilities;
    if (info->profile_actions) {
        if (!root["actions"])
            f.fail(root, "device profile: driver '" + p.driver + "' takes its actions from the profile; missing key 'actions'");
        p.actions = read_profile_actions(f, root["actions"], p.id);
        offered = capabilities_of(p.actions);
    } else if (root["actions"]) {
        f.fail(root["actions"], "actions: driver '" + p.driver +
                                    "' has actions of its own; only drivers such as line and http take them from the profile");
    }
    p.capabilities = f.get_string_list(root, "capabilities");
    for (std::size_t i = 0; i < p.capabilities.size(); ++i) {
        const auto& cap = p.capabilities[i];
        if (std::find(offered.begin(), offered.end(), cap) == offered.end()) {
            auto node = root["capabilities"].IsSequence() ? root["capabilities"][i] : root["capabilities"];
            f.fail(node, "capabilities: driver '" + p.driver + "' does not provide '" + cap + "'" +
                             (info->profile_actions ? " (no action of the profile implements it)" : ""));
        }
    }
    if (p.capabilities.empty()) p.capabilities = offered;
    p.serial = read_serial(f, root);
    p.settings = read_settings(f, root);
    if (root["match"]) p.match = inventory::read_profile_match(f, root);
    return p;
}

StationConfig load_station_config(const fs::path& file, const PluginLoader& plugin_loader) {
    auto f = YamlFile::load(file);
    const auto& root = f.root();
    f.check_keys(root, {"station", "store", "api", "upload", "log", "profiles", "suites", "devices", "wiring", "discovery",
                  "plugins"},
                 "station config");
    StationConfig cfg;
    cfg.file = fs::absolute(file);

    if (auto st = root["station"]) {
        f.check_keys(st, {"id", "reconnect_interval", "shutdown_grace", "quarantine_after", "lost_wait",
                          "resume_interrupted"},
                     "station");
        cfg.lost_wait = std::chrono::duration_cast<std::chrono::milliseconds>(f.get_duration(st, "lost_wait", cfg.lost_wait));
        cfg.resume_interrupted = f.get_bool(st, "resume_interrupted", cfg.resume_interrupted);
        cfg.quarantine_after = static_cast<int>(f.get_int(st, "quarantine_after", cfg.quarantine_after, 0, 1000));
        cfg.station_id = require_id(f, st, "id", "station");
        cfg.reconnect_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
            f.get_duration(st, "reconnect_interval", cfg.reconnect_interval));
        cfg.shutdown_grace = std::chrono::duration_cast<std::chrono::seconds>(
            f.get_duration(st, "shutdown_grace", cfg.shutdown_grace));
    }
    if (auto store = root["store"]) {
        f.check_keys(store, {"path", "sync"}, "store");
        cfg.store_path = resolve(cfg.file, f.get_string(store, "path", "store"));
        auto sync = f.get_string(store, "sync", "store", "full");
        if (sync != "full" && sync != "normal")
            f.fail(store["sync"], "sync: expected 'full' or 'normal', got '" + sync + "'");
        cfg.store_sync_full = sync == "full";
    } else {
        cfg.store_path = resolve(cfg.file, "certlab.db");
    }
    if (auto api = root["api"]) {
        cfg.api_bind = f.get_string(api, "bind", "api", cfg.api_bind);
        cfg.api_port = static_cast<std::uint16_t>(f.get_int(api, "port", cfg.api_port, 0, 65535));
    }
    read_api_config(f, root["api"], cfg.file, cfg.api_bind, cfg.api);
    read_upload_config(f, root["upload"], cfg.file, cfg.upload);
    if (auto log = root["log"]) {
        f.check_keys(log, {"level", "file", "max_size", "max_files"}, "log");
        cfg.log_level = f.get_string(log, "level", "log", cfg.log_level);
        static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
        if (!levels.contains(cfg.log_level))
            f.fail(log["level"], "level: expected trace, debug, info, warn or error");
        if (log["file"]) cfg.log_file = resolve(cfg.file, f.get_string(log, "file", "log"));
        if (auto size = log["max_size"]) {
            cfg.log_max_size = parse_size(f.scalar(size, "max_size"));
            if (cfg.log_max_size < 1024)
                f.fail(size, "max_size: expected a size of at least 1KiB such as 10MiB, 512KiB or 1048576");
        }
        cfg.log_max_files = static_cast<int>(f.get_int(log, "max_files", cfg.log_max_files, 1, 1000));
        if ((log["max_size"] || log["max_files"]) && cfg.log_file.empty())
            f.fail(log, "log: max_size and max_files need 'file', the log file to rotate");
    }

    if (auto disc = root["discovery"]) {
        auto& d = cfg.discovery;
        d.where = f.where(disc);
        f.check_keys(disc, {"serial", "net", "usb", "mdns"}, "discovery");
        if (auto s = disc["serial"]) {
            f.check_keys(s, {"paths", "globs", "exclude", "enumerate", "poll_interval"}, "discovery.serial");
            d.serial = true;
            d.serial_paths = f.get_string_list(s, "paths");
            d.serial_globs = f.get_string_list(s, "globs");
            d.serial_exclude = f.get_string_list(s, "exclude");
            d.serial_enumerate = f.get_bool(s, "enumerate", true);
            d.serial_poll = std::chrono::duration_cast<std::chrono::milliseconds>(
                f.get_duration(s, "poll_interval", d.serial_poll));
        }
        if (auto n = disc["net"]) {
            f.check_keys(n, {"hosts", "cidrs", "ports", "rate", "interval"}, "discovery.net");
            d.net = true;
            d.net_hosts = f.get_string_list(n, "hosts");
            d.net_cidrs = f.get_string_list(n, "cidrs");
            for (const auto& p : f.get_string_list(n, "ports")) {
                int port = 0;
                auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
                if (ec != std::errc() || ptr != p.data() + p.size() || port < 1 || port > 65535)
                    f.fail(n["ports"], "ports: expected port numbers from 1 to 65535, got '" + p + "'");
                d.net_ports.push_back(static_cast<std::uint16_t>(port));
            }
            d.net_rate = static_cast<double>(f.get_int(n, "rate", 50, 1, 1000));
            d.net_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
                f.get_duration(n, "interval", d.net_interval));
        }
        if (auto m = disc["mdns"]) {
            f.check_keys(m, {"types", "domain", "daemon_loss_grace", "retry_interval"}, "discovery.mdns");
            d.mdns_types = f.get_string_list(m, "types");
            if (d.mdns_types.empty())
                f.fail(m, "discovery.mdns: expected 'types', a list of DNS-SD service types such as _pdl-datastream._tcp");
            d.mdns_domain = f.get_string(m, "domain", "discovery.mdns", d.mdns_domain);
            d.mdns_daemon_loss_grace = std::chrono::duration_cast<std::chrono::milliseconds>(
                f.get_duration(m, "daemon_loss_grace", d.mdns_daemon_loss_grace));
            d.mdns_retry = std::chrono::duration_cast<std::chrono::milliseconds>(
                f.get_duration(m, "retry_interval", d.mdns_retry));
        }
        if (auto u = disc["usb"]) {
            f.check_keys(u, {"enabled", "rescan_interval"}, "discovery.usb");
            d.usb = f.get_bool(u, "enabled", true);
            d.usb_rescan = std::chrono::duration_cast<std::chrono::milliseconds>(
                f.get_duration(u, "rescan_interval", d.usb_rescan));
            if (d.usb_rescan < std::chrono::milliseconds(10))
                f.fail(u["rescan_interval"], "rescan_interval: expected at least 10ms");
        }
    }

    for (const auto& dir : f.get_string_list(root, "profiles")) cfg.profile_dirs.push_back(resolve(cfg.file, dir));
    for (const auto& dir : f.get_string_list(root, "suites")) cfg.suite_dirs.push_back(resolve(cfg.file, dir));
    // Plugins before profiles: a profile may name a driver a plugin brings.
    if (auto plugins = root["plugins"]) {
        auto dirs = f.get_string_list(root, "plugins");
        for (std::size_t i = 0; i < dirs.size(); ++i) {
            auto dir = resolve(cfg.file, dirs[i]);
            std::error_code ec;
            if (!fs::is_directory(dir, ec))
                f.fail(plugins.IsSequence() ? plugins[i] : plugins,
                       "plugins: expected a directory of driver plugins, '" + dir.string() + "' is not one");
            cfg.plugin_dirs.push_back(dir);
        }
        if (plugin_loader) cfg.plugins = plugin_loader(cfg.plugin_dirs);
    }
    for (const auto& dir : cfg.profile_dirs) load_profiles_from(cfg, dir, f, root["profiles"]);

    if (auto devices = root["devices"]; devices && !devices.IsNull()) {
        f.require_seq(devices, "devices");
        std::set<std::string> ids;
        for (const auto& d : devices) {
            f.check_keys(d, {"id", "profile", "address", "serial", "settings"}, "device");
            DeviceConfig dc;
            dc.where = f.where(d);
            dc.id = require_id(f, d, "id", "device");
            if (!ids.insert(dc.id).second) f.fail(d["id"], "id: device '" + dc.id + "' is declared twice");
            dc.profile = f.get_string(d, "profile", "device");
            if (!cfg.profiles.contains(dc.profile))
                f.fail(d["profile"], "profile: expected a profile from " +
                                         (cfg.profile_dirs.empty() ? std::string("the profiles directories")
                                                                   : cfg.profile_dirs.front().string()) +
                                         ", no profile is named '" + dc.profile + "'");
            dc.address = f.get_string(d, "address", "device");
            try {
                (void)transport::parse_address(dc.address);
            } catch (const sdk::ConfigError& e) {
                f.fail(d["address"], std::string("address: ") + e.what());
            }
            dc.serial = read_serial(f, d);
            dc.settings = read_settings(f, d);
            cfg.devices.push_back(std::move(dc));
        }
    }
    read_wiring(cfg, f, root["wiring"]);
    return cfg;
}

}  // namespace certlab::config
