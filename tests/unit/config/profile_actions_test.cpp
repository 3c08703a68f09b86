#include <doctest/doctest.h>

#include "config/station_config.hpp"
#include "engine/suite.hpp"
#include "sdk/capability.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;

namespace {

std::string profile_error(const test::TempDir& dir, const std::string& yaml) {
    test::write_file(dir / "p.yaml", yaml);
    try {
        (void)config::load_profile(dir / "p.yaml");
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

std::string line_profile(const std::string& id, const std::string& actions) {
    return "profile: " + id + "\ndriver: line\nactions:\n" + actions;
}

}  // namespace

TEST_CASE("profile actions: a line profile defines its capability and the suite sees it") {
    auto p = config::load_profile(test::source("lab-config/devices/kiosk-controller.yaml"));
    CHECK(p.capabilities == std::vector<std::string>{"kiosk"});
    REQUIRE(p.actions.size() == 7);
    CHECK(p.actions[0].name == "identify");
    CHECK(p.actions[0].spec == nullptr);
    const auto* temp = sdk::find_action("kiosk.temperature");
    REQUIRE(temp);
    CHECK(temp->results.at(0).unit == "°C");
    const auto* led = sdk::find_action("kiosk.led");
    REQUIRE(led);
    CHECK(led->params.size() == 3);
    CHECK(led->param("red")->required);
    // The profile action points at the lasting catalog entry.
    bool found = false;
    for (const auto& a : p.actions)
        if (a.name == "kiosk.led") {
            found = true;
            CHECK(a.spec == led);
            CHECK(a.fields.get_string("send", "") == "LED {red} {green} {blue}\\r\\n");
            CHECK(a.fields.find("timeout")->where.find("kiosk-controller.yaml:") != std::string::npos);
        }
    CHECK(found);
    CHECK(sdk::find_capability("kiosk")->origin.find("profile kiosk-controller") == 0);
    // Loading it again (a reload) is not a conflict.
    CHECK_NOTHROW((void)config::load_profile(test::source("lab-config/devices/kiosk-controller.yaml")));
}

TEST_CASE("profile actions: a second profile defining a capability differently is refused, naming the first") {
    test::TempDir dir;
    test::write_file(dir / "a.yaml", line_profile("meter-a", "  pa_meter.read:\n    send: 'R\\r\\n'\n    expect: '(?<v>[0-9]+)'\n"
                                                            "    results:\n      v: { type: integer, unit: mV }\n"));
    auto a = config::load_profile(dir / "a.yaml");
    CHECK(a.capabilities == std::vector<std::string>{"pa_meter"});
    // The same definition from another vendor's profile is fine: only send/expect differ.
    CHECK(profile_error(dir, line_profile("meter-b", "  pa_meter.read:\n    send: 'READ?\\n'\n    expect: 'V=(?<v>[0-9]+)'\n"
                                                     "    results:\n      v: { type: integer, unit: mV }\n")) == "");
    auto e = profile_error(dir, line_profile("meter-c", "  pa_meter.read:\n    send: 'R'\n    expect: '(?<v>[0-9.]+)'\n"
                                                        "    results:\n      v: { type: number, unit: V }\n"));
    CHECK(e.find("p.yaml:4:3: actions: capability 'pa_meter' is already defined differently (profile meter-a, ") !=
          std::string::npos);
    CHECK(e.find("a.yaml:4:3): pa_meter.read: result v (integer, mV) versus v (number, V)") != std::string::npos);
}

TEST_CASE("profile actions: mistakes are reported where they were written") {
    test::TempDir dir;
    CHECK(profile_error(dir, "profile: x\ndriver: line\n") ==
          (dir / "p.yaml").string() + ":1:1: device profile: driver 'line' takes its actions from the profile; missing key 'actions'");
    CHECK(profile_error(dir, "profile: x\ndriver: escpos\nactions:\n  printer.status: { send: x }\n") ==
          (dir / "p.yaml").string() + ":4:3: actions: driver 'escpos' has actions of its own; only drivers such as line and http take them from the profile");
    CHECK(profile_error(dir, line_profile("x", "  Status: { send: x }\n")).find(
              ":4:3: actions: expected 'identify' or <capability>.<action>") != std::string::npos);
    CHECK(profile_error(dir, line_profile("x", "  pe_dev.read:\n    send: x\n    results:\n      v: { type: float }\n"))
              .find(":7:18: result v: type: expected one of boolean, integer, number, string, got 'float'") != std::string::npos);
    CHECK(profile_error(dir, line_profile("x", "  pe_dev2.read:\n    send: x\n    results:\n      v: { type: number, unit: parsec }\n"))
              .find(":7:32: result v: unknown unit 'parsec'") != std::string::npos);
    CHECK(profile_error(dir, line_profile("x", "  printer.status:\n    send: 'x'\n    params: { a: { type: integer } }\n"))
              .find("params: the parameters of the built-in action printer.status come from the capability catalog") != std::string::npos);
    // A built-in capability is implemented whole.
    CHECK(profile_error(dir, line_profile("x", "  cash_drawer.status:\n    send: 'S'\n    expect: '(?<open>[01])'\n"))
              .find("actions: capability 'cash_drawer' needs every one of its actions; cash_drawer.open is missing") != std::string::npos);
    CHECK(profile_error(dir, line_profile("x", "  identify:\n    send: 'ID'\n    results: { a: { type: string } }\n"))
              .find("identify: its results are the identity") != std::string::npos);
}

TEST_CASE("profile actions: a suite needing a capability no loaded profile defines is left out, with the reason") {
    test::TempDir dir;
    test::write_file(dir / "a.yaml", "suite: needs-widget\ntitle: W\nrequires: [pa_widget_never_defined]\n"
                                     "scenarios:\n  - id: W-1\n    title: w\n    steps:\n      - wait: 1ms\n");
    test::write_file(dir / "b.yaml", "suite: plain\ntitle: P\nrequires: [printer]\n"
                                     "scenarios:\n  - id: P-1\n    title: p\n    steps:\n      - wait: 1ms\n");
    std::vector<std::string> skipped;
    auto suites = engine::load_suites({dir.path()}, &skipped);
    REQUIRE(suites.size() == 1);
    CHECK(suites[0].id == "plain");
    REQUIRE(skipped.size() == 1);
    CHECK(skipped[0] == (dir / "a.yaml").string() +
                            ":3:12: requires: capability 'pa_widget_never_defined' is neither built in nor defined by a "
                            "loaded device profile; suite needs-widget is not loaded");
    // load_suite itself still refuses it.
    CHECK_THROWS_AS((void)engine::load_suite(dir / "a.yaml"), engine::MissingCapability);
}
