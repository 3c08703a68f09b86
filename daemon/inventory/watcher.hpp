// Discovery watchers report what appears and disappears on the bench. A watcher
// never writes a byte to what it finds: it only enumerates (libusb descriptors,
// sysfs, TCP connect without sending, mDNS browse).
#pragma once

#include <functional>
#include <string>

#include "sdk/resource.hpp"

namespace certlab::inventory {

/// Where a watcher sends its findings. Called on the station's executor.
struct WatcherSink {
    /// A resource is present (again). Repeated arrivals of the same address are allowed.
    std::function<void(const sdk::Resource&)> arrived;
    /// The resource at this address is gone.
    std::function<void(const std::string& address)> departed;
};

class Watcher {
public:
    virtual ~Watcher() = default;
    [[nodiscard]] virtual std::string name() const = 0;  ///< "usb", "serial", "net"
    /// Starts watching on the executor given at construction; reports current
    /// resources as arrivals first. Throws std::runtime_error if it cannot start.
    virtual void start(WatcherSink sink) = 0;
    /// Stops; no sink call happens after stop() returns.
    virtual void stop() noexcept = 0;
};

}  // namespace certlab::inventory
