#include <doctest/doctest.h>

#include <string>

#include "config/yaml_util.hpp"
#include "inventory/match_config.hpp"
#include "inventory/matcher.hpp"
#include "inventory/suggest.hpp"

using namespace certlab;

namespace {

sdk::Resource resource(sdk::Resource::Kind kind, std::string address,
                       std::map<std::string, std::string, std::less<>> attrs) {
    sdk::Resource r;
    r.kind = kind;
    r.address = std::move(address);
    r.attributes = std::move(attrs);
    r.source = "watcher";
    return r;
}

inventory::MatchSpec reread(const std::string& yaml) {
    auto f = config::YamlFile::parse(yaml, "suggested.yaml");
    CHECK(f.root()["profile"].as<std::string>() == "dut");
    CHECK(f.root()["driver"].as<std::string>() == "escpos");
    return inventory::read_profile_match(f, f.root());
}

// Suggest, read the text back and match: the round trip the technician relies on.
inventory::MatchResult round_trip(const sdk::Resource& suggested_for, const sdk::Resource& probe_with) {
    auto yaml = inventory::suggest_profile(suggested_for, "escpos", "dut");
    CAPTURE(yaml);
    inventory::Matcher m({{"dut", reread(yaml)}});
    return m.match(probe_with);
}

bool has_key(const inventory::MatchSpec& s, std::string_view key) {
    for (const auto& c : s.all)
        if (c.key == key) return true;
    return false;
}

}  // namespace

TEST_CASE("inventory: suggest keys a USB device on ids and serial number, else its port") {
    auto r = resource(sdk::Resource::Kind::usb, "usb:1-4.2",
                      {{"vid", "04B8"}, {"pid", "0e15"}, {"serial_number", "X5AB012345"},
                       {"port_path", "1-4.2"}, {"product", "TM-T88V"}, {"manufacturer", "EPSON"}});
    auto yaml = inventory::suggest_profile(r, "escpos", "dut");
    CHECK(yaml.find("description: \"EPSON TM-T88V\"") != std::string::npos);
    CHECK(yaml.find("# the serial number tells this unit") != std::string::npos);
    auto s = reread(yaml);
    CHECK(has_key(s, "kind"));
    CHECK(has_key(s, "vid"));
    CHECK(has_key(s, "pid"));
    CHECK(has_key(s, "serial_number"));
    CHECK_FALSE(has_key(s, "port_path"));  // the serial number already pins the unit
    CHECK_FALSE(has_key(s, "product"));
    CHECK(round_trip(r, r).profile == "dut");
    auto moved = r;
    moved.attributes["port_path"] = "2-1";
    moved.address = "usb:2-1";
    CHECK(round_trip(r, moved).profile == "dut");
    auto sibling = r;
    sibling.attributes["serial_number"] = "X5AB099999";
    CHECK(round_trip(r, sibling).reason ==
          "no profile matches; dut: serial_number is X5AB099999, expected X5AB012345");

    auto anonymous = r;
    anonymous.attributes.erase("serial_number");
    auto s2 = reread(inventory::suggest_profile(anonymous, "escpos", "dut"));
    CHECK(has_key(s2, "port_path"));
    CHECK(round_trip(anonymous, anonymous).profile == "dut");
    CHECK(round_trip(anonymous, moved).reason == "no profile matches; dut: port_path is 2-1, expected 1-4.2");
}

TEST_CASE("inventory: suggest keys a serial port on its USB parent, else its address") {
    auto tty = resource(sdk::Resource::Kind::serial, "serial:/dev/ttyUSB0",
                        {{"vid", "0403"}, {"pid", "6001"}, {"serial_number", "A9J1KXQ"}});
    auto s = reread(inventory::suggest_profile(tty, "escpos", "dut"));
    CHECK(has_key(s, "vid"));
    CHECK(has_key(s, "serial_number"));
    CHECK_FALSE(has_key(s, "address"));
    auto renumbered = tty;
    renumbered.address = "serial:/dev/ttyUSB3";
    CHECK(round_trip(tty, renumbered).profile == "dut");
    CHECK(round_trip(tty, resource(sdk::Resource::Kind::usb, "usb:1-1", tty.attributes)).reason ==
          "no profile matches; dut: kind is usb, expected serial");

    auto no_serial = resource(sdk::Resource::Kind::serial, "serial:/dev/ttyUSB1",
                              {{"vid", "0403"}, {"pid", "6001"}, {"port_path", "1-3"}});
    auto s2 = reread(inventory::suggest_profile(no_serial, "escpos", "dut"));
    CHECK(has_key(s2, "port_path"));
    CHECK(round_trip(no_serial, no_serial).profile == "dut");

    auto uart = resource(sdk::Resource::Kind::serial, "serial:/dev/ttyS0", {});
    auto yaml = inventory::suggest_profile(uart, "escpos", "dut");
    CHECK(yaml.find("# no USB parent") != std::string::npos);
    auto s3 = reread(yaml);
    CHECK(has_key(s3, "address"));
    CHECK(round_trip(uart, uart).profile == "dut");
    auto other = uart;
    other.address = "serial:/dev/ttyS1";
    CHECK(round_trip(uart, other).reason ==
          "no profile matches; dut: address is serial:/dev/ttyS1, expected serial:/dev/ttyS0");
}

TEST_CASE("inventory: suggest keys a network device on mDNS, else its address") {
    auto printer = resource(sdk::Resource::Kind::net, "tcp:10.0.0.5:9100",
                            {{"mdns_service", "_pdl-datastream._tcp"}, {"txt.ty", "EPSON TM-m30"},
                             {"txt.product", "(TM-m30)"}, {"txt.odd key", "a \"quoted\" [value]: #1"}});
    auto s = reread(inventory::suggest_profile(printer, "escpos", "dut"));
    CHECK(has_key(s, "mdns_service"));
    CHECK(has_key(s, "txt.ty"));
    CHECK(has_key(s, "txt.odd key"));
    CHECK_FALSE(has_key(s, "address"));
    auto readdressed = printer;
    readdressed.address = "tcp:10.0.0.77:9100";
    CHECK(round_trip(printer, readdressed).profile == "dut");
    auto other = printer;
    other.attributes["txt.odd key"] = "a \"quoted\" [value]: #2";
    CHECK(round_trip(printer, other).profile.empty());

    auto bare = resource(sdk::Resource::Kind::net, "tcp:10.0.0.9:5025", {});
    auto s2 = reread(inventory::suggest_profile(bare, "escpos", "dut"));
    REQUIRE(s2.all.size() == 2);
    CHECK(s2.all[1].key == "address");
    CHECK(round_trip(bare, bare).profile == "dut");
    CHECK(round_trip(bare, readdressed).profile.empty());
}

TEST_CASE("inventory: suggested values that look like globs stay literal") {
    auto r = resource(sdk::Resource::Kind::usb, "usb:1-2",
                      {{"vid", "0x0519"}, {"pid", "0003"}, {"serial_number", "SN[1]*?\n"}});
    auto yaml = inventory::suggest_profile(r, "escpos", "dut");
    CHECK(yaml.find("serial_number: { exact: \"SN[1]*?\\x0a\" }") != std::string::npos);
    CHECK(round_trip(r, r).profile == "dut");
    auto lookalike = r;
    lookalike.attributes["serial_number"] = "SN1*?\n";
    CHECK(round_trip(r, lookalike).profile.empty());
}
