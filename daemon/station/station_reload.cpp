// Station: applying a re-read configuration (SIGHUP, POST /v1/reload) while runs go on.
//
// What a run uses is never swapped under it: a device a run holds or waits for keeps
// its declaration until a later reload (refused with a warning, not deferred: the
// technician sees at once why, and a reload after the run applies it), and the suite
// a run executes stays alive with it. Devices refer to their profile, and runs to
// their suite, by reference: the configs and suite sets a reload replaces are kept
// while anything may still point into them.
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "certify/plan.hpp"
#include "inventory/matcher.hpp"
#include "sdk/error.hpp"
#include "station/station.hpp"
#include "station/station_tasks.hpp"

namespace certlab::station {

namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

KeyValues key_values(const std::vector<config::SerialSetting>& serial) {
    KeyValues out;
    for (const auto& s : serial) out.emplace_back(s.key, s.value);
    return out;
}

KeyValues key_values(const sdk::Settings& settings) {
    KeyValues out;
    for (const auto& [k, e] : settings.entries()) out.emplace_back(k, e.value);
    return out;
}

/// Same device behaviour: where things were written (line numbers) does not count,
/// so a comment added above a device does not make it "changed".
bool same_profile(const config::DeviceProfile& a, const config::DeviceProfile& b) {
    auto actions = [](const config::DeviceProfile& p) {
        std::vector<std::pair<std::string, KeyValues>> out;
        for (const auto& act : p.actions) out.emplace_back(act.name, key_values(act.fields));
        return out;
    };
    return std::tie(a.driver, a.capabilities) == std::tie(b.driver, b.capabilities) &&
           key_values(a.serial) == key_values(b.serial) && key_values(a.settings) == key_values(b.settings) &&
           actions(a) == actions(b);
}

bool same_device(const config::DeviceConfig& a, const config::DeviceProfile& pa, const config::DeviceConfig& b,
                 const config::DeviceProfile& pb) {
    return std::tie(a.profile, a.address) == std::tie(b.profile, b.address) &&
           key_values(a.serial) == key_values(b.serial) && key_values(a.settings) == key_values(b.settings) &&
           same_profile(pa, pb);
}

bool same_discovery(const config::DiscoveryConfig& a, const config::DiscoveryConfig& b) {
    auto fields = [](const config::DiscoveryConfig& d) {
        return std::tie(d.serial, d.serial_paths, d.serial_globs, d.serial_exclude, d.serial_enumerate, d.serial_poll,
                        d.net, d.net_hosts, d.net_cidrs, d.net_ports, d.net_rate, d.net_interval, d.usb, d.usb_rescan,
                        d.mdns_types, d.mdns_domain, d.mdns_daemon_loss_grace, d.mdns_retry);
    };
    return fields(a) == fields(b);
}

const config::DeviceConfig* find_decl(const std::vector<config::DeviceConfig>& list, const std::string& id) {
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& d) { return d.id == id; });
    return it == list.end() ? nullptr : &*it;
}

}  // namespace

api::ReloadResult Station::reload() {
    config::StationConfig cfg;
    try {
        // No plugin loader: plugins stay as loaded at start (a driver cannot be
        // unregistered); profiles may still name the drivers they brought.
        cfg = config::load_station_config(cfg_.file);
    } catch (const std::exception& e) {
        spdlog::error("reload refused, the running configuration stays: {}", e.what());
        return {422, {}, {}, {e.what()}};
    }
    return reload(std::move(cfg));
}

api::ReloadResult Station::reload(config::StationConfig cfg) {
    api::ReloadResult result;
    if (stopping_) return {503, {}, {}, {"station is shutting down"}};

    // Everything that can refuse the new config comes first, before anything changes.
    std::vector<std::string> skipped;
    std::vector<engine::Suite> suites;
    try {
        suites = engine::load_suites(cfg.suite_dirs, &skipped);
    } catch (const std::exception& e) {
        spdlog::error("reload refused, the running configuration stays: {}", e.what());
        return {422, {}, {}, {e.what()}};
    }
    for (auto& w : skipped) result.warnings.push_back(std::move(w));

    // What the process set up once stays as it is; a change there needs a restart.
    auto needs_restart = [&](bool changed, const std::string& what) {
        if (changed) result.warnings.push_back(what + " changed: not applied until certlabd restarts");
    };
    needs_restart(cfg.store_path != cfg_.store_path || cfg.store_sync_full != cfg_.store_sync_full, "store");
    needs_restart(cfg.api_bind != cfg_.api_bind || cfg.api_port != cfg_.api_port, "api");
    needs_restart(cfg.api.tokens_file != cfg_.api.tokens_file || cfg.api.tls_cert != cfg_.api.tls_cert ||
                      cfg.api.tls_key != cfg_.api.tls_key,
                  "api tokens or TLS");
    // The CA and token files' contents are read again at every reconnection; which
    // files, and where to, is fixed at start.
    const auto& nu = cfg.upload;
    const auto& old = cfg_.upload;
    needs_restart(nu.enabled != old.enabled || nu.url != old.url || nu.ca_file != old.ca_file ||
                      nu.token_file != old.token_file || nu.timeout != old.timeout ||
                      nu.backoff_initial != old.backoff_initial || nu.backoff_max != old.backoff_max,
                  "upload");
    needs_restart(!same_discovery(cfg.discovery, cfg_.discovery), "discovery");
    needs_restart(cfg.plugin_dirs != cfg_.plugin_dirs, "plugins");
    needs_restart(cfg.log_file != cfg_.log_file || cfg.log_max_size != cfg_.log_max_size ||
                      cfg.log_max_files != cfg_.log_max_files,
                  "log.file");
    cfg.store_path = cfg_.store_path;  // --store may have overridden it
    cfg.store_sync_full = cfg_.store_sync_full;
    cfg.api_bind = cfg_.api_bind;
    cfg.api_port = cfg_.api_port;      // --api-port too
    cfg.api = cfg_.api;
    cfg.upload = cfg_.upload;
    cfg.discovery = cfg_.discovery;
    cfg.plugin_dirs = cfg_.plugin_dirs;
    cfg.plugins = cfg_.plugins;
    cfg.log_file = cfg_.log_file;
    cfg.log_max_size = cfg_.log_max_size;
    cfg.log_max_files = cfg_.log_max_files;

    // Declared devices: which go, which are replaced, which come. A device a run
    // holds or waits for keeps its old declaration (and the profile it was made with).
    auto held_by = [this](const std::string& id) -> std::optional<std::int64_t> {
        auto dev = devices_.find(id);
        if (dev != devices_.end() && dev->second->current_run) return dev->second->current_run;
        if (auto q = queues_.find(id); q != queues_.end() && !q->second.empty()) return q->second.front();
        return std::nullopt;
    };
    auto keep_old = [&](const config::DeviceConfig& old) {
        auto it = std::find_if(cfg.devices.begin(), cfg.devices.end(), [&](const auto& d) { return d.id == old.id; });
        if (it != cfg.devices.end()) *it = old;
        else cfg.devices.push_back(old);
        // The profile it runs with stays listed under its id (GET /v1/drivers reads it).
        if (!cfg.profiles.contains(old.profile)) cfg.profiles.emplace(old.profile, cfg_.profiles.at(old.profile));
    };
    std::vector<std::string> removed, replaced, added;
    for (const auto& old : cfg_.devices) {
        const auto* now = find_decl(cfg.devices, old.id);
        if (now && same_device(old, cfg_.profiles.at(old.profile), *now, cfg.profiles.at(now->profile))) continue;
        if (auto run = held_by(old.id)) {
            result.warnings.push_back("device " + old.id + (now ? " changed" : " removed") + " but run " +
                                      std::to_string(*run) + " uses it: kept as it was; reload again after the run");
            keep_old(old);
            continue;
        }
        (now ? replaced : removed).push_back(old.id);
    }
    for (auto it = cfg.devices.begin(); it != cfg.devices.end();) {
        if (find_decl(cfg_.devices, it->id)) {
            ++it;
            continue;
        }
        if (devices_.contains(it->id)) {  // a discovered device has that id
            result.warnings.push_back("device " + it->id + " not added: a discovered device has that id");
            it = cfg.devices.erase(it);
            continue;
        }
        added.push_back(it->id);
        ++it;
    }
    // Drivers check their settings when made (no I/O): make each new one once now,
    // so a bad setting refuses the whole config instead of half applying it.
    for (const auto* ids : {&replaced, &added})
        for (const auto& id : *ids) {
            const auto& dc = *find_decl(cfg.devices, id);
            const auto& profile = cfg.profiles.at(dc.profile);
            try {
                Device check(io_.get_executor(), dc, profile, *sdk::Registry::instance().find(profile.driver));
            } catch (const std::exception& e) {
                std::string error = std::string(e.what()) + " (device '" + dc.id + "' at " + dc.where + ")";
                spdlog::error("reload refused, the running configuration stays: {}", error);
                return {422, {}, {}, {std::move(error)}};
            }
        }

    // Accepted: apply. The old config stays alive for the devices made from it.
    auto level = log_level_override_.value_or(cfg.log_level);
    if (cfg.log_level != cfg_.log_level && !log_level_override_) result.changes.push_back("log level " + level);
    if (cfg.station_id != cfg_.station_id) result.changes.push_back("station id " + cfg.station_id);
    for (const auto& [id, p] : cfg.profiles) {
        auto old = cfg_.profiles.find(id);
        if (old == cfg_.profiles.end()) result.changes.push_back("profile " + id + " added");
        else if (!same_profile(old->second, p)) result.changes.push_back("profile " + id + " changed");
    }
    for (const auto& [id, p] : cfg_.profiles)
        if (!cfg.profiles.contains(id)) result.changes.push_back("profile " + id + " removed");
    for (const auto& s : suites) {
        auto old = std::find_if(suites_.begin(), suites_.end(), [&](const auto& o) { return o.id == s.id; });
        if (old == suites_.end()) result.changes.push_back("suite " + s.id + " added");
        else if (old->hash != s.hash) result.changes.push_back("suite " + s.id + " changed");
    }
    for (const auto& s : suites_)
        if (std::none_of(suites.begin(), suites.end(), [&](const auto& n) { return n.id == s.id; }))
            result.changes.push_back("suite " + s.id + " removed");

    retired_configs_.push_back(std::make_unique<config::StationConfig>(std::move(cfg_)));
    cfg_ = std::move(cfg);

    // Suites: new runs take the new set; a run in flight keeps a pointer into the old.
    retired_suites_.push_back(std::move(suites_));
    suites_ = std::move(suites);
    std::erase_if(retired_suites_, [this](const std::vector<engine::Suite>& set) {
        return std::none_of(active_.begin(), active_.end(), [&](const auto& a) {
            return std::any_of(set.begin(), set.end(), [&](const auto& s) { return &s == a.second->suite; });
        });
    });
    // Plans of new certifications come from the new suites (the desk keeps no other state).
    desk_ = std::make_unique<certify::Desk>(*store_, certify::describe_suites(suites_));

    auto retire = [this](const std::string& id) {
        auto it = devices_.find(id);
        if (it == devices_.end()) return;
        it->second->close();
        for (auto& [address, entry] : resources_)
            if (entry.device == id) {
                entry.device.clear();
                entry.reason = "its device " + id + " was removed from " + cfg_.file.string();
            }
        retired_devices_.push_back(std::move(it->second));
        devices_.erase(it);
        publish_devices();
    };
    for (const auto& id : removed) {
        retire(id);
        result.changes.push_back("device " + id + " removed");
    }
    for (const auto* ids : {&replaced, &added})
        for (const auto& id : *ids) {
            retire(id);
            auto& dev = add_device(*find_decl(cfg_.devices, id));
            spawn(io_, supervise(dev), "device supervisor " + id);
            result.changes.push_back("device " + id + (ids == &added ? " added" : " changed"));
        }
    for (auto& [id, dev] : devices_) dev->set_quarantine_after(cfg_.quarantine_after);

    // Discovery matches with the new profiles; what nothing claimed is looked at again.
    std::vector<inventory::Matcher::Profile> matchable;
    for (const auto& [id, p] : cfg_.profiles)
        if (p.match) matchable.emplace_back(id, *p.match);
    matcher_ = matchable.empty() ? nullptr : std::make_unique<inventory::Matcher>(matchable);
    std::vector<sdk::Resource> unclaimed;
    for (const auto& [address, entry] : resources_)
        if (entry.device.empty()) unclaimed.push_back(entry.resource);
    for (const auto& r : unclaimed) resource_arrived(r);

    // The level lives on the sinks, which every logger shares (main.cpp).
    for (const auto& sink : spdlog::default_logger()->sinks()) sink->set_level(spdlog::level::from_str(level));

    for (const auto& w : result.warnings) spdlog::warn("reload: {}", w);
    spdlog::info("reloaded {}: {}", cfg_.file.string(),
                 result.changes.empty() ? std::string("nothing changed") : [&] {
                     std::string all;
                     for (const auto& c : result.changes) all += (all.empty() ? "" : "; ") + c;
                     return all;
                 }());
    return result;
}

}  // namespace certlab::station
