#include "station/station.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/access.hpp"
#include "api/server.hpp"
#include "inventory/matcher.hpp"
#include "inventory/mdns_watcher.hpp"
#include "inventory/net_watcher.hpp"
#include "inventory/serial_watcher.hpp"
#include "inventory/suggest.hpp"
#include "inventory/usb_watcher.hpp"
#include "sdk/error.hpp"
#include "station/station_tasks.hpp"
#include "station/events.hpp"
#include "upload/uploader.hpp"

namespace certlab::station {
namespace asio = boost::asio;

namespace {

/// What became of each plugin (loaded while the configuration was read, before logging was set up).
void log_plugins(const std::vector<config::PluginLoad>& plugins) {
    for (const auto& p : plugins) {
        if (!p.refused.empty()) {
            spdlog::error("plugin {} refused: {}", p.file.string(), p.refused);
            continue;
        }
        std::string names;
        for (const auto& d : p.drivers) names += (names.empty() ? "" : ", ") + d;
        spdlog::info("plugin {} loaded: driver(s) {}", p.file.string(), names);
    }
}

}  // namespace

Station::Station(asio::io_context& io, asio::io_context& api_io, config::StationConfig cfg, Overrides overrides)
    : io_(io), api_io_(api_io), cfg_(std::move(cfg)), started_(std::chrono::steady_clock::now()) {
    if (overrides.store_path) cfg_.store_path = *overrides.store_path;
    if (overrides.api_port) cfg_.api_port = *overrides.api_port;
    record_ = std::move(overrides.record);
    log_level_override_ = std::move(overrides.log_level);
    events_ = std::make_shared<EventBus>(EventBus::first_id_now());
    log_plugins(cfg_.plugins);

    suites_ = engine::load_suites(cfg_.suite_dirs);
    for (const auto& dc : cfg_.devices) {
        try {
            add_device(dc);
        } catch (const sdk::ConfigError& e) {
            throw sdk::ConfigError(std::string(e.what()) + " (device '" + dc.id + "' at " + dc.where + ")");
        }
    }

    // Discovery: profiles with a `match:` section claim what the watchers find.
    std::vector<inventory::Matcher::Profile> matchable;
    for (const auto& [id, p] : cfg_.profiles)
        if (p.match) matchable.emplace_back(id, *p.match);
    if (!matchable.empty()) matcher_ = std::make_unique<inventory::Matcher>(matchable);
    const auto& disc = cfg_.discovery;
    try {
        if (disc.serial) {
            inventory::SerialWatchOptions o;
            o.paths = disc.serial_paths;
            o.globs = disc.serial_globs;
            for (const auto& x : disc.serial_exclude) o.exclude_globs.push_back(x);
            o.enumerate = disc.serial_enumerate;
            o.poll_interval = disc.serial_poll;
            watchers_.push_back(std::make_unique<inventory::SerialWatcher>(io_.get_executor(), o));
        }
        if (disc.net) {
            inventory::NetWatchOptions o;
            o.hosts = disc.net_hosts;
            o.cidrs = disc.net_cidrs;
            o.ports = disc.net_ports;
            o.max_connects_per_second = disc.net_rate;
            o.interval = disc.net_interval;
            watchers_.push_back(std::make_unique<inventory::NetWatcher>(io_.get_executor(), o));
        }
        if (!disc.mdns_types.empty()) {
            inventory::MdnsWatchOptions o;
            o.service_types = disc.mdns_types;
            o.domain = disc.mdns_domain;
            o.daemon_loss_grace = disc.mdns_daemon_loss_grace;
            o.retry_interval = disc.mdns_retry;
            watchers_.push_back(std::make_unique<inventory::MdnsWatcher>(io_.get_executor(), o));
        }
        if (disc.usb) {
            inventory::UsbWatchOptions o;
            o.rescan_interval = disc.usb_rescan;
            watchers_.push_back(std::make_unique<inventory::UsbWatcher>(io_.get_executor(), o));
        }
    } catch (const std::invalid_argument& e) {
        throw sdk::ConfigError(disc.where + ": discovery: " + e.what());
    }

    store_ = record::Store::open(cfg_.store_path, {cfg_.store_sync_full ? record::Store::Sync::full
                                                                         : record::Store::Sync::normal});
    reader_ = record::Store::open_reader(cfg_.store_path);
    if (cfg_.upload.enabled) {
        // Before anything writes (take_back_unfinished_runs marks runs): from here on
        // every commit also fills the outbox, in the same transaction.
        // Failing and recovering are events (GET /v1/events), published on the station's
        // thread; weak, as the uploader's thread may outlive nothing of the station's.
        auto on_change = [&io = io_, bus = std::weak_ptr<EventBus>(events_)](bool failing,
                                                                            const upload::UploadStatus& s) {
            asio::post(io, [bus, failing, pending = s.pending, n = s.consecutive_failures, error = s.last_error] {
                if (auto events = bus.lock()) events->upload_changed(failing, pending, n, failing ? error : "");
            });
        };
        uploader_ = std::make_shared<upload::Uploader>(*store_, cfg_.station_id, cfg_.upload, on_change);
        store_->enable_outbox([weak = std::weak_ptr<upload::Uploader>(uploader_)] {
            if (auto u = weak.lock()) u->poke();
        });
        uploader_->poke();
    }
    take_back_unfinished_runs();
    prompts_ = std::make_unique<PromptDesk>(*store_);
    prompts_->set_events(events_.get());
    if (int n = prompts_->close_left_open(); n > 0)
        spdlog::warn("closed {} prompt(s) left open by the previous shutdown or crash", n);
    desk_ = std::make_unique<certify::Desk>(*store_, certify::describe_suites(suites_));
    // A run may have ended just before a crash, before its failures became issues.
    if (auto n = desk_->sync_all(); n > 0) spdlog::warn("raised {} outstanding issue(s) from earlier runs", n);
    spdlog::info("station {}: {} device(s), {} suite(s), store {}", cfg_.station_id, devices_.size(),
                 suites_.size(), cfg_.store_path.string());
}

Station::~Station() {
    // First: the API's own thread reads the store and the devices view until then.
    api_.reset();
}

void Station::start() {
    api::Server::Options opts;
    opts.bind = cfg_.api_bind;
    opts.port = cfg_.api_port;
    opts.max_body = cfg_.api.max_body;
    opts.max_header = cfg_.api.max_header;
    opts.idle_timeout = cfg_.api.idle_timeout;
    opts.request_timeout = cfg_.api.request_timeout;
    opts.max_connections = cfg_.api.max_connections;
    opts.tls_cert = cfg_.api.tls_cert;
    opts.tls_key = cfg_.api.tls_key;
    if (!cfg_.api.tokens_file.empty()) {
        opts.tokens = std::make_shared<const api::TokenTable>(api::TokenTable::load(cfg_.api.tokens_file));
        if (opts.tokens->empty()) {
            // The package installs the file empty: until a token is added, the API is
            // open, so it must not be reachable from elsewhere.
            if (!config::is_loopback_address(cfg_.api_bind) && !cfg_.api.allow_insecure)
                throw sdk::ConfigError(cfg_.api.tokens_file.string() + ": the API tokens file holds no token, and api.bind " +
                                       cfg_.api_bind + " is reachable from other machines; add a token (certlab token new) "
                                       "or set api.allow_insecure: true");
            spdlog::info("API tokens file {} holds no token: access control is off",
                         cfg_.api.tokens_file.string());
        }
    }
    if (!cfg_.api.insecure_warning.empty()) spdlog::warn("{}", cfg_.api.insecure_warning);
    api_ = std::make_unique<api::Server>(io_.get_executor(), api_io_, *this, opts);
    api_->start();
    for (auto& [id, dev] : devices_) spawn(io_, supervise(*dev), "device supervisor " + id);
    for (auto& active : resuming_) enqueue(std::move(active));
    resuming_.clear();
    for (auto& w : watchers_) {
        inventory::WatcherSink sink;
        sink.arrived = [this](const sdk::Resource& r) { resource_arrived(r); };
        sink.departed = [this](const std::string& a) { resource_departed(a); };
        w->start(std::move(sink));
        spdlog::info("discovery: {} watcher started", w->name());
    }
}

Device& Station::add_device(const config::DeviceConfig& dc) {
    const auto& profile = cfg_.profiles.at(dc.profile);
    const auto* info = sdk::Registry::instance().find(profile.driver);
    std::shared_ptr<transport::CaptureWriter> capture;
    if (record_) {
        const auto& d = cfg_.discovery;
        const bool several = cfg_.devices.size() > 1 || d.serial || d.net || d.usb || !d.mdns_types.empty();
        capture = make_capture(*record_, capture_path(record_->file, dc.id, several), dc, profile, *info);
    }
    auto dev = std::make_unique<Device>(io_.get_executor(), dc, profile, *info, std::move(capture));
    dev->set_quarantine_after(cfg_.quarantine_after);
    dev->on_state = [this](const Device& d, DeviceState previous, const std::string& reason) {
        publish_devices();
        events_->device_state(d.device_id(), to_string(d.state()), to_string(previous), reason);
    };
    auto& ref = *dev;
    devices_.emplace(dc.id, std::move(dev));
    publish_devices();
    return ref;
}

Device* Station::device_at(const std::string& address) {
    for (auto& [id, dev] : devices_)
        if (dev->address() == address) return dev.get();
    return nullptr;
}

namespace {

/// A device id that stays the same when the device comes back: its serial number
/// if it has one, else the last part of its address.
std::string stable_device_id(const std::string& profile, const sdk::Resource& r) {
    std::string key;
    if (auto it = r.attributes.find("serial_number"); it != r.attributes.end() && !it->second.empty())
        key = it->second;
    else
        key = r.address.substr(r.address.find_last_of("/:") + 1);
    if (r.address.rfind("tcp:", 0) == 0) key = r.address.substr(4);
    std::string id = profile + "-";
    for (char c : key) id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
    return id;
}

}  // namespace

void Station::resource_arrived(const sdk::Resource& r) {
    if (stopping_) return;
    auto& entry = resources_[r.address];
    entry.resource = r;
    if (auto* dev = device_at(r.address)) {
        entry.device = dev->device_id();
        entry.reason = "claimed by device " + dev->device_id();
        return;
    }
    // Unmatched resources are listed and never opened (safe-probe rule).
    auto result = matcher_ ? matcher_->match(r) : inventory::MatchResult{{}, 0, "no profile has a match: section"};
    if (result.profile.empty()) {
        if (entry.reason != result.reason)
            spdlog::info("unclaimed {} ({}): {}", r.address, sdk::to_string(r.kind), result.reason);
        entry.device.clear();
        entry.reason = result.reason;
        return;
    }
    auto id = stable_device_id(result.profile, r);
    for (int n = 2; devices_.contains(id); ++n) id = stable_device_id(result.profile, r) + "-" + std::to_string(n);
    config::DeviceConfig dc;
    dc.id = id;
    dc.profile = result.profile;
    dc.address = r.address;
    dc.where = "discovered by the " + r.source + " watcher";
    try {
        auto& dev = add_device(dc);
        discovered_.insert(id);
        entry.device = id;
        entry.reason = result.reason;
        spdlog::info("discovered {} at {}: {}", id, r.address, result.reason);
        spawn(io_, supervise(dev), "device supervisor " + id);
    } catch (const std::exception& e) {
        entry.reason = std::string("cannot create device: ") + e.what();
        spdlog::error("{}: {}", r.address, entry.reason);
    }
}

void Station::resource_departed(const std::string& address) {
    resources_.erase(address);
    auto* dev = device_at(address);
    if (!dev || dev->current_run || dev->state() == DeviceState::quarantined) return;
    // Gone from the bench: lost until the same address (same device) is back.
    dev->close();
    dev->set_state(DeviceState::lost, "disappeared from discovery");
}

std::vector<api::ResourceInfo> Station::resources() const {
    std::vector<api::ResourceInfo> out;
    for (const auto& [addr, e] : resources_) {
        api::ResourceInfo i{addr, std::string(sdk::to_string(e.resource.kind)), e.resource.source, {}, e.device, e.reason};
        for (const auto& [k, v] : e.resource.attributes) i.attributes[k] = v;
        out.push_back(std::move(i));
    }
    // Statically declared devices are resources too (a discovered device that is
    // gone is not: it is a device in state lost, no longer a resource on the bench).
    for (const auto& [id, dev] : devices_)
        if (!resources_.contains(dev->address()) &&
            std::any_of(cfg_.devices.begin(), cfg_.devices.end(), [&](const auto& dc) { return dc.id == id; })) {
            api::ResourceInfo i{dev->address(), std::string(sdk::to_string(dev->resource().kind)), "config", {}, id,
                                "declared in " + cfg_.file.string()};
            out.push_back(std::move(i));
        }
    return out;
}

std::optional<std::string> Station::suggest_profile(const std::string& address, const std::string& driver,
                                                    const std::string& profile_id) const {
    if (auto it = resources_.find(address); it != resources_.end())
        return inventory::suggest_profile(it->second.resource, driver, profile_id);
    for (const auto& [id, dev] : devices_)
        if (dev->address() == address) return inventory::suggest_profile(dev->resource(), driver, profile_id);
    return std::nullopt;
}

std::uint16_t Station::api_port() const { return api_ ? api_->port() : 0; }

sdk::Task<void> Station::supervise(Device& device) {
    // Bring the device up, and again whenever it is lost and idle. Sleeps in short
    // slices so shutdown never waits on a supervisor.
    auto next_try = std::chrono::steady_clock::now();
    const auto id = device.device_id();
    while (!stopping_) {
        // A reload removed or replaced the device (station_reload.cpp keeps the
        // object alive, so comparing the address is enough): its supervisor ends.
        if (auto it = devices_.find(id); it == devices_.end() || it->second.get() != &device) co_return;
        device.check_link();
        // A device a run holds is the run's to reopen (a resumed run may hold one
        // that was never brought up by this process).
        const bool wants_link =
            (device.state() == DeviceState::present || device.state() == DeviceState::lost) && !device.current_run;
        if (wants_link && std::chrono::steady_clock::now() >= next_try) {
            std::string unclaim;
            try {
                co_await device.bring_up();
                unclaim = identify_mismatch(device);
            } catch (const sdk::ProtocolError& e) {
                // A discovered device whose identification is garbage is not what the
                // profile describes; a declared one is the technician's call (lost).
                if (discovered_.contains(device.device_id())) unclaim = std::string("identify probe answered garbage: ") + e.what();
                else device.bring_up_failed(e.what());
            } catch (const std::exception& e) {
                device.bring_up_failed(e.what());
            }
            if (!unclaim.empty()) {
                const auto address = device.address();
                spdlog::warn("{}: unclaimed: {}", address, unclaim);
                device.close();
                if (auto it = resources_.find(address); it != resources_.end()) {
                    it->second.device.clear();
                    it->second.reason = unclaim;
                }
                discovered_.erase(id);
                devices_.erase(id);  // `device` is gone: leave at once
                publish_devices();
                co_return;
            }
            next_try = std::chrono::steady_clock::now() + cfg_.reconnect_interval;
        }
        // Short slices: a returning device is retried within a slice, and shutdown
        // never waits on a supervisor.
        co_await sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(100),
                                                                          cfg_.reconnect_interval));
    }
}

std::string Station::identify_mismatch(const Device& device) const {
    if (!discovered_.contains(device.device_id())) return {};
    const auto info = device.info();
    const auto& profile = cfg_.profiles.at(info.profile);
    if (!profile.match || profile.match->identify.empty()) return {};
    std::string why;
    if (inventory::identify_matches(*profile.match, info.identity, why)) return {};
    return "identify answer does not match profile " + profile.id + ": " + why;
}

const engine::Suite* Station::find_suite(std::string_view id) const {
    for (const auto& s : suites_)
        if (s.id == id) return &s;
    return nullptr;
}

void Station::shutdown(std::function<void()> done) {
    if (stopping_) return;
    stopping_ = true;
    for (auto& w : watchers_) w->stop();
    spdlog::info("shutting down: {} run(s) in progress", active_.size());
    for (auto& [id, a] : active_) a->control.request_stop("certlabd is shutting down");
    spawn(io_, drain(std::move(done)), "shutdown");
}

sdk::Task<void> Station::drain(std::function<void()> done) {
    using Clock = std::chrono::steady_clock;
    auto wait_for_runs = [this](Clock::time_point deadline) -> sdk::Task<void> {
        while (!active_.empty() && Clock::now() < deadline) co_await sleep_for(std::chrono::milliseconds(20));
    };
    co_await wait_for_runs(Clock::now() + cfg_.shutdown_grace);
    if (!active_.empty()) {
        // A step is still in flight past the grace period: closing the links aborts
        // its I/O, so the runner records the step and stops at once.
        spdlog::warn("{} run(s) still mid-step after {} s; closing device links", active_.size(),
                     cfg_.shutdown_grace.count());
        for (auto& [id, dev] : devices_) dev->close();
        co_await wait_for_runs(Clock::now() + std::chrono::seconds(2));
    }
    for (auto& [id, a] : active_) {
        spdlog::error("run {} did not stop; marking it aborted", id);
        metrics_.run_ended(record::Outcome::aborted);
        store_->end_run(id, record::RunStatus::aborted, record::Outcome::aborted,
                        "stopped: certlabd shut down mid-step");
    }
    if (api_) api_->stop();
    for (auto& [id, dev] : devices_) dev->close();
    done();
}

api::ActionResult Station::release_device(const std::string& device_id) {
    auto it = devices_.find(device_id);
    if (it == devices_.end()) return {404, "no device '" + device_id + "'"};
    if (it->second->state() != DeviceState::quarantined)
        return {409, "device '" + device_id + "' is " + std::string(to_string(it->second->state())) +
                         ", not quarantined"};
    it->second->release();
    return {200, {}};
}

api::HealthInfo Station::health() const {
    return {stopping_ ? "stopping" : "ok", cfg_.station_id, CERTLAB_VERSION,
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)};
}

std::vector<api::DeviceInfo> Station::devices() const {
    std::lock_guard lock(devices_view_mutex_);
    return devices_view_;
}

void Station::publish_devices() {
    std::vector<api::DeviceInfo> view;
    view.reserve(devices_.size());
    for (const auto& [id, dev] : devices_) view.push_back(dev->info());
    std::lock_guard lock(devices_view_mutex_);
    devices_view_ = std::move(view);
}

api::DriversInfo Station::drivers() const {
    api::DriversInfo out;
    std::map<std::string, std::string, std::less<>> plugin_of;  // driver name -> .so file
    for (const auto& p : cfg_.plugins) {
        if (!p.refused.empty()) out.refused.push_back({p.file.string(), p.refused});
        for (const auto& d : p.drivers) plugin_of[d] = p.file.string();
    }
    for (const auto& d : sdk::Registry::instance().all()) {
        api::DriverListing l{d.name, d.version, "builtin", d.doc, d.capabilities, {}, {}};
        if (auto it = plugin_of.find(d.name); it != plugin_of.end()) {
            l.origin = "plugin";
            l.file = it->second;
        }
        out.drivers.push_back(std::move(l));
    }
    // Exec drivers are programs, known once their child said hello (device identity).
    for (const auto& [id, dev] : devices_) {
        auto info = dev->info();
        auto name = info.identity.find("exec_driver");
        if (name == info.identity.end()) continue;
        auto version = info.identity.find("exec_driver_version");
        std::string command = cfg_.profiles.at(info.profile).settings.get_string("command", "");
        for (const auto& dc : cfg_.devices)
            if (dc.id == id && dc.settings.has("command")) command = dc.settings.get_string("command", "");
        out.drivers.push_back({name->second, version == info.identity.end() ? std::string() : version->second, "exec",
                               "", info.capabilities, command, id});
    }
    return out;
}

void Station::collect_metrics(api::metrics::Registry& out) const {
    MetricsSnapshot now;
    for (const auto& [id, dev] : devices_) ++now.devices_by_state[std::string(to_string(dev->state()))];
    // A run has its runner once it has its devices (execute()); before that it waits.
    for (const auto& [id, a] : active_) ++(a->runner ? now.runs_running : now.runs_queued);
    now.prompts_waiting = static_cast<int>(store_->list_prompts(true, std::nullopt, -1).size());
    now.version = CERTLAB_VERSION;
    now.uptime = std::chrono::steady_clock::now() - started_;
    metrics_.collect(out, now);
    const auto up = upload_status();
    out.gauge("certlab_outbox_depth", "Results committed but not yet acknowledged by the certification record.")
        .set(up ? static_cast<double>(up->pending) : 0.0);
    out.gauge("certlab_outbox_oldest_age_seconds", "Age of the oldest result waiting in the outbox (0 when empty).")
        .set(up && up->oldest ? std::chrono::duration<double>(std::chrono::system_clock::now() - *up->oldest).count()
                              : 0.0);
    out.counter("certlab_uploads_total", "Results the certification record acknowledged since certlabd started.")
        .inc(up ? static_cast<double>(up->uploaded) : 0.0);
    out.counter("certlab_upload_errors_total",
                "Failed upload attempts since certlabd started (each retry counts; the outbox keeps the result).")
        .inc(up ? static_cast<double>(up->errors) : 0.0);
}

std::optional<upload::UploadStatus> Station::upload_status() const {
    if (!uploader_) return std::nullopt;
    return uploader_->status();
}

std::vector<api::SuiteInfo> Station::suites() const {
    std::vector<api::SuiteInfo> out;
    for (const auto& s : suites_) {
        api::SuiteInfo i{s.id, s.title, s.file, s.requires_capabilities, {}};
        for (const auto& sc : s.scenarios) i.scenarios.push_back(sc.id);
        out.push_back(std::move(i));
    }
    return out;
}

}  // namespace certlab::station
