#include "station/station.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/server.hpp"
#include "inventory/matcher.hpp"
#include "inventory/mdns_watcher.hpp"
#include "inventory/net_watcher.hpp"
#include "inventory/serial_watcher.hpp"
#include "inventory/suggest.hpp"
#include "inventory/usb_watcher.hpp"
#include "sdk/error.hpp"
#include "station/events.hpp"

namespace certlab::station {
namespace asio = boost::asio;

namespace {

sdk::Task<void> sleep_for(std::chrono::steady_clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

/// Runs a station coroutine detached; an exception escaping one is a bug, so it is
/// logged rather than allowed to take the daemon down.
void spawn(asio::io_context& io, sdk::Task<void> task, std::string what) {
    asio::co_spawn(io, std::move(task), [what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{} ended with an unexpected error: {}", what, ex.what());
        }
    });
}

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

Station::Station(asio::io_context& io, config::StationConfig cfg, Overrides overrides)
    : io_(io), cfg_(std::move(cfg)), started_(std::chrono::steady_clock::now()) {
    if (overrides.store_path) cfg_.store_path = *overrides.store_path;
    if (overrides.api_port) cfg_.api_port = *overrides.api_port;
    record_ = std::move(overrides.record);
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

Station::~Station() = default;

void Station::take_back_unfinished_runs() {
    const std::string cut = "certlabd stopped while the run was in progress";
    if (!cfg_.resume_interrupted) {
        if (int n = store_->mark_interrupted(cut); n > 0)
            spdlog::warn("marked {} run(s) interrupted by the previous shutdown or crash", n);
        return;
    }
    for (auto& run : store_->unfinished_runs()) {
        // Resume only what would run the same: the same suite text, the same devices.
        std::string why;
        const auto* suite = find_suite(run.suite_id);
        std::map<std::string, Device*> bound;
        auto bind = [&](const std::string& role, const std::string& id) {
            auto it = devices_.find(id);
            if (it == devices_.end()) why = "device '" + id + "' (role " + role + ") is not declared any more";
            else bound[role] = it->second.get();
        };
        if (!suite) why = "suite '" + run.suite_id + "' is not loaded any more";
        else if (suite->hash != run.suite_hash) why = "suite '" + run.suite_id + "' changed since the run started";
        bind("dut", run.device_id);
        for (const auto& [role, b] : run.roles) bind(role, b.device_id);
        if (suite && why.empty())
            for (const auto& [role, caps] : suite->roles)
                if (!bound.contains(role)) why = "role " + role + " has no device";
        if (!why.empty()) {
            store_->interrupt_run(run.id, cut + "; not resumed: " + why);
            spdlog::warn("run {} interrupted by the previous shutdown or crash, not resumed: {}", run.id, why);
            continue;
        }
        if (!store_->resume_run(run.id)) continue;
        ++run.resumed;
        spdlog::warn("run {} (suite {} on {}) was cut by the previous shutdown or crash; resuming it", run.id,
                     run.suite_id, run.device_id);
        auto active = std::make_unique<ActiveRun>();
        active->run = std::move(run);
        active->suite = suite;
        active->devices = std::move(bound);
        resuming_.push_back(std::move(active));
    }
}

void Station::start() {
    api::Server::Options opts;
    opts.bind = cfg_.api_bind;
    opts.port = cfg_.api_port;
    api_ = std::make_unique<api::Server>(io_.get_executor(), *this, opts);
    api_->start();
    spdlog::info("API listening on http://{}:{}", cfg_.api_bind, api_->port());
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
    dev->on_state = [bus = events_](const Device& d, DeviceState previous, const std::string& reason) {
        bus->device_state(d.device_id(), to_string(d.state()), to_string(previous), reason);
    };
    auto& ref = *dev;
    devices_.emplace(dc.id, std::move(dev));
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
    while (!stopping_) {
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
                const auto id = device.device_id();
                const auto address = device.address();
                spdlog::warn("{}: unclaimed: {}", address, unclaim);
                device.close();
                if (auto it = resources_.find(address); it != resources_.end()) {
                    it->second.device.clear();
                    it->second.reason = unclaim;
                }
                discovered_.erase(id);
                devices_.erase(id);  // `device` is gone: leave at once
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

std::optional<api::StartRunResult> Station::refuse_role(const Device& dev, const std::string& role,
                                                        const engine::Suite& suite) const {
    std::string who = "device '" + dev.device_id() + "'";
    if (role != "dut") who += " (role " + role + ")";
    for (const auto& cap : suite.roles.at(role))
        if (!dev.has_capability(cap))
            return api::StartRunResult{std::nullopt, 422,
                                       who + " lacks capability '" + cap + "' required by suite '" + suite.id + "'"};
    // A busy device queues the run; a lost one gets lost_wait to come back (wait_turn).
    // Only a quarantined device needs a technician first.
    if (dev.state() == DeviceState::quarantined) {
        const auto reason = dev.info().state_reason;
        std::string message = who + " is quarantined";
        if (!reason.empty()) message += ": " + reason;
        return api::StartRunResult{std::nullopt, 409, message + "; release it first"};
    }
    return std::nullopt;
}

api::StartRunResult Station::start_run(const std::string& device_id, const std::string& suite_id,
                                       std::optional<std::int64_t> certification_id) {
    if (stopping_) return {std::nullopt, 503, "station is shutting down"};
    auto it = devices_.find(device_id);
    if (it == devices_.end()) return {std::nullopt, 404, "no device '" + device_id + "'"};
    const auto* suite = find_suite(suite_id);
    if (!suite) return {std::nullopt, 404, "no suite '" + suite_id + "'"};
    auto& dev = *it->second;

    // Bind every role of the suite to a device: the dut, and the others through the
    // station's wiring of the dut. All must be ready; all turn busy together.
    std::map<std::string, Device*> bound{{"dut", &dev}};
    const auto* wiring = config::find_wiring(cfg_, device_id);
    for (const auto& [role, caps] : suite->roles) {
        if (role == "dut") continue;
        if (!wiring || !wiring->roles.contains(role))
            return {std::nullopt, 422, "suite '" + suite_id + "' needs a device in role " + role +
                                           "; station.yaml has no wiring of '" + device_id + "' for it"};
        const auto& target = wiring->roles.at(role);
        auto found = devices_.find(target);
        if (found == devices_.end()) return {std::nullopt, 422, "role " + role + ": no device '" + target + "'"};
        if (found->second.get() == &dev)
            return {std::nullopt, 422, "role " + role + ": '" + device_id + "' is the device under test"};
        bound[role] = found->second.get();
    }
    for (const auto& [role, d] : bound)
        if (auto refused = refuse_role(*d, role, *suite)) return *refused;
    auto firmware_of = [](const Device& d) {
        const auto identity = d.info().identity;
        const auto fw = identity.find("firmware");
        return fw == identity.end() ? std::string() : fw->second;
    };
    const std::string firmware = firmware_of(dev);
    if (certification_id) {
        try {
            desk_->check_run(*certification_id, device_id, suite_id, firmware);
        } catch (const certify::Refusal& e) {
            using K = certify::Refusal::Kind;
            return {std::nullopt, e.kind() == K::not_found ? 404 : e.kind() == K::invalid ? 422 : 409, e.what()};
        }
    }

    auto active = std::make_unique<ActiveRun>();
    auto& run = active->run;
    run.device_id = device_id;
    run.suite_id = suite->id;
    run.suite_title = suite->title;
    run.suite_hash = suite->hash;
    run.driver = dev.driver_name();
    run.station_id = cfg_.station_id;
    run.certlab_version = CERTLAB_VERSION;
    run.status = record::RunStatus::queued;
    run.started_at = std::chrono::system_clock::now();
    run.scenarios_total = static_cast<int>(suite->scenarios.size());
    run.firmware = firmware;
    run.certification_id = certification_id;
    for (const auto& [role, d] : bound)
        if (role != "dut") run.roles[role] = record::RoleBinding{d->device_id(), d->driver_name(), firmware_of(*d)};
    store_->begin_run(run);
    const auto id = run.id;
    if (certification_id) {
        try {
            desk_->run_started(*certification_id, id);
        } catch (const std::exception& e) {
            spdlog::error("run {}: certification {} not moved to lab: {}", id, *certification_id, e.what());
        }
    }
    active->suite = suite;
    active->devices = std::move(bound);
    enqueue(std::move(active));
    spdlog::info("run {} queued: suite {} on device {}", id, suite_id, device_id);
    return {id, 202, {}};
}

void Station::enqueue(std::unique_ptr<ActiveRun> active) {
    const auto id = active->run.id;
    // Runs join every queue they need in the order they were made, so the oldest
    // waiting run is at the head of all of its queues: no two runs wait on each other.
    for (const auto& [role, d] : active->devices) queues_[d->device_id()].push_back(id);
    active->control.prompter = prompts_.get();
    active->control.lost_wait = cfg_.lost_wait;
    const auto* suite = active->suite;
    events_->run_queued(active->run);
    active_.emplace(id, std::move(active));
    spawn(io_, execute(id, *suite), "run " + std::to_string(id));
}

Station::Blocked Station::blocked(const ActiveRun& active) const {
    for (const auto& [role, d] : active.devices) {
        const auto& id = d->device_id();
        const auto& q = queues_.at(id);
        if (q.front() != active.run.id)
            return {"waiting for run " + std::to_string(q.front()) + " on device '" + id + "'", false};
        if (d->current_run) return {"device '" + id + "' is busy with run " + std::to_string(*d->current_run), false};
        // Identification has the link until it is done.
        if (d->bringing_up()) return {"device '" + id + "' is being brought up", active.run.resumed == 0};
        // A resumed run goes on with the devices it had, up or not: a restart may
        // have cut a power cycle with the dut's power off, and the run's own setup
        // and power cycle are what bring it back (its steps wait lost_wait for it).
        if (active.run.resumed > 0 && d->state() != DeviceState::quarantined) continue;
        if (d->state() != DeviceState::ready) {
            std::string why = "device '" + id + "' is " + std::string(to_string(d->state()));
            if (const auto reason = d->info().state_reason; !reason.empty()) why += ": " + reason;
            return {why, true};
        }
    }
    return {};
}

sdk::Task<bool> Station::wait_turn(ActiveRun& active) {
    // Polled: a run waits on queues and device states that change in many places,
    // and 50 ms is nothing next to a run. A device that is there but not ready
    // (lost, coming up) has lost_wait from when the run could otherwise go.
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> not_ready_since;
    std::string last;
    for (;;) {
        if (active.control.stop_requested) {
            active.run.reason = "stopped before it started: " + active.control.stop_reason;
            co_return false;
        }
        const auto [why, away] = blocked(active);
        if (why.empty()) co_return true;
        if (why != last) spdlog::info("run {}: {}", active.run.id, why);
        last = why;
        if (!away) {
            not_ready_since.reset();
        } else {
            if (!not_ready_since) not_ready_since = Clock::now();
            if (Clock::now() - *not_ready_since >= cfg_.lost_wait) {
                active.run.reason = why + " (waited " + std::to_string(cfg_.lost_wait.count()) + " ms)";
                co_return false;
            }
        }
        co_await sleep_for(std::chrono::milliseconds(50));
    }
}

void Station::leave_queues(const ActiveRun& active) {
    for (const auto& [role, d] : active.devices) {
        auto& q = queues_[d->device_id()];
        q.erase(std::remove(q.begin(), q.end(), active.run.id), q.end());
        if (q.empty()) queues_.erase(d->device_id());
    }
}

sdk::Task<void> Station::execute(std::int64_t run_id, const engine::Suite& suite) {
    auto& active = *active_.at(run_id);
    if (!co_await wait_turn(active)) {
        // Never started: nothing ran, so nothing is left to stop.
        const bool stopped = active.control.stop_requested;
        spdlog::warn("run {} not started: {}", run_id, active.run.reason);
        try {
            store_->end_run(run_id, stopped ? record::RunStatus::aborted : record::RunStatus::completed,
                            stopped ? record::Outcome::aborted : record::Outcome::error, active.run.reason);
        } catch (const std::exception& e) {
            spdlog::error("run {} could not be closed in the store: {}", run_id, e.what());
        }
        metrics_.run_ended(stopped ? record::Outcome::aborted : record::Outcome::error);
        publish_run_ended(run_id);
        leave_queues(active);
        active_.erase(run_id);
        co_return;
    }
    for (const auto& [role, d] : active.devices) {
        d->current_run = run_id;
        d->set_state(DeviceState::busy);
    }
    events_->run_started(active.run);
    engine::RoleLinks links;
    for (const auto& [role, d] : active.devices) links[role] = d;
    engine::RunObserver observer;
    // Scenario result id -> scenario id and planned iterations, for the step events.
    std::map<std::int64_t, std::pair<std::string, int>> scenario_of;
    observer.on_step = [this, &scenario_of, &active](const record::StepResult& s) {
        metrics_.on_step(s);
        if (!scenario_of.contains(s.scenario_result_id))
            if (auto detail = store_->get_run_detail(s.run_id, 0))
                for (const auto& sc : detail->scenarios) scenario_of[sc.id] = {sc.scenario_id, sc.iterations_planned};
        std::pair<std::string, int> sc{"", 1};
        if (auto it = scenario_of.find(s.scenario_result_id); it != scenario_of.end()) sc = it->second;
        events_->step(s, sc.first, sc.second, active.run.device_id);
    };
    observer.on_scenario = [&](const record::ScenarioResult& s) {
        metrics_.on_scenario(s);
        events_->scenario_ended(s, active.run.device_id);
        spdlog::info("run {} {} {}: {}{}{}", run_id, s.scenario_id, s.title,
                     record::to_string(*s.outcome), s.reason.empty() ? "" : " - ", s.reason);
    };
    active.runner = std::make_unique<engine::Runner>(*store_, std::move(links), suite, active.run,
                                                     active.control, std::move(observer));
    try {
        auto outcome = co_await active.runner->run();
        spdlog::info("run {} {}: {} ({})", run_id, record::to_string(active.run.status),
                     record::to_string(outcome), active.run.reason);
        metrics_.run_ended(outcome);
    } catch (const std::exception& e) {
        // The store failed: the run cannot be recorded further. Say so loudly.
        spdlog::error("run {} stopped: {}", run_id, e.what());
        metrics_.run_ended(record::Outcome::error);
        try {
            store_->end_run(run_id, record::RunStatus::aborted, record::Outcome::error, e.what());
        } catch (const std::exception& e2) {
            spdlog::error("run {} could not be closed in the store: {}", run_id, e2.what());
        }
    }
    publish_run_ended(run_id);
    if (active.run.certification_id) {
        // Every failed required scenario becomes an outstanding issue (once per run).
        try {
            for (const auto& issue : desk_->sync_issues(*active.run.certification_id))
                spdlog::info("run {}: issue {} raised: {}", run_id, issue.id, issue.title);
        } catch (const std::exception& e) {
            spdlog::error("run {}: its failures are not issues yet (retried at the next start): {}", run_id, e.what());
        }
    }
    for (const auto& [role, d] : active.devices) {
        d->current_run.reset();
        // One a resumed run took before this process identified it is brought up now.
        if (d->state() == DeviceState::busy) d->set_state(d->identified() ? DeviceState::ready : DeviceState::present);
    }
    leave_queues(active);
    active_.erase(run_id);
}

void Station::publish_run_ended(std::int64_t run_id) {
    try {
        if (auto run = store_->get_run(run_id)) events_->run_ended(*run);
    } catch (const std::exception& e) {
        spdlog::error("run {}: no run.ended event: {}", run_id, e.what());
    }
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

api::ActionResult Station::abort_run(std::int64_t run_id, const std::string& by, const std::string& reason) {
    // A run this station holds stops at its next step boundary: the runner finishes
    // and commits the step in flight, ends the run `aborted`, and execute() frees its
    // devices. A second request changes nothing (RunControl keeps the first reason).
    if (auto it = active_.find(run_id); it != active_.end()) {
        std::string why = "aborted by " + by;
        if (!reason.empty()) why += ": " + reason;
        spdlog::info("run {}: {}; stopping at the next step boundary", run_id, why);
        it->second->control.request_stop(std::move(why));
        return {202, {}};
    }
    // Not held here: the record says whether it ever existed and how it ended.
    const auto run = store_->get_run(run_id);
    const auto id = "run " + std::to_string(run_id);
    if (!run) return {404, "no " + id};
    const auto status = std::string(record::to_string(run->status));
    if (run->status == record::RunStatus::queued || run->status == record::RunStatus::running)
        return {409, id + " is " + status + " in the record but not in progress on this station"};
    std::string how = id + " has already ended: " + status;
    if (run->outcome) how += ", outcome " + std::string(record::to_string(*run->outcome));
    if (!run->reason.empty()) how += " (" + run->reason + ")";
    return {409, how};
}

api::HealthInfo Station::health() const {
    return {stopping_ ? "stopping" : "ok", cfg_.station_id, CERTLAB_VERSION,
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)};
}

std::vector<api::DeviceInfo> Station::devices() const {
    std::vector<api::DeviceInfo> out;
    for (const auto& [id, dev] : devices_) out.push_back(dev->info());
    return out;
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
