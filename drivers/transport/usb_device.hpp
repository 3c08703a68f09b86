// libusb helpers shared by the USB transport and the USB watcher: owning handles,
// port paths, the printer-class interface, string descriptors and the IEEE 1284
// device id. Includes libusb.h, so only .cpp files include this header.
#pragma once

#include <libusb.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace certlab::transport::usb {

struct ContextDeleter {
    void operator()(libusb_context* c) const noexcept { libusb_exit(c); }
};
using ContextPtr = std::unique_ptr<libusb_context, ContextDeleter>;

struct HandleDeleter {
    void operator()(libusb_device_handle* h) const noexcept { libusb_close(h); }
};
using HandlePtr = std::unique_ptr<libusb_device_handle, HandleDeleter>;

struct ConfigDeleter {
    void operator()(libusb_config_descriptor* c) const noexcept { libusb_free_config_descriptor(c); }
};
using ConfigPtr = std::unique_ptr<libusb_config_descriptor, ConfigDeleter>;

/// A counted reference to a libusb_device (libusb_ref_device / libusb_unref_device).
class DeviceRef {
public:
    DeviceRef() = default;
    explicit DeviceRef(libusb_device* d) : dev_(d ? libusb_ref_device(d) : nullptr) {}
    DeviceRef(const DeviceRef& o) : DeviceRef(o.dev_) {}
    DeviceRef(DeviceRef&& o) noexcept : dev_(std::exchange(o.dev_, nullptr)) {}
    DeviceRef& operator=(DeviceRef o) noexcept {
        std::swap(dev_, o.dev_);
        return *this;
    }
    ~DeviceRef() {
        if (dev_) libusb_unref_device(dev_);
    }
    [[nodiscard]] libusb_device* get() const { return dev_; }
    explicit operator bool() const { return dev_ != nullptr; }

private:
    libusb_device* dev_ = nullptr;
};

/// The devices libusb knows now (libusb_get_device_list), freed with the object.
class DeviceList {
public:
    /// Throws std::runtime_error when libusb cannot list devices.
    explicit DeviceList(libusb_context* ctx);
    DeviceList(const DeviceList&) = delete;
    DeviceList& operator=(const DeviceList&) = delete;
    ~DeviceList();
    [[nodiscard]] libusb_device* const* begin() const { return list_; }
    [[nodiscard]] libusb_device* const* end() const { return list_ + size_; }

private:
    libusb_device** list_ = nullptr;
    std::size_t size_ = 0;
};

/// "LIBUSB_ERROR_NO_DEVICE: No such device (it may have been disconnected)".
[[nodiscard]] std::string error_text(int rc);

/// The kernel's name for the port a device is plugged into, "1-4.2" (bus 1, root hub
/// port 4, hub port 2); nullopt for root hubs, which sit on no port.
[[nodiscard]] std::optional<std::string> port_path(libusb_device* dev);

/// The active configuration, or the first one when the device is unconfigured.
[[nodiscard]] ConfigPtr config_descriptor(libusb_device* dev);

/// A printer-class (7) interface and its bulk endpoints.
struct PrinterInterface {
    std::uint8_t config_index = 0;   ///< index of the configuration (GET_DEVICE_ID wValue)
    std::uint8_t config_value = 1;   ///< bConfigurationValue
    std::uint8_t interface = 0;
    std::uint8_t alt_setting = 0;
    std::uint8_t protocol = 0;       ///< 1 unidirectional, 2 bidirectional, 3 IEEE 1284.4
    std::uint8_t ep_out = 0;         ///< bulk OUT endpoint address
    std::uint8_t ep_in = 0;          ///< bulk IN endpoint address; 0 when unidirectional
    std::uint16_t in_packet = 64;    ///< wMaxPacketSize of the IN endpoint [B]
};

/// The printer interface to use: the first alternate setting of class 7 with a bulk
/// OUT endpoint, preferring bidirectional ones (protocol 2, then 3) that have a bulk IN.
[[nodiscard]] std::optional<PrinterInterface> find_printer_interface(libusb_device* dev);

/// "07:01:02,ff:00:00": class:subclass:protocol of each interface (first alternate
/// setting), in hex, for people and profiles; empty when no configuration is readable.
[[nodiscard]] std::string interface_classes(libusb_device* dev);

/// A string descriptor as UTF-8 through a control transfer (GET_DESCRIPTOR, first
/// language the device lists); empty on index 0 or any failure.
[[nodiscard]] std::string read_string(libusb_device_handle* h, std::uint8_t index,
                                      std::chrono::milliseconds timeout);

/// IEEE 1284 GET_DEVICE_ID: printer-class request 0, device to host, to the printer
/// interface. Reads only; nothing is written to the printer. Returns the id text
/// ("MFG:...;CMD:...;") or the libusb error code.
struct DeviceIdAnswer {
    std::string text;
    int error = 0;  ///< libusb error code; 0 on success
};
[[nodiscard]] DeviceIdAnswer read_ieee1284_id(libusb_device_handle* h, const PrinterInterface& p,
                                              std::chrono::milliseconds timeout);

}  // namespace certlab::transport::usb
