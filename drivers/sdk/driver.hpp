// The driver contract. Lifecycle: create (reads settings, no I/O) -> open -> identify
// -> invoke actions -> close. A driver never exits the daemon on a device error: it
// throws TransportError / ProtocolError from the action in flight and is reused.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sdk/capability.hpp"
#include "sdk/profile_action.hpp"
#include "sdk/resource.hpp"
#include "sdk/settings.hpp"
#include "sdk/task.hpp"
#include "sdk/transport.hpp"
#include "sdk/value.hpp"

namespace spdlog {
class logger;
}

namespace certlab::sdk {

/// What a device says about itself. Empty fields are unknown.
struct Identity {
    std::string manufacturer;
    std::string model;
    std::string serial_number;
    std::string firmware;
    Values extra;  ///< driver-specific identification values
};

/// Everything a driver is given at creation. It outlives the driver.
struct DriverContext {
    std::string device_id;
    const Resource& resource;  ///< where the device is and what discovery saw
    Stream& io;
    const Settings& settings;
    std::shared_ptr<spdlog::logger> log;  ///< named after the device
    /// The profile's `actions:` (empty unless the driver takes its actions from there).
    std::span<const ProfileAction> actions = {};
};

class Driver {
public:
    virtual ~Driver() = default;

    /// Called after the transport opened: bring the device to a known state.
    /// Must not produce output on the device (a printer must not print).
    virtual Task<void> open() = 0;
    virtual Task<Identity> identify() = 0;
    /// Runs one action of one of the driver's capabilities. `action` comes from the
    /// capability catalog and `args` were checked against it. Returns the action's
    /// results; throws TransportError (station fault) or ProtocolError (device fault).
    virtual Task<Values> invoke(const ActionSpec& action, const Args& args) = 0;
    /// Called before the transport closes; must not throw.
    virtual void close() noexcept {}
};

}  // namespace certlab::sdk
