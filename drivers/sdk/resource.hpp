// What discovery saw (or the station configuration declared): a place a device
// can be reached, with identifying attributes. A Resource carries no driver.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace certlab::sdk {

struct Resource {
    enum class Kind { usb, serial, net };
    Kind kind = Kind::serial;
    /// Transport address: `serial:/dev/ttyUSB0`, `tcp:10.0.0.5:9100`, `usb:1-4`.
    std::string address;
    /// Stable identifying attributes: vid, pid, serial_number, manufacturer, product,
    /// port_path, mdns_service, txt.<key>, ... (empty for statically declared links).
    std::map<std::string, std::string, std::less<>> attributes;
    /// Where it came from: "config" for a device declared in station.yaml, or the watcher.
    std::string source = "config";
};

[[nodiscard]] constexpr std::string_view to_string(Resource::Kind k) {
    switch (k) {
        case Resource::Kind::usb: return "usb";
        case Resource::Kind::serial: return "serial";
        case Resource::Kind::net: return "net";
    }
    return "?";
}

}  // namespace certlab::sdk
