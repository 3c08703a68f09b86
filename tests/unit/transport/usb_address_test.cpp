// usb:<bus>-<port path> addresses: what is accepted, and what each mistake says.
#include <doctest/doctest.h>

#include "sdk/error.hpp"
#include "transport/address.hpp"

using namespace certlab::transport;
using certlab::sdk::ConfigError;

TEST_CASE("transport: usb addresses name a port path") {
    const Address a = parse_address("usb:1-4");
    CHECK(a.kind == Address::Kind::usb);
    CHECK(a.usb_port == "1-4");
    CHECK(a.text == "usb:1-4");

    CHECK(parse_address("usb:1-4.2").usb_port == "1-4.2");
    CHECK(parse_address("usb:12-1.2.3.4.5.6.7").usb_port == "12-1.2.3.4.5.6.7");
    CHECK(parse_address("usb:255-255").usb_port == "255-255");
}

TEST_CASE("transport: malformed usb addresses are rejected with the reason") {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"usb:", "expected usb:<bus>-<port>[.<port>...] with numbers from 1 to 255, e.g. usb:1-4 or usb:1-4.2, got ''"},
        {"usb:1", "got '1'"},
        {"usb:1-", "got '1-'"},
        {"usb:-4", "got '-4'"},
        {"usb:0-4", "got '0-4'"},
        {"usb:1-0", "got '1-0'"},
        {"usb:01-4", "got '01-4'"},  // the kernel never writes leading zeros
        {"usb:1-4.", "got '1-4.'"},
        {"usb:1-4..2", "got '1-4..2'"},
        {"usb:1-256", "got '1-256'"},
        {"usb:1-4:1.0", "got '1-4:1.0'"},  // an interface, not a device
        {"usb:1-4 ", "got '1-4 '"},
        {"usb:1-1.2.3.4.5.6.7.8", "a USB port path has at most 7 ports, got '1-1.2.3.4.5.6.7.8'"},
        {"usb:1-4?ep=2", "usb addresses take no options"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        CHECK_THROWS_WITH_AS((void)parse_address(c.text), doctest::Contains(c.message), ConfigError);
    }
    CHECK_THROWS_WITH_AS((void)parse_address("usb:1-x"), doctest::Contains("address 'usb:1-x': expected usb:"),
                         ConfigError);
}

TEST_CASE("transport: check_usb_port_path is the address check without the scheme") {
    CHECK_NOTHROW(check_usb_port_path("3-2.1"));
    CHECK_THROWS_AS(check_usb_port_path("usb:3-2"), ConfigError);
}
