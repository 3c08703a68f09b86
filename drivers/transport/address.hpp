// Transport addresses: `serial:/dev/ttyUSB0?baud=19200&parity=even`, `tcp:host:9100`,
// `tls:host:8443?ca=/path/ca.pem&server_name=name`, `usb:1-4.2` (a USB port path: bus 1, port 4 of the root hub, port 2 of the hub there).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace certlab::transport {

/// Line settings of a serial port; defaults are the common 9600 8N1, no flow control.
struct SerialOptions {
    enum class Parity { none, even, odd };
    enum class Flow { none, rtscts, xonxoff };

    unsigned baud = 9600;  ///< Line rate [bit/s]; one of the standard rates.
    int data_bits = 8;     ///< 5..8
    Parity parity = Parity::none;
    int stop_bits = 1;  ///< 1 or 2
    Flow flow = Flow::none;

    friend bool operator==(const SerialOptions&, const SerialOptions&) = default;
};

/// The value parsers throw sdk::ConfigError saying what was expected, e.g.
/// "baud: expected one of 1200, 2400, ..., 921600, got 'fast'".
[[nodiscard]] unsigned parse_baud(std::string_view text);
[[nodiscard]] int parse_data_bits(std::string_view text);
[[nodiscard]] SerialOptions::Parity parse_parity(std::string_view text);
[[nodiscard]] int parse_stop_bits(std::string_view text);
[[nodiscard]] SerialOptions::Flow parse_flow(std::string_view text);

[[nodiscard]] std::string_view to_string(SerialOptions::Parity p);
[[nodiscard]] std::string_view to_string(SerialOptions::Flow f);

/// Sets one option by name (baud, data_bits, parity, stop_bits, flow): used for the
/// address query and for overrides from the station configuration.
/// Throws sdk::ConfigError on an unknown key or a bad value.
void apply_serial_option(SerialOptions& options, std::string_view key, std::string_view value);

/// TLS over TCP (`tls:host:port?ca=/etc/lab/ca.pem&server_name=kds.lab`): the server's
/// certificate must chain to `ca_file` (the system's trust store when empty) and name
/// `server_name` (the address's host when empty), which is also sent as SNI.
struct TlsOptions {
    std::string ca_file;      ///< PEM file of trusted CA certificates; an absolute path
    std::string server_name;  ///< DNS name or IP literal the certificate must match
};

/// Sets one TLS option by name (ca, server_name): for the address query.
/// Throws sdk::ConfigError on an unknown key or a bad value.
void apply_tls_option(TlsOptions& options, std::string_view key, std::string_view value);

struct Address {
    // Scoped, so the enumerator `serial` does not collide with the member `serial`.
    enum class Kind { serial, tcp, usb, tls };

    Kind kind = Kind::serial;
    std::string path;       ///< serial: device node, e.g. /dev/ttyUSB0
    std::string host;       ///< tcp: name or IP literal, IPv6 without brackets
    std::uint16_t port = 0; ///< tcp: 1..65535
    SerialOptions serial;   ///< serial: options from the query string
    std::string usb_port;   ///< usb: port path as the kernel names it, e.g. 1-4.2
    TlsOptions tls;         ///< tls: host and port as for tcp, these from the query
    std::string text;       ///< the address as written, for messages and logs
};

/// Checks a USB port path "<bus>-<port>[.<port>...]" (e.g. 1-4, 1-4.2): bus 1..255,
/// ports 1..255, at most 7 ports deep (USB allows 7 tiers). Throws sdk::ConfigError.
void check_usb_port_path(std::string_view path);

/// Parses a transport address; throws sdk::ConfigError naming the address and what
/// was expected when it is malformed.
[[nodiscard]] Address parse_address(std::string_view text);

}  // namespace certlab::transport
