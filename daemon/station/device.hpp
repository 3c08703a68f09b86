// A configured device on the bench: its transport, driver and state machine.
// present -> identified -> ready <-> busy; lost when the link fails.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "api/station_view.hpp"
#include "config/station_config.hpp"
#include "engine/device_link.hpp"
#include "sdk/registry.hpp"

namespace certlab::transport {
class CaptureWriter;
}

namespace certlab::station {

enum class DeviceState { present, identified, ready, busy, lost, quarantined };
[[nodiscard]] std::string_view to_string(DeviceState s);

class Device final : public engine::DeviceLink {
public:
    /// Creates the transport and the driver (settings are checked here, no I/O).
    /// With a `capture`, every session is recorded into it (station/recording.hpp).
    Device(boost::asio::any_io_executor ex, const config::DeviceConfig& cfg,
           const config::DeviceProfile& profile, const sdk::DriverInfo& driver,
           std::shared_ptr<transport::CaptureWriter> capture = {});
    ~Device() override;

    // engine::DeviceLink
    [[nodiscard]] const std::string& device_id() const override { return id_; }
    [[nodiscard]] std::string driver_name() const override;
    sdk::Task<void> ensure_open() override;
    [[nodiscard]] sdk::Driver& driver() override { return *driver_; }
    [[nodiscard]] sdk::Stream& stream() override { return stream_; }
    void fault(std::string_view reason) override;
    void link_ok() override { consecutive_faults_ = 0; }
    /// After this many link faults in a row the device is quarantined (0 = never).
    void set_quarantine_after(int n) { quarantine_after_ = n; }
    /// A technician releases a quarantined device: it is brought up again.
    void release();
    /// Bring-up failed: the device is (still) lost; does not count toward quarantine.
    void bring_up_failed(std::string_view reason);

    /// Opens and identifies the device: present -> identified -> ready. Throws on failure.
    sdk::Task<void> bring_up();
    /// bring_up is under way: the link is in use.
    [[nodiscard]] bool bringing_up() const { return bringing_up_; }
    /// Identified at least once by this process (a resumed run may hold a device before).
    [[nodiscard]] bool identified() const { return identified_; }
    void close() noexcept;
    /// An idle, ready device whose link reports the peer gone becomes lost.
    void check_link();

    [[nodiscard]] DeviceState state() const { return state_; }
    void set_state(DeviceState s, std::string reason = {});
    /// Told after every state change (the station's event bus): the state before, and why now.
    std::function<void(const Device&, DeviceState previous, const std::string& reason)> on_state;
    [[nodiscard]] const std::string& address() const { return address_; }
    [[nodiscard]] const sdk::Resource& resource() const { return resource_; }
    [[nodiscard]] const std::vector<std::string>& capabilities() const { return profile_.capabilities; }
    [[nodiscard]] bool has_capability(std::string_view cap) const;
    std::optional<std::int64_t> current_run;
    [[nodiscard]] api::DeviceInfo info() const;

private:
    std::string id_;
    const config::DeviceProfile& profile_;
    const sdk::DriverInfo& driver_info_;
    std::string address_;
    sdk::Resource resource_;
    sdk::Settings settings_;
    std::shared_ptr<transport::CaptureWriter> capture_;  ///< null unless recording (--record)
    std::unique_ptr<sdk::Transport> transport_;
    sdk::Stream stream_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<sdk::DriverContext> ctx_;
    std::unique_ptr<sdk::Driver> driver_;
    bool open_ = false;
    bool bringing_up_ = false;
    bool identified_ = false;
    int consecutive_faults_ = 0;
    int quarantine_after_ = 5;
    DeviceState state_ = DeviceState::present;
    std::string state_reason_;
    record::TimePoint state_since_;
    sdk::Identity identity_;
    std::chrono::microseconds open_timeout_;
};

}  // namespace certlab::station
