// What the USB watcher reports for a device it described (the libusb side runs
// under umockdev in tests/integration/usb_test.cpp).
#include <doctest/doctest.h>

#include "inventory/usb_watcher.hpp"

using namespace certlab;

TEST_CASE("inventory: a described USB printer becomes a usb resource with its ids and 1284 fields") {
    inventory::UsbDeviceInfo info;
    info.port_path = "1-4.2";
    info.bus = 1;
    info.devnum = 7;
    info.vid = 0x04B8;
    info.pid = 0x0E15;
    info.interfaces = "07:01:02";
    info.manufacturer = "EPSON";
    info.product = "TM-T20II";
    info.serial_number = "X5E1234";
    info.ieee1284_id = "MFG:EPSON;CMD:ESC/POS;MDL:TM-T20II;CLS:PRINTER;";

    const auto r = inventory::usb_resource(info);
    CHECK(r.kind == sdk::Resource::Kind::usb);
    CHECK(r.address == "usb:1-4.2");
    CHECK(r.source == "usb");
    const std::map<std::string, std::string, std::less<>> expected{
        {"port_path", "1-4.2"}, {"bus", "1"},           {"devnum", "7"},
        {"vid", "04b8"},        {"pid", "0e15"},        {"class", "00"},
        {"interfaces", "07:01:02"}, {"manufacturer", "EPSON"}, {"product", "TM-T20II"},
        {"serial_number", "X5E1234"}, {"ieee1284.MFG", "EPSON"}, {"ieee1284.CMD", "ESC/POS"},
        {"ieee1284.MDL", "TM-T20II"}, {"ieee1284.CLS", "PRINTER"},
    };
    CHECK(r.attributes == expected);
}

TEST_CASE("inventory: a USB device without strings or 1284 id has only what it told") {
    inventory::UsbDeviceInfo info;
    info.port_path = "2-1";
    info.bus = 2;
    info.devnum = 3;
    info.vid = 0x1234;
    info.pid = 0x5;
    info.device_class = 0xff;
    const auto r = inventory::usb_resource(info);
    CHECK(r.address == "usb:2-1");
    CHECK(r.attributes.at("pid") == "0005");
    CHECK(r.attributes.at("class") == "ff");
    CHECK_FALSE(r.attributes.contains("serial_number"));
    CHECK_FALSE(r.attributes.contains("manufacturer"));
    CHECK_FALSE(r.attributes.contains("interfaces"));
    for (const auto& [k, v] : r.attributes) CHECK_FALSE(k.starts_with("ieee1284."));
}

TEST_CASE("inventory: the USB watcher refuses a non-positive rescan interval") {
    boost::asio::io_context io;
    inventory::UsbWatchOptions o;
    o.rescan_interval = std::chrono::milliseconds(0);
    CHECK_THROWS_AS(inventory::UsbWatcher(io.get_executor(), o), std::invalid_argument);
}
