#include "transport/address.hpp"

#include <doctest/doctest.h>

#include "sdk/error.hpp"

using namespace certlab::transport;
using certlab::sdk::ConfigError;
using Parity = SerialOptions::Parity;
using Flow = SerialOptions::Flow;

TEST_CASE("transport: serial address without options gets 9600 8N1") {
    const Address a = parse_address("serial:/dev/ttyUSB0");
    CHECK(a.kind == Address::Kind::serial);
    CHECK(a.path == "/dev/ttyUSB0");
    CHECK(a.text == "serial:/dev/ttyUSB0");
    CHECK(a.serial == SerialOptions{});
    CHECK(a.serial.baud == 9600);
    CHECK(a.serial.data_bits == 8);
    CHECK(a.serial.parity == Parity::none);
    CHECK(a.serial.stop_bits == 1);
    CHECK(a.serial.flow == Flow::none);
}

TEST_CASE("transport: serial address with every option") {
    const Address a =
        parse_address("serial:/dev/pts/3?baud=19200&parity=even&data_bits=7&stop_bits=2&flow=rtscts");
    CHECK(a.kind == Address::Kind::serial);
    CHECK(a.path == "/dev/pts/3");
    CHECK(a.serial.baud == 19200);
    CHECK(a.serial.parity == Parity::even);
    CHECK(a.serial.data_bits == 7);
    CHECK(a.serial.stop_bits == 2);
    CHECK(a.serial.flow == Flow::rtscts);

    const Address b = parse_address("serial:/dev/ttyS1?flow=xonxoff&parity=odd&baud=921600");
    CHECK(b.serial.flow == Flow::xonxoff);
    CHECK(b.serial.parity == Parity::odd);
    CHECK(b.serial.baud == 921600);
}

TEST_CASE("transport: tcp addresses") {
    const Address v4 = parse_address("tcp:127.0.0.1:9100");
    CHECK(v4.kind == Address::Kind::tcp);
    CHECK(v4.host == "127.0.0.1");
    CHECK(v4.port == 9100);

    const Address v6 = parse_address("tcp:[::1]:5025");
    CHECK(v6.host == "::1");
    CHECK(v6.port == 5025);

    const Address zone = parse_address("tcp:[fe80::1%eth0]:80");
    CHECK(zone.host == "fe80::1%eth0");

    const Address name = parse_address("tcp:printer-3.lab.example:65535");
    CHECK(name.host == "printer-3.lab.example");
    CHECK(name.port == 65535);
    CHECK(name.text == "tcp:printer-3.lab.example:65535");
}

TEST_CASE("transport: option value parsers say what they expected") {
    CHECK_THROWS_WITH_AS(
        (void)parse_baud("fast"),
        "baud: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, "
        "460800, 921600, got 'fast'",
        ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_baud("9601"), doctest::Contains("got '9601'"), ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_baud(""), doctest::Contains("got ''"), ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_baud("9600 "), doctest::Contains("baud: expected"), ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_data_bits("9"),
                         "data_bits: expected 5, 6, 7 or 8, got '9'", ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_parity("mark"),
                         "parity: expected none, even or odd, got 'mark'", ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_stop_bits("1.5"), "stop_bits: expected 1 or 2, got '1.5'",
                         ConfigError);
    CHECK_THROWS_WITH_AS((void)parse_flow("dtrdsr"),
                         "flow: expected none, rtscts or xonxoff, got 'dtrdsr'", ConfigError);

    CHECK(parse_baud("1200") == 1200);
    CHECK(parse_data_bits("5") == 5);
    CHECK(parse_parity("none") == Parity::none);
    CHECK(parse_stop_bits("2") == 2);
    CHECK(parse_flow("none") == Flow::none);
}

TEST_CASE("transport: apply_serial_option overrides one setting at a time") {
    SerialOptions o;
    apply_serial_option(o, "baud", "115200");
    apply_serial_option(o, "parity", "odd");
    CHECK(o.baud == 115200);
    CHECK(o.parity == Parity::odd);
    CHECK(o.data_bits == 8);  // untouched

    const SerialOptions before = o;
    CHECK_THROWS_WITH_AS(apply_serial_option(o, "speed", "9600"),
                         "serial option: expected baud, data_bits, parity, stop_bits or flow, "
                         "got 'speed'",
                         ConfigError);
    CHECK_THROWS_AS(apply_serial_option(o, "data_bits", "eight"), ConfigError);
    CHECK(o == before);  // a rejected value leaves the options as they were
}

TEST_CASE("transport: malformed addresses are rejected with the address and the reason") {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"lpt:1-4", "address 'lpt:1-4': expected serial:<device path>, tcp:<host>:<port>, tls:<host>:<port> or usb:<bus>-<port path>"},
        {"", "expected serial:<device path>, tcp:<host>:<port>, tls:<host>:<port> or usb:<bus>-<port path>"},
        {"serial:", "expected an absolute device path such as /dev/ttyUSB0, got ''"},
        {"serial:ttyUSB0", "got 'ttyUSB0'"},
        {"serial:/dev/ttyUSB0?baud=fast",
         "address 'serial:/dev/ttyUSB0?baud=fast': baud: expected one of 1200, 2400"},
        {"serial:/dev/ttyUSB0?baud", "expected key=value after '?', got 'baud'"},
        {"serial:/dev/ttyUSB0?", "expected key=value after '?', got ''"},
        {"serial:/dev/ttyUSB0?baud=9600&", "expected key=value after '?', got ''"},
        {"serial:/dev/ttyUSB0?=9600", "expected key=value"},
        {"serial:/dev/ttyUSB0?speed=9600", "serial option: expected baud, data_bits"},
        {"serial:/dev/ttyUSB0?baud=9600&baud=19200", "option 'baud' given twice"},
        {"serial:/dev/ttyUSB0?parity=EVEN", "parity: expected none, even or odd, got 'EVEN'"},
        {"tcp:127.0.0.1", "expected tcp:<host>:<port>"},
        {"tcp:127.0.0.1:", "port: expected a number from 1 to 65535, got ''"},
        {"tcp:127.0.0.1:0", "port: expected a number from 1 to 65535, got '0'"},
        {"tcp:127.0.0.1:65536", "got '65536'"},
        {"tcp:127.0.0.1:91a0", "got '91a0'"},
        {"tcp::9100", "expected a host before ':<port>'"},
        {"tcp:::1:9100", "an IPv6 address needs brackets, e.g. tcp:[::1]:9100"},
        {"tcp:[::1:9100", "expected ']' after the IPv6 address"},
        {"tcp:[::1]9100", "expected ':<port>' after ']'"},
        {"tcp:[]:9100", "expected an IPv6 address inside [], got ''"},
        {"tcp:[printer]:9100", "expected an IPv6 address inside [], got 'printer'"},
        {"tcp:[fe80::1%]:9100", "expected an IPv6 address inside []"},
        {"tcp:bad host:9100", "expected a host name or IPv4 address, got 'bad host'"},
        {"tcp:127.0.0.1:9100?nodelay=1", "tcp addresses take no options"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        CHECK_THROWS_WITH_AS((void)parse_address(c.text), doctest::Contains(c.message), ConfigError);
    }
}
