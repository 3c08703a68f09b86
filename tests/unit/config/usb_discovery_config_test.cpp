// station.yaml `discovery: usb:` and the USB profile shipped in lab-config/devices.
#include <doctest/doctest.h>

#include "config/station_config.hpp"
#include "inventory/matcher.hpp"
#include "inventory/usb_watcher.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;

namespace {

config::StationConfig load(const test::TempDir& dir, const std::string& yaml) {
    test::write_file(dir / "station.yaml", yaml);
    return config::load_station_config(dir / "station.yaml");
}

std::string load_error(const test::TempDir& dir, const std::string& yaml) {
    try {
        (void)load(dir, yaml);
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("config: discovery.usb turns the USB watcher on, with its rescan interval") {
    test::TempDir dir;
    CHECK_FALSE(load(dir, "station:\n  id: b\n").discovery.usb);
    auto cfg = load(dir, "discovery:\n  usb: {}\n");
    CHECK(cfg.discovery.usb);
    CHECK(cfg.discovery.usb_rescan == std::chrono::seconds(2));
    cfg = load(dir, "discovery:\n  usb:\n    enabled: true\n    rescan_interval: 250ms\n");
    CHECK(cfg.discovery.usb);
    CHECK(cfg.discovery.usb_rescan == std::chrono::milliseconds(250));
    CHECK_FALSE(load(dir, "discovery:\n  usb:\n    enabled: false\n").discovery.usb);
}

TEST_CASE("config: discovery.usb mistakes are reported with file:line:column") {
    test::TempDir dir;
    const auto file = (dir / "station.yaml").string();
    CHECK(load_error(dir, "discovery:\n  usb:\n    hotplug: true\n").find(file + ":3:5: unknown key 'hotplug'") == 0);
    CHECK(load_error(dir, "discovery:\n  usb:\n    enabled: maybe\n") ==
          file + ":3:14: enabled: expected true or false, got 'maybe'");
    CHECK(load_error(dir, "discovery:\n  usb:\n    rescan_interval: 1ms\n") ==
          file + ":3:22: rescan_interval: expected at least 10ms");
    CHECK(load_error(dir, "discovery:\n  usb:\n    rescan_interval: soon\n").find(file + ":3:22: ") == 0);
}

TEST_CASE("config: the Epson TM USB profile claims a TM printer and leaves other Epson devices alone") {
    auto p = config::load_profile(test::source("lab-config/devices/escpos-usb-epson-tm.yaml"));
    REQUIRE(p.match);
    CHECK(p.driver == "escpos");
    CHECK(p.match->probe == "escpos.gs_i");
    inventory::Matcher m({{p.id, *p.match}});

    inventory::UsbDeviceInfo tm;
    tm.port_path = "1-4";
    tm.vid = 0x04b8;
    tm.pid = 0x0e15;
    tm.product = "TM-T20II";
    CHECK(m.match(inventory::usb_resource(tm)).profile == "escpos-usb-epson-tm");

    auto inkjet = tm;
    inkjet.product = "ET-2720 Series";  // same vendor, not a receipt printer
    CHECK(m.match(inventory::usb_resource(inkjet)).profile.empty());
    auto other_vendor = tm;
    other_vendor.vid = 0x0519;
    CHECK(m.match(inventory::usb_resource(other_vendor)).profile.empty());
}
