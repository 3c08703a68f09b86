#include "transport/address.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "sdk/error.hpp"

namespace certlab::transport {
namespace {

using sdk::ConfigError;

// Rates every Linux tty driver knows a Bxxxx constant for; odd rates would need
// termios2/BOTHER, which no partner device has asked for yet.
constexpr std::array<unsigned, 11> kBauds = {1200,  2400,   4800,   9600,   19200, 38400,
                                             57600, 115200, 230400, 460800, 921600};

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

std::uint16_t parse_port(std::string_view text) {
    unsigned v = 0;
    if (!parse_int(text, v) || v == 0 || v > 65535)
        throw ConfigError("port: expected a number from 1 to 65535, got " + quoted(text));
    return static_cast<std::uint16_t>(v);
}

bool is_hostname_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
}

// `[v6]:port` or `host:port`; a bare IPv6 literal is refused because its last colon
// is ambiguous with the port separator.
void parse_tcp(std::string_view rest, Address& a) {
    if (rest.find('?') != std::string_view::npos)
        throw ConfigError("tcp addresses take no options");
    std::string_view host, port;
    if (rest.starts_with('[')) {
        auto close = rest.find(']');
        if (close == std::string_view::npos)
            throw ConfigError("expected ']' after the IPv6 address");
        host = rest.substr(1, close - 1);
        auto tail = rest.substr(close + 1);
        if (!tail.starts_with(':'))
            throw ConfigError("expected ':<port>' after ']', e.g. tcp:[::1]:9100");
        port = tail.substr(1);
        auto zone = host.find('%');  // link-local zone, e.g. fe80::1%eth0
        auto addr = host.substr(0, zone);
        if (addr.find(':') == std::string_view::npos ||
            !std::all_of(addr.begin(), addr.end(), is_ipv6_char) ||
            (zone != std::string_view::npos && zone + 1 == host.size()))
            throw ConfigError("expected an IPv6 address inside [], got " + quoted(host));
    } else {
        auto colon = rest.find(':');
        if (colon == std::string_view::npos)
            throw ConfigError("expected tcp:<host>:<port>, e.g. tcp:127.0.0.1:9100");
        if (rest.find(':', colon + 1) != std::string_view::npos)
            throw ConfigError("an IPv6 address needs brackets, e.g. tcp:[::1]:9100");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.empty()) throw ConfigError("expected a host before ':<port>'");
        if (!std::all_of(host.begin(), host.end(), is_hostname_char))
            throw ConfigError("expected a host name or IPv4 address, got " + quoted(host));
    }
    if (host.empty()) throw ConfigError("expected an IPv6 address inside []");
    a.kind = Address::Kind::tcp;
    a.host = std::string(host);
    a.port = parse_port(port);
}

// `host:port[?ca=FILE&server_name=NAME]`: the host and port as for tcp.
void parse_tls(std::string_view rest, Address& a) {
    const auto q = rest.find('?');
    parse_tcp(rest.substr(0, q), a);
    a.kind = Address::Kind::tls;
    if (q == std::string_view::npos) return;
    std::string_view query = rest.substr(q + 1);
    std::vector<std::string_view> seen;
    for (;;) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0)
            throw ConfigError("expected key=value after '?', got " + quoted(pair));
        const auto key = pair.substr(0, eq);
        if (std::find(seen.begin(), seen.end(), key) != seen.end())
            throw ConfigError("option " + quoted(key) + " given twice");
        seen.push_back(key);
        apply_tls_option(a.tls, key, pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
}

// `/dev/node[?key=value&...]`; later keys of the same name are refused rather than
// silently winning, since a doubled key is almost always a copy-paste slip.
void parse_serial(std::string_view rest, Address& a) {
    auto q = rest.find('?');
    auto path = rest.substr(0, q);
    if (!path.starts_with('/'))
        throw ConfigError("expected an absolute device path such as /dev/ttyUSB0, got " +
                          quoted(path));
    a.kind = Address::Kind::serial;
    a.path = std::string(path);
    if (q == std::string_view::npos) return;

    std::string_view query = rest.substr(q + 1);
    std::vector<std::string_view> seen;
    while (true) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0)
            throw ConfigError("expected key=value after '?', got " + quoted(pair));
        auto key = pair.substr(0, eq);
        if (std::find(seen.begin(), seen.end(), key) != seen.end())
            throw ConfigError("option " + quoted(key) + " given twice");
        seen.push_back(key);
        apply_serial_option(a.serial, key, pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
}

// `<bus>-<port>[.<port>...]`, the kernel's name for the device in sysfs. It names the
// socket, not the device: a printer plugged into the same socket has the same address.
void parse_usb(std::string_view rest, Address& a) {
    if (rest.find('?') != std::string_view::npos) throw ConfigError("usb addresses take no options");
    check_usb_port_path(rest);
    a.kind = Address::Kind::usb;
    a.usb_port = std::string(rest);
}

bool parse_usb_number(std::string_view text) {
    unsigned v = 0;
    // No leading zeros: the kernel writes 1-4, so 01-4 would never match a device.
    return !text.starts_with('0') && parse_int(text, v) && v >= 1 && v <= 255;
}

}  // namespace

void check_usb_port_path(std::string_view path) {
    const auto bad = [&] {
        return ConfigError("expected usb:<bus>-<port>[.<port>...] with numbers from 1 to 255, "
                           "e.g. usb:1-4 or usb:1-4.2, got " + quoted(path));
    };
    const auto dash = path.find('-');
    if (dash == std::string_view::npos || !parse_usb_number(path.substr(0, dash))) throw bad();
    std::string_view ports = path.substr(dash + 1);
    int depth = 0;
    for (;;) {
        const auto dot = ports.find('.');
        if (!parse_usb_number(ports.substr(0, dot))) throw bad();
        ++depth;
        if (dot == std::string_view::npos) break;
        ports.remove_prefix(dot + 1);
    }
    if (depth > 7) throw ConfigError("a USB port path has at most 7 ports, got " + quoted(path));
}

unsigned parse_baud(std::string_view text) {
    unsigned v = 0;
    if (parse_int(text, v) && std::find(kBauds.begin(), kBauds.end(), v) != kBauds.end())
        return v;
    std::string list;
    for (unsigned b : kBauds) list += (list.empty() ? "" : ", ") + std::to_string(b);
    throw ConfigError("baud: expected one of " + list + ", got " + quoted(text));
}

int parse_data_bits(std::string_view text) {
    int v = 0;
    if (parse_int(text, v) && v >= 5 && v <= 8) return v;
    throw ConfigError("data_bits: expected 5, 6, 7 or 8, got " + quoted(text));
}

SerialOptions::Parity parse_parity(std::string_view text) {
    using P = SerialOptions::Parity;
    for (P p : {P::none, P::even, P::odd})
        if (text == to_string(p)) return p;
    throw ConfigError("parity: expected none, even or odd, got " + quoted(text));
}

int parse_stop_bits(std::string_view text) {
    if (text == "1") return 1;
    if (text == "2") return 2;
    throw ConfigError("stop_bits: expected 1 or 2, got " + quoted(text));
}

SerialOptions::Flow parse_flow(std::string_view text) {
    using F = SerialOptions::Flow;
    for (F f : {F::none, F::rtscts, F::xonxoff})
        if (text == to_string(f)) return f;
    throw ConfigError("flow: expected none, rtscts or xonxoff, got " + quoted(text));
}

std::string_view to_string(SerialOptions::Parity p) {
    switch (p) {
        case SerialOptions::Parity::none: return "none";
        case SerialOptions::Parity::even: return "even";
        case SerialOptions::Parity::odd: return "odd";
    }
    return "?";
}

std::string_view to_string(SerialOptions::Flow f) {
    switch (f) {
        case SerialOptions::Flow::none: return "none";
        case SerialOptions::Flow::rtscts: return "rtscts";
        case SerialOptions::Flow::xonxoff: return "xonxoff";
    }
    return "?";
}

void apply_serial_option(SerialOptions& o, std::string_view key, std::string_view value) {
    if (key == "baud") o.baud = parse_baud(value);
    else if (key == "data_bits") o.data_bits = parse_data_bits(value);
    else if (key == "parity") o.parity = parse_parity(value);
    else if (key == "stop_bits") o.stop_bits = parse_stop_bits(value);
    else if (key == "flow") o.flow = parse_flow(value);
    else
        throw ConfigError("serial option: expected baud, data_bits, parity, stop_bits or flow, got " +
                          quoted(key));
}

void apply_tls_option(TlsOptions& o, std::string_view key, std::string_view value) {
    if (key == "ca") {
        if (!value.starts_with('/')) throw ConfigError("ca: expected an absolute path to a PEM file, got " + quoted(value));
        o.ca_file = std::string(value);
    } else if (key == "server_name") {
        if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return is_hostname_char(c) || c == ':'; }))
            throw ConfigError("server_name: expected a host name or IP address, got " + quoted(value));
        o.server_name = std::string(value);
    } else {
        throw ConfigError("tls option: expected ca or server_name, got " + quoted(key));
    }
}

Address parse_address(std::string_view text) {
    Address a;
    a.text = std::string(text);
    try {
        if (text.starts_with("serial:")) parse_serial(text.substr(7), a);
        else if (text.starts_with("tcp:")) parse_tcp(text.substr(4), a);
        else if (text.starts_with("usb:")) parse_usb(text.substr(4), a);
        else if (text.starts_with("tls:")) parse_tls(text.substr(4), a);
        else
            throw ConfigError("expected serial:<device path>, tcp:<host>:<port>, tls:<host>:<port> or usb:<bus>-<port path>");
    } catch (const ConfigError& e) {
        throw ConfigError("address " + quoted(text) + ": " + e.what());
    }
    return a;
}

}  // namespace certlab::transport
