// USB discovery and the USB printer-class transport, end to end, without USB
// hardware: certlab-usb-bench emulates the devices on a umockdev testbed and certlabd
// runs under umockdev's preload library, so libusb sees them as real. The printer
// behind the USB endpoints is certlab-sim's printer model.
//
// Declaration order matters: the bench before the daemon, so the daemon goes first.
#include <doctest/doctest.h>

#include <memory>
#include <thread>

#include "harness.hpp"
#include "support/usb_bench.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

constexpr const char* kProfile = "escpos-usb-epson-tm";

/// A station that discovers USB devices (and, with `serial`, enumerates serial
/// ports), with the repository's profiles and suites. Quarantine is off: these tests
/// unplug devices on purpose.
std::string usb_station_yaml(const TempDir& dir, bool serial = false) {
    std::string y = "station:\n  id: usb-bench\n  reconnect_interval: 100ms\n  shutdown_grace: 3s\n"
                    "  quarantine_after: 0\n";
    y += "store:\n  path: " + (dir / "s.db").string() + "\n  sync: normal\n";
    y += "profiles: " + source("lab-config/devices").string() + "\n";
    y += "suites: " + source("lab-config/suites").string() + "\n";
    y += "discovery:\n  usb:\n    rescan_interval: 1s\n";
    if (serial) y += "  serial:\n    enumerate: true\n    poll_interval: 100ms\n";
    return y;
}

/// certlabd under umockdev, seeing `bench`'s testbed.
std::unique_ptr<Daemon> start_daemon(const UsbBench& bench, const TempDir& dir, const std::string& yaml) {
    UmockdevEnvironment env(bench);  // only the daemon's start needs it
    return std::make_unique<Daemon>(dir, yaml);
}

json resource(const Daemon& d, const std::string& address) {
    const json all = d.get("/v1/resources");  // named: a temporary would die before the loop
    for (const auto& r : all["resources"])
        if (r["address"] == address) return r;
    return nullptr;
}

std::string device_id(const std::string& serial) { return std::string(kProfile) + "-" + serial; }

/// Waits for a run to end, then returns it with every step. Polls without steps:
/// serialising hundreds of steps every 10 ms (as Daemon::wait_for_run does) keeps the
/// daemon's single executor busy enough to push the suite's 250 ms status latency
/// limit on a loaded machine, and USB exchanges under umockdev are slower than a pty.
json finished_run(const Daemon& d, std::int64_t id, std::chrono::milliseconds timeout = 120s) {
    const auto target = "/v1/runs/" + std::to_string(id);
    wait_until(
        [&] {
            auto status = d.get(target + "?steps=0")["run"].value("status", "");
            if (status == "queued" || status == "running") {
                std::this_thread::sleep_for(100ms);
                return false;
            }
            return true;
        },
        timeout);
    return d.get(target + "?steps=-1");
}

}  // namespace

TEST_CASE("usb: a printer plugged in becomes ready and passes the receipt-printer suite over USB") {
    TempDir dir;
    UsbBench bench;
    auto d = start_daemon(bench, dir, usb_station_yaml(dir));
    const auto paper = dir / "paper.log";
    const auto address = bench.add("p1", "port=1-4 serial=USB0001 --paper-log " + paper.string());
    CHECK(address == "usb:1-4");

    const auto id = device_id("USB0001");
    REQUIRE_MESSAGE(d->wait_for_state({id}, "ready"), d->log());
    auto r = resource(*d, address);
    REQUIRE(r.is_object());
    CHECK(r["claimed"] == true);
    CHECK(r["device"] == id);
    const auto& a = r["attributes"];
    CHECK(a["vid"] == "04b8");
    CHECK(a["pid"] == "0e15");
    CHECK(a["port_path"] == "1-4");
    CHECK(a["bus"] == "1");
    CHECK(a["serial_number"] == "USB0001");
    CHECK(a["manufacturer"] == "EPSON");
    CHECK(a["product"] == "TM-T20II");
    CHECK(a["interfaces"] == "07:01:02");
    CHECK(a["ieee1284.CMD"] == "ESC/POS");
    CHECK(a["ieee1284.MDL"] == "TM-T20II");
    const auto dev = d->get("/v1/devices/" + id);
    CHECK(dev["address"] == address);
    CHECK(dev["identity"]["model"] == "TM-T20II");
    CHECK(dev["identity"]["serial_number"] == "USB0001");

    auto run = d->start_run(id, "receipt-printer");
    REQUIRE(run > 0);
    auto result = finished_run(*d, run);
    INFO(result.dump(1).substr(0, 3000));
    CHECK(result["run"]["outcome"] == "pass");
    CHECK(read_file(paper).find("CERTLAB PRN-003 TEST RECEIPT") != std::string::npos);
    CHECK(bench.bytes_written("p1") > 0);
}

TEST_CASE("usb: a printer unplugged mid-run ends the step as device-lost, and plugged back it is ready under the same id") {
    TempDir dir;
    UsbBench bench;
    auto d = start_daemon(bench, dir, usb_station_yaml(dir));
    const auto db = dir / "s.db";
    bench.add("p1", "port=1-4 serial=USB0002");
    const auto id = device_id("USB0002");
    REQUIRE_MESSAGE(d->wait_for_state({id}, "ready"), d->log());

    REQUIRE(resource(*d, "usb:1-4")["source"] == "usb");
    auto run = d->start_run(id, "receipt-printer");
    REQUIRE(run > 0);
    // Well into the run (the endurance scenario alone has 400 steps), pull the plug.
    REQUIRE(wait_until([&] { return std::stoi(sql_value(db, "SELECT count(*) FROM step_results")) >= 20; }, 60s));
    bench.remove("p1");

    auto result = finished_run(*d, run, 60s);
    CHECK(result["run"]["outcome"] == "error");
    bool lost_step = false;
    for (const auto& s : result["steps"])
        if (s["outcome"] == "error" && s["reason"].get<std::string>().find("device-lost") == 0) lost_step = true;
    CHECK_MESSAGE(lost_step, result.dump(1).substr(0, 3000));
    REQUIRE_MESSAGE(d->wait_for_state({id}, "lost"), d->log());
    // Gone from discovery too (the watcher's departure may trail the failed transfer);
    // the station still lists its own device's address, but no longer as seen by USB.
    CHECK(wait_until(
        [&] {
            auto r = resource(*d, "usb:1-4");
            return r.is_null() || r["source"] != "usb";
        },
        5s));

    // The same printer back in the same port: the same device, ready again.
    bench.add("p1", "port=1-4 serial=USB0002");
    REQUIRE_MESSAGE(d->wait_for_state({id}, "ready"), d->log());
    CHECK(d->get("/v1/devices")["devices"].size() == 1);
    auto again = d->start_run(id, "receipt-printer");
    REQUIRE(again > 0);
    CHECK(finished_run(*d, again)["run"]["outcome"] == "pass");
}

TEST_CASE("usb: an unmatched USB device is listed unclaimed and never receives a byte") {
    TempDir dir;
    UsbBench bench;
    auto d = start_daemon(bench, dir, usb_station_yaml(dir));
    const auto other = bench.add("gadget", "port=1-5 kind=other");
    // A claimed printer beside it shows that writes do happen where a profile allows.
    bench.add("p1", "port=1-4 serial=USB0003");
    REQUIRE_MESSAGE(d->wait_for_state({device_id("USB0003")}, "ready"), d->log());
    REQUIRE(wait_until([&] { return !resource(*d, other).is_null(); }, 10s));

    auto r = resource(*d, other);
    CHECK(r["claimed"] == false);
    CHECK(r["reason"].get<std::string>().find("no profile") != std::string::npos);
    CHECK(r["attributes"]["vid"] == "1234");
    CHECK(r["attributes"]["manufacturer"] == "Unknown Gadgets");  // its strings were read...
    CHECK(r["attributes"]["interfaces"] == "ff:00:00");
    CHECK(d->get("/v1/devices")["devices"].size() == 1);
    std::this_thread::sleep_for(1500ms);  // a rescan or so later
    CHECK(bench.bytes_written("gadget") == 0);  // ...but nothing was ever written to it
    CHECK(bench.bytes_written("p1") > 0);
}

TEST_CASE("usb: serial enumeration shows a USB-serial adapter with its VID, PID and serial number") {
    TempDir dir;
    UsbBench bench;
    auto d = start_daemon(bench, dir, usb_station_yaml(dir, true));
    const auto tty = bench.add_serial("ftdi", "port=1-6 serial=FT9XYZ");
    CHECK(tty == "/dev/ttyUSB0");
    const auto address = "serial:" + tty;
    REQUIRE_MESSAGE(wait_until([&] { return !resource(*d, address).is_null(); }, 10s), d->log());

    auto r = resource(*d, address);
    CHECK(r["kind"] == "serial");
    CHECK(r["claimed"] == false);
    const auto& a = r["attributes"];
    CHECK(a["vid"] == "0403");
    CHECK(a["pid"] == "6001");
    CHECK(a["serial_number"] == "FT9XYZ");
    CHECK(a["product"] == "FT232R USB UART");
    // The adapter is a USB device too; both are listed, neither is written to.
    REQUIRE(wait_until([&] { return !resource(*d, "usb:1-6").is_null(); }, 10s));
    CHECK(resource(*d, "usb:1-6")["attributes"]["serial_number"] == "FT9XYZ");
    CHECK(bench.bytes_written("ftdi") == 0);

    bench.remove("ftdi");
    CHECK_MESSAGE(wait_until([&] { return resource(*d, address).is_null() && resource(*d, "usb:1-6").is_null(); }, 10s),
                  d->log());
}
