#include "station/device.hpp"

#include <spdlog/spdlog.h>

#include "sdk/error.hpp"
#include "station/recording.hpp"
#include "transport/address.hpp"
#include "transport/factory.hpp"
#include "transport/recording.hpp"
#include "transport/tls.hpp"

namespace certlab::station {

std::string_view to_string(DeviceState s) {
    switch (s) {
        case DeviceState::present: return "present";
        case DeviceState::identified: return "identified";
        case DeviceState::ready: return "ready";
        case DeviceState::busy: return "busy";
        case DeviceState::lost: return "lost";
        case DeviceState::quarantined: return "quarantined";
    }
    return "?";
}

namespace {

std::shared_ptr<spdlog::logger> device_logger(const std::string& id) {
    auto base = spdlog::default_logger();
    auto log = std::make_shared<spdlog::logger>("device." + id, base->sinks().begin(), base->sinks().end());
    log->set_level(base->level());
    return log;
}

transport::Address resolve_address(const config::DeviceConfig& cfg, const config::DeviceProfile& profile) {
    auto addr = transport::parse_address(cfg.address);
    // Profile defaults first, then the bench's overrides; both were checked at load.
    for (const auto* list : {&profile.serial, &cfg.serial})
        for (const auto& s : *list) {
            try {
                transport::apply_serial_option(addr.serial, s.key, s.value);
            } catch (const sdk::ConfigError& e) {
                throw sdk::ConfigError(s.where + ": " + e.what());
            }
        }
    // tls: the CA file and server name, where the address query does not give them.
    if (addr.kind == transport::Address::Kind::tls)
        for (const auto* settings : {&cfg.settings, &profile.settings}) transport::fill_tls_options(addr, *settings);
    return addr;
}

sdk::Settings merge(const sdk::Settings& base, const sdk::Settings& over) {
    sdk::Settings out = base;
    for (const auto& [k, e] : over.entries()) out.set(k, e.value, e.where);
    return out;
}

/// What kind of link an address names, for a statically declared device.
sdk::Resource::Kind kind_of(const std::string& address) {
    if (address.starts_with("tcp:") || address.starts_with("tls:")) return sdk::Resource::Kind::net;
    if (address.starts_with("usb:")) return sdk::Resource::Kind::usb;
    return sdk::Resource::Kind::serial;
}

/// The transport, behind a recorder when the station records (--record).
std::unique_ptr<sdk::Transport> recorded(std::unique_ptr<sdk::Transport> t,
                                         const std::shared_ptr<transport::CaptureWriter>& capture) {
    if (!capture) return t;
    return std::make_unique<transport::RecordingTransport>(std::move(t), capture);
}

}  // namespace

Device::Device(boost::asio::any_io_executor ex, const config::DeviceConfig& cfg,
               const config::DeviceProfile& profile, const sdk::DriverInfo& driver,
               std::shared_ptr<transport::CaptureWriter> capture)
    : id_(cfg.id), profile_(profile), driver_info_(driver), address_(cfg.address),
      resource_{kind_of(cfg.address), cfg.address, {}, "config"},
      settings_(merge(profile.settings, cfg.settings)),
      capture_(std::move(capture)),
      transport_(recorded(transport::make_transport(resolve_address(cfg, profile), ex), capture_)),
      stream_(*transport_), log_(device_logger(cfg.id)),
      state_since_(std::chrono::system_clock::now()) {
    open_timeout_ = settings_.get_duration("open_timeout", std::chrono::seconds(2));
    ctx_ = std::make_unique<sdk::DriverContext>(
        sdk::DriverContext{id_, resource_, stream_, settings_, log_, profile_.actions});
    driver_ = driver_info_.create(*ctx_);
    if (capture_) driver_ = std::make_unique<RecordingDriver>(std::move(driver_), capture_);
}

Device::~Device() { close(); }

std::string Device::driver_name() const { return driver_info_.name + " " + driver_info_.version; }

bool Device::has_capability(std::string_view cap) const {
    return std::find(profile_.capabilities.begin(), profile_.capabilities.end(), cap) !=
           profile_.capabilities.end();
}

sdk::Task<void> Device::ensure_open() {
    if (open_) co_return;
    co_await transport_->open(open_timeout_);
    try {
        co_await driver_->open();
    } catch (...) {
        transport_->close();
        throw;
    }
    open_ = true;
    // Back mid-run: the run holding the device carries on. (Idle devices come
    // back through bring_up, which identifies them first.)
    if (state_ == DeviceState::lost && current_run) {
        log_->info("link to {} restored", address_);
        set_state(DeviceState::busy);
    }
}

void Device::fault(std::string_view reason) {
    log_->warn("link fault on {}: {}", address_, reason);
    close();
    ++consecutive_faults_;
    if (quarantine_after_ > 0 && consecutive_faults_ >= quarantine_after_) {
        set_state(DeviceState::quarantined, std::to_string(consecutive_faults_) + " consecutive link faults; last: " +
                                                std::string(reason));
        return;
    }
    if (state_ != DeviceState::quarantined) set_state(DeviceState::lost, std::string(reason));
}

void Device::bring_up_failed(std::string_view reason) {
    // An absent device is not a faulty one: failing to reach it does not count
    // toward quarantine. Faults on a link that was up do (see fault()).
    close();
    if (state_ == DeviceState::quarantined) return;  // a fault during bring-up may have just quarantined it
    set_state(DeviceState::lost, std::string(reason));
}

void Device::release() {
    log_->info("released from quarantine by a technician");
    consecutive_faults_ = 0;
    set_state(DeviceState::present, "released");
}

sdk::Task<void> Device::bring_up() {
    // A run must not start on the link while identification is using it.
    struct Busy {
        bool& flag;
        explicit Busy(bool& f) : flag(f) { flag = true; }
        ~Busy() { flag = false; }
    } busy(bringing_up_);
    co_await ensure_open();
    try {
        identity_ = co_await driver_->identify();
        identified_ = true;
    } catch (const sdk::TransportError& e) {
        fault(e.what());
        throw;
    }
    // consecutive_faults_ is not reset here: a device that comes back and drops
    // again without completing an action is flapping. A successful action resets it.
    set_state(DeviceState::identified);
    log_->info("identified {} {} firmware {} serial {}", identity_.manufacturer, identity_.model,
               identity_.firmware, identity_.serial_number);
    set_state(DeviceState::ready);
}

void Device::check_link() {
    // Unplugged while idle is not a fault in use: lost, but not counted toward quarantine.
    if (state_ == DeviceState::ready && !current_run && open_ && transport_->peer_closed()) {
        log_->info("link to {} closed while idle", address_);
        close();
        set_state(DeviceState::lost, "the device went away while idle (link closed)");
    }
}

void Device::close() noexcept {
    if (open_) driver_->close();
    transport_->close();
    open_ = false;
}

void Device::set_state(DeviceState s, std::string reason) {
    if (s == state_ && reason == state_reason_) return;
    if (capture_ && (s == DeviceState::lost || s == DeviceState::quarantined))
        capture_->mark(transport::marker::lost, s == DeviceState::quarantined ? "quarantined: " + reason : reason);
    log_->log(s == DeviceState::lost ? spdlog::level::warn : spdlog::level::info, "state {} -> {}{}{}",
              to_string(state_), to_string(s), reason.empty() ? "" : ": ", reason);
    const auto previous = state_;
    state_ = s;
    state_reason_ = std::move(reason);
    state_since_ = std::chrono::system_clock::now();
    if (on_state) on_state(*this, previous, state_reason_);
}

api::DeviceInfo Device::info() const {
    api::DeviceInfo i;
    i.id = id_;
    i.profile = profile_.id;
    i.driver = driver_name();
    i.address = address_;
    i.state = std::string(to_string(state_));
    i.state_reason = state_reason_;
    i.state_since = state_since_;
    i.current_run = current_run;
    i.capabilities = profile_.capabilities;
    auto put = [&](const char* k, const std::string& v) {
        if (!v.empty()) i.identity[k] = v;
    };
    put("manufacturer", identity_.manufacturer);
    put("model", identity_.model);
    put("serial_number", identity_.serial_number);
    put("firmware", identity_.firmware);
    for (const auto& [k, v] : identity_.extra) i.identity[k] = v.to_string();
    return i;
}

}  // namespace certlab::station
