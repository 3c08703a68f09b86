// What the engine needs of a device: its driver, its byte stream (for the
// transcript tap) and a way to (re)open it. The station implements it.
#pragma once

#include <string>
#include <string_view>

#include "sdk/driver.hpp"
#include "sdk/task.hpp"
#include "sdk/transport.hpp"

namespace certlab::engine {

class DeviceLink {
public:
    virtual ~DeviceLink() = default;
    [[nodiscard]] virtual const std::string& device_id() const = 0;
    /// "escpos 1.0": driver name and version, for provenance.
    [[nodiscard]] virtual std::string driver_name() const = 0;
    /// Opens the transport and the driver if they are closed; throws TransportError.
    virtual sdk::Task<void> ensure_open() = 0;
    [[nodiscard]] virtual sdk::Driver& driver() = 0;
    [[nodiscard]] virtual sdk::Stream& stream() = 0;
    /// The link failed (disconnect, I/O error): close it; the next ensure_open reopens.
    virtual void fault(std::string_view reason) = 0;
    /// A call went through without a link fault (resets the consecutive-fault count).
    virtual void link_ok() {}
};

}  // namespace certlab::engine
