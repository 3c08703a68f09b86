// USB discovery: libusb hotplug arrivals and departures where the platform has
// them, plus a periodic rescan (the only source where it has not). Describing a
// device reads its descriptors, its string descriptors and, for printers, the IEEE
// 1284 device id: read-only control requests. No interface is claimed and no bulk
// endpoint is opened, so an unidentified device never receives a byte to act on.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "inventory/watcher.hpp"

namespace certlab::inventory {

struct UsbWatchOptions {
    bool hotplug = true;  ///< use libusb hotplug where the platform supports it
    /// Full rescan this often: the only source without hotplug, a safety net with it.
    std::chrono::milliseconds rescan_interval{2000};
    std::chrono::milliseconds control_timeout{500};  ///< per string / device id request
};

/// What describing one device found (no libusb types, so it can be built in tests).
struct UsbDeviceInfo {
    std::string port_path;      ///< "1-4.2"
    int bus = 0;
    int devnum = 0;             ///< address on the bus; changes on every re-plug
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::uint8_t device_class = 0;
    std::string interfaces;     ///< "07:01:02,ff:00:00" (class:subclass:protocol)
    std::string manufacturer;
    std::string product;
    std::string serial_number;
    std::string ieee1284_id;    ///< printers: the GET_DEVICE_ID text, if it answered
};

/// The Resource for a device: address `usb:<port_path>`, attributes port_path, bus,
/// devnum, vid, pid (4 lower-case hex digits), class (2 hex digits), interfaces,
/// manufacturer, product, serial_number (when the device has them) and
/// ieee1284.<KEY> for each field of the 1284 id (ieee1284.MFG, .CMD, .MDL, ...).
[[nodiscard]] sdk::Resource usb_resource(const UsbDeviceInfo& d);

class UsbWatcher final : public Watcher {
public:
    /// Throws std::invalid_argument on a non-positive interval or timeout.
    UsbWatcher(boost::asio::any_io_executor ex, UsbWatchOptions opts);
    ~UsbWatcher() override;
    UsbWatcher(const UsbWatcher&) = delete;
    UsbWatcher& operator=(const UsbWatcher&) = delete;

    [[nodiscard]] std::string name() const override { return "usb"; }
    /// Initialises libusb (std::runtime_error when it cannot) and starts the watcher
    /// thread, which reports the devices present first.
    void start(WatcherSink sink) override;
    /// Stops the thread (waiting for a device description in progress, bounded by
    /// the control timeouts). Call on the executor's thread.
    void stop() noexcept override;

private:
    struct State;
    std::shared_ptr<State> state_;  ///< shared with handlers posted to the executor
};

}  // namespace certlab::inventory
