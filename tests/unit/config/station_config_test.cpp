#include <doctest/doctest.h>

#include "config/station_config.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;

namespace {

std::string load_error(const test::TempDir& dir, const std::string& yaml) {
    test::write_file(dir / "station.yaml", yaml);
    try {
        (void)config::load_station_config(dir / "station.yaml");
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

std::string with_profiles(const std::string& rest) {
    return "profiles: " + test::source("lab-config/devices").string() + "\n" + rest;
}

}  // namespace

TEST_CASE("config: the shipped station and demo configurations load") {
    auto cfg = config::load_station_config(test::source("lab-config/demo/station.yaml"));
    CHECK(cfg.station_id == "demo-bench");
    CHECK(cfg.devices.size() == 2);
    CHECK(cfg.profiles.contains("escpos-generic"));
    CHECK(cfg.api_bind == "127.0.0.1");
    CHECK(cfg.reconnect_interval == std::chrono::milliseconds(500));
    const auto& p = cfg.profiles.at("escpos-generic");
    CHECK(p.driver == "escpos");
    CHECK(p.settings.get_duration("response_timeout", {}) == std::chrono::seconds(1));
    auto prod = config::load_station_config(test::source("lab-config/station.yaml"));
    CHECK(prod.store_path == "/var/lib/certlab/certlab.db");
    CHECK(prod.store_sync_full);
}

TEST_CASE("config: defaults are loopback and a store beside the file") {
    test::TempDir dir;
    CHECK(load_error(dir, "station:\n  id: b1\n") == "");
    auto cfg = config::load_station_config(dir / "station.yaml");
    CHECK(cfg.api_bind == "127.0.0.1");
    CHECK(cfg.api_port == 8470);
    CHECK(cfg.store_path == dir / "certlab.db");
}

TEST_CASE("config: errors carry file:line:column and the expectation") {
    test::TempDir dir;
    auto file = (dir / "station.yaml").string();
    CHECK(load_error(dir, "api:\n  port: 99999\n") == file + ":2:9: port: expected an integer from 0 to 65535, got '99999'");
    CHECK(load_error(dir, "store:\n  path: x.db\n  sync: sometimes\n") ==
          file + ":3:9: sync: expected 'full' or 'normal', got 'sometimes'");
    CHECK(load_error(dir, "log:\n  level: chatty\n").find(":2:10: level: expected trace, debug") != std::string::npos);
    CHECK(load_error(dir, with_profiles("devices:\n  - id: a\n    profile: escpos-generic\n    address: serial:/dev/x\n"
                                        "    serial: { parity: maybe }\n"))
              .find(":6:23: parity") != std::string::npos);
    CHECK(load_error(dir, with_profiles("devices:\n  - id: a\n    profile: escpos-generic\n    address: carrier-pigeon\n"))
              .find(":5:14: address:") != std::string::npos);
    CHECK(load_error(dir, with_profiles("devices:\n  - id: a\n    profile: escpos-generic\n    address: tcp:127.0.0.1:9\n"
                                        "  - id: a\n    profile: escpos-generic\n    address: tcp:127.0.0.1:9\n"))
              .find(":6:9: id: device 'a' is declared twice") != std::string::npos);
    CHECK(load_error(dir, "devices:\n  - id: a\n    address: tcp:127.0.0.1:9\n")
              .find("missing required key 'profile'") != std::string::npos);
    CHECK(load_error(dir, "station:\n  id: \"bench 3\"\n").find("id: expected letters, digits") != std::string::npos);
    CHECK(load_error(dir, "profiles: /nonexistent\n").find("expected a directory") != std::string::npos);
}

TEST_CASE("config: profiles are validated against the driver registry") {
    test::TempDir dir;
    std::filesystem::create_directory(dir / "p");
    test::write_file(dir / "p" / "a.yaml", "profile: a\ndriver: telepathy\n");
    auto err = load_error(dir, "profiles: p\n");
    CHECK(err.find("a.yaml:2:9: driver: expected a known driver (escpos") != std::string::npos);
    test::write_file(dir / "p" / "a.yaml", "profile: a\ndriver: escpos\ncapabilities: [printer, scale]\n");
    CHECK(load_error(dir, "profiles: p\n").find("driver 'escpos' does not provide 'scale'") != std::string::npos);
    test::write_file(dir / "p" / "a.yaml", "profile: a\ndriver: escpos\n");
    test::write_file(dir / "p" / "b.yaml", "profile: a\ndriver: escpos\n");
    CHECK(load_error(dir, "profiles: p\n") == (dir / "p" / "b.yaml").string() + ":1:10: profile: 'a' is already defined at " +
                                                (dir / "p" / "a.yaml").string() + ":1:10");
}

TEST_CASE("config: wiring binds a device under test's roles to declared devices") {
    test::TempDir dir;
    auto file = (dir / "station.yaml").string();
    const std::string devices = "devices:\n  - id: p1\n    profile: escpos-generic\n    address: tcp:127.0.0.1:9\n"
                                "  - id: p2\n    profile: escpos-generic\n    address: tcp:127.0.0.1:10\n";
    test::write_file(dir / "station.yaml", with_profiles(devices + "wiring:\n  \"bench-*\":\n    drawer: p1\n"
                                                                   "  p1:\n    drawer: p2\n"));
    auto cfg = config::load_station_config(dir / "station.yaml");
    REQUIRE(cfg.wiring.size() == 2);
    CHECK(cfg.wiring[0].dut == "p1");  // exact ids before globs
    const auto* w = config::find_wiring(cfg, "bench-printer-SIM7");
    REQUIRE(w);
    CHECK(w->roles.at("drawer") == "p1");
    CHECK(config::find_wiring(cfg, "p1")->roles.at("drawer") == "p2");
    CHECK(config::find_wiring(cfg, "p2") == nullptr);

    CHECK(load_error(dir, with_profiles(devices + "wiring:\n  p1:\n    psu: psu-9\n")) ==
          file + ":11:10: wiring: psu: expected a device declared in 'devices:', got 'psu-9'");
    CHECK(load_error(dir, with_profiles(devices + "wiring:\n  p1:\n    drawer: p1\n")) ==
          file + ":11:13: wiring: drawer: a device cannot be wired to itself");
    CHECK(load_error(dir, with_profiles(devices + "wiring:\n  p1:\n    dut: p2\n")) ==
          file + ":11:5: wiring: 'dut' is the device under test itself");
    CHECK(load_error(dir, with_profiles(devices + "wiring:\n  \"bench 3\":\n    drawer: p2\n"))
              .find(":10:3: wiring: expected a device id or a glob of ids") != std::string::npos);
}
