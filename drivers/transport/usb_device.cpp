#include "transport/usb_device.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

#include "transport/usb_ieee1284.hpp"

namespace certlab::transport::usb {
namespace {

constexpr std::uint8_t kPrinterClass = LIBUSB_CLASS_PRINTER;
constexpr std::uint8_t kGetDeviceId = 0;  // printer class request GET_DEVICE_ID
constexpr std::size_t kMaxDeviceId = 1024;

unsigned timeout_ms(std::chrono::milliseconds t) {
    // libusb reads 0 as "no timeout": never ask for that by accident.
    return static_cast<unsigned>(std::max<std::chrono::milliseconds::rep>(t.count(), 1));
}

bool is_bulk(const libusb_endpoint_descriptor& ep) {
    return (ep.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) == LIBUSB_TRANSFER_TYPE_BULK;
}

/// Ranks printer protocols: bidirectional first, then 1284.4, then unidirectional.
int protocol_rank(const PrinterInterface& p) {
    if (p.ep_in == 0) return 0;
    if (p.protocol == 2) return 3;
    if (p.protocol == 3) return 2;
    return 1;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

/// UTF-16LE (a string descriptor's payload) to UTF-8; unpaired surrogates become U+FFFD.
std::string utf16le_to_utf8(const unsigned char* p, std::size_t bytes) {
    std::string out;
    for (std::size_t i = 0; i + 1 < bytes; i += 2) {
        char32_t u = p[i] | (p[i + 1] << 8);
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < bytes) {
            char32_t lo = p[i + 2] | (p[i + 3] << 8);
            if (lo >= 0xDC00 && lo < 0xE000) {
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            } else {
                u = 0xFFFD;
            }
        } else if (u >= 0xD800 && u < 0xE000) {
            u = 0xFFFD;
        }
        if (u == 0) break;  // some devices NUL-terminate
        append_utf8(out, u);
    }
    return out;
}

}  // namespace

DeviceList::DeviceList(libusb_context* ctx) {
    const ssize_t n = libusb_get_device_list(ctx, &list_);
    if (n < 0) throw std::runtime_error("libusb_get_device_list: " + error_text(static_cast<int>(n)));
    size_ = static_cast<std::size_t>(n);
}

DeviceList::~DeviceList() {
    if (list_) libusb_free_device_list(list_, 1);
}

std::string error_text(int rc) {
    return std::string(libusb_error_name(rc)) + ": " + libusb_strerror(rc);
}

std::optional<std::string> port_path(libusb_device* dev) {
    std::array<std::uint8_t, 7> ports{};  // USB has at most 7 tiers
    const int n = libusb_get_port_numbers(dev, ports.data(), static_cast<int>(ports.size()));
    if (n <= 0) return std::nullopt;
    std::string path = std::to_string(libusb_get_bus_number(dev)) + "-";
    for (int i = 0; i < n; ++i) path += (i ? "." : "") + std::to_string(ports[static_cast<std::size_t>(i)]);
    return path;
}

ConfigPtr config_descriptor(libusb_device* dev) {
    libusb_config_descriptor* c = nullptr;
    if (libusb_get_active_config_descriptor(dev, &c) == 0) return ConfigPtr(c);
    if (libusb_get_config_descriptor(dev, 0, &c) == 0) return ConfigPtr(c);
    return nullptr;
}

std::optional<PrinterInterface> find_printer_interface(libusb_device* dev) {
    libusb_device_descriptor dd{};
    if (libusb_get_device_descriptor(dev, &dd) != 0) return std::nullopt;
    std::optional<PrinterInterface> best;
    for (std::uint8_t ci = 0; ci < dd.bNumConfigurations; ++ci) {
        libusb_config_descriptor* raw = nullptr;
        if (libusb_get_config_descriptor(dev, ci, &raw) != 0) continue;
        ConfigPtr config(raw);
        for (int i = 0; i < config->bNumInterfaces; ++i) {
            const auto& itf = config->interface[i];
            for (int a = 0; a < itf.num_altsetting; ++a) {
                const auto& alt = itf.altsetting[a];
                if (alt.bInterfaceClass != kPrinterClass) continue;
                PrinterInterface p;
                p.config_index = ci;
                p.config_value = config->bConfigurationValue;
                p.interface = alt.bInterfaceNumber;
                p.alt_setting = alt.bAlternateSetting;
                p.protocol = alt.bInterfaceProtocol;
                for (int e = 0; e < alt.bNumEndpoints; ++e) {
                    const auto& ep = alt.endpoint[e];
                    if (!is_bulk(ep)) continue;
                    const bool in = (ep.bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN;
                    if (in && p.ep_in == 0) {
                        p.ep_in = ep.bEndpointAddress;
                        p.in_packet = static_cast<std::uint16_t>(ep.wMaxPacketSize & 0x7FF);
                        if (p.in_packet == 0) p.in_packet = 64;
                    } else if (!in && p.ep_out == 0) {
                        p.ep_out = ep.bEndpointAddress;
                    }
                }
                if (p.ep_out == 0) continue;  // nothing to print through
                if (!best || protocol_rank(p) > protocol_rank(*best)) best = p;
            }
        }
        if (best) break;  // the first configuration that has one; switching configs is not our business
    }
    return best;
}

std::string interface_classes(libusb_device* dev) {
    auto config = config_descriptor(dev);
    if (!config) return {};
    std::string out;
    for (int i = 0; i < config->bNumInterfaces; ++i) {
        if (config->interface[i].num_altsetting < 1) continue;
        const auto& alt = config->interface[i].altsetting[0];
        char buf[16];
        std::snprintf(buf, sizeof buf, "%02x:%02x:%02x", alt.bInterfaceClass, alt.bInterfaceSubClass,
                      alt.bInterfaceProtocol);
        out += (out.empty() ? "" : ",") + std::string(buf);
    }
    return out;
}

std::string read_string(libusb_device_handle* h, std::uint8_t index, std::chrono::milliseconds timeout) {
    if (index == 0) return {};
    std::array<unsigned char, 255> buf{};
    // String 0 lists the languages; ask in the first one, as libusb's own helper does.
    int n = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                    LIBUSB_DT_STRING << 8, 0, buf.data(), buf.size(), timeout_ms(timeout));
    if (n < 4 || buf[1] != LIBUSB_DT_STRING) return {};
    const std::uint16_t lang = static_cast<std::uint16_t>(buf[2] | (buf[3] << 8));
    n = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                static_cast<std::uint16_t>((LIBUSB_DT_STRING << 8) | index), lang, buf.data(),
                                buf.size(), timeout_ms(timeout));
    if (n < 2 || buf[1] != LIBUSB_DT_STRING) return {};
    const std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(n), buf[0]);
    return len > 2 ? utf16le_to_utf8(buf.data() + 2, len - 2) : std::string();
}

DeviceIdAnswer read_ieee1284_id(libusb_device_handle* h, const PrinterInterface& p,
                                std::chrono::milliseconds timeout) {
    std::array<unsigned char, kMaxDeviceId> buf{};
    constexpr auto type = static_cast<std::uint8_t>(unsigned{LIBUSB_ENDPOINT_IN} | unsigned{LIBUSB_REQUEST_TYPE_CLASS} |
                                                    unsigned{LIBUSB_RECIPIENT_INTERFACE});
    // wValue: configuration index; wIndex: interface in the high byte, alternate
    // setting in the low byte (USB printer class 1.1, 4.2.1; as Linux usblp sends it).
    const auto index = static_cast<std::uint16_t>((p.interface << 8) | p.alt_setting);
    const int n = libusb_control_transfer(h, type, kGetDeviceId, p.config_index, index, buf.data(),
                                          static_cast<std::uint16_t>(buf.size()), timeout_ms(timeout));
    if (n < 0) return {{}, n};
    return {ieee1284_id_text(std::string_view(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n))), 0};
}

}  // namespace certlab::transport::usb
