// The line family end to end: the kiosk-controller profile defines its actions (request
// templates, response patterns with named captures); certlabd runs the kiosk suite
// through the generic line driver against certlab-sim kiosk, healthy and with faults.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

const std::string quick = "    settings: { response_timeout: 300ms }\n";

SuiteRun run_kiosk(const TempDir& dir, const Sim& sim, const std::string& extra = quick) {
    return run_profiled_suite(dir, "kiosk-controller", sim, "kiosk-controller", extra);
}

}  // namespace

TEST_CASE("line: kiosk-controller suite passes over a pty and over TCP, with typed values and units") {
    for (auto link : {Link::pty, Link::tcp}) {
        TempDir dir;
        auto sim = start_sim("kiosk", link, {"--serial", "KC-77", "--temperature", "31.5"});
        auto r = run_kiosk(dir, sim, "");
        INFO(r.run.dump(2).substr(0, 3000));
        CHECK(r.run["run"]["outcome"] == "pass");
        CHECK(r.run["scenarios"].size() == 5);
        CHECK(r.first_bad_step.is_null());
        bool saw_temperature = false;
        for (const auto& step : r.run["steps"]) {
            if (step["action"] == "kiosk.temperature") {
                saw_temperature = true;
                CHECK(step["values"]["temperature"]["value"] == 31.5);
                CHECK(step["values"]["temperature"]["unit"] == "°C");
                CHECK(step_transcript_has(step, "tx", "TEMP?"));
                CHECK(step_transcript_has(step, "rx", "TEMP 31.5 C"));
            }
            if (step["action"] == "kiosk.status") {
                CHECK(step["values"]["fan"]["value"] == 1200);
                CHECK(step["values"]["fan"]["unit"] == "rpm");
                CHECK(step["values"]["door"]["value"] == "CLOSED");
            }
        }
        CHECK(saw_temperature);
    }
}

TEST_CASE("line: the identify action gives the device's identity") {
    TempDir dir;
    auto sim = start_sim("kiosk", Link::pty, {"--serial", "KC-0042", "--firmware", "3.0.1"});
    Daemon d(dir, station_yaml_profiled({{"kiosk-controller", {"kiosk", sim.address, ""}}}, dir / "s.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"kiosk"}, "ready"), d.log());
    auto dev = d.get("/v1/devices")["devices"][0];
    CHECK(dev["driver"] == "line 1.0");
    CHECK(dev["identity"]["manufacturer"] == "CERTLAB");
    CHECK(dev["identity"]["model"] == "SIM-KC-200");
    CHECK(dev["identity"]["serial_number"] == "KC-0042");
    CHECK(dev["identity"]["firmware"] == "3.0.1");
}

TEST_CASE("line: a jammed door lock fails with the device's own error text") {
    TempDir dir;
    auto sim = start_sim("kiosk", Link::pty, {"--jam"});
    auto r = run_kiosk(dir, sim);
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "fail");
    CHECK(scenario_of(r.run, "KSK-003")["outcome"] == "fail");
    CHECK(scenario_of(r.run, "KSK-005")["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["action"] == "kiosk.door_open");
    CHECK(text_contains(r.first_bad_step["reason"], "reported an error: 'ERR 12 DOOR JAMMED'"));
    // The other scenarios are not blamed for it.
    for (const char* id : {"KSK-001", "KSK-002", "KSK-004"}) CHECK_MESSAGE(scenario_of(r.run, id)["outcome"] == "pass", id);
}

TEST_CASE("line: an overheating cabinet fails the temperature limit") {
    TempDir dir;
    auto sim = start_sim("kiosk", Link::tcp, {"--overheat"});
    auto r = run_kiosk(dir, sim);
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(scenario_of(r.run, "KSK-002")["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["action"] == "kiosk.temperature");
    CHECK(r.first_bad_step["values"]["temperature"]["value"] == 85.0);
    CHECK(scenario_of(r.run, "KSK-001")["outcome"] == "pass");
}

TEST_CASE("line: garbage from the device gives fail, with the bytes in the transcript") {
    TempDir dir;
    // Bring-up is one command (ID?); every answer after it is garbage.
    auto sim = start_sim("kiosk", Link::tcp, {"--garbage-after", "1"});
    auto r = run_kiosk(dir, sim);
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(r.first_bad_step["action"] == "kiosk.status");
    CHECK(text_contains(r.first_bad_step["reason"], "does not match"));
    CHECK(text_contains(r.first_bad_step["reason"], "<FF><FE>?#<80>"));
    CHECK(step_transcript_has(r.first_bad_step, "rx", "fffe", "hex"));
}

TEST_CASE("line: a stalled device gives timeout") {
    TempDir dir;
    auto sim = start_sim("kiosk", Link::pty, {"--stall-after", "1"});
    auto r = run_kiosk(dir, sim);
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "timeout");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "timeout");
    CHECK(text_contains(r.first_bad_step["reason"], "kiosk.status"));
}

TEST_CASE("line: a device that disconnects mid-run gives error") {
    TempDir dir;
    auto sim = start_sim("kiosk", Link::tcp, {"--disconnect-after", "3"});
    auto r = run_kiosk(dir, sim);
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "error");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "error");
}

TEST_CASE("line: a device whose identify answer matches nothing does not come up, and says why") {
    TempDir dir;
    auto sim = start_sim("kiosk", Link::pty, {"--garbage"});
    Daemon d(dir, station_yaml_profiled({{"kiosk-controller", {"kiosk", sim.address, quick}}}, dir / "s.db"));
    CHECK_FALSE(d.wait_for_state({"kiosk"}, "ready", 2s));
    auto dev = d.get("/v1/devices")["devices"][0];
    INFO(dev.dump());
    CHECK(dev["state"] != "ready");
    CHECK(text_contains(dev["state_reason"], "does not match"));
    CHECK(d.process().running());
}

TEST_CASE("line: a device that echoes its commands passes with echo on, and fails without it") {
    {
        TempDir dir;
        auto sim = start_sim("kiosk", Link::pty, {"--echo"});
        auto r = run_kiosk(dir, sim, "    settings: { response_timeout: 300ms, echo: true }\n");
        INFO(r.run.dump(2).substr(0, 2000));
        CHECK(r.run["run"]["outcome"] == "pass");
    }
    {
        TempDir dir;
        auto sim = start_sim("kiosk", Link::pty, {"--echo"});
        Daemon d(dir, station_yaml_profiled({{"kiosk-controller", {"kiosk", sim.address, quick}}}, dir / "s.db"));
        // Its identify answer is the echo, which is no identity.
        CHECK_FALSE(d.wait_for_state({"kiosk"}, "ready", 2s));
        CHECK(text_contains(d.get("/v1/devices")["devices"][0]["state_reason"], "'ID?' does not match"));
    }
}
