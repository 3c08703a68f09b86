// The event bus: consecutive ids, a bounded ring, resuming after an id, and the gap a
// client is told about when what it asks for has left the ring.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "station/events.hpp"

using namespace certlab;
using station::EventBus;

namespace {

std::vector<std::int64_t> ids_of(const std::vector<station::Event>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
}

}  // namespace

TEST_CASE("events: ids are consecutive from the first id and every event is one line of JSON") {
    EventBus bus(100, 50);
    CHECK(bus.first_id() == 100);
    CHECK(bus.next_id() == 100);
    CHECK(bus.after(99, 10).empty());
    bus.device_state("dut", "busy", "ready", "");
    record::Run run;
    run.id = 7;
    run.device_id = "dut";
    run.suite_id = "smoke";
    bus.run_queued(run);
    record::StepResult step;
    step.run_id = 7;
    step.seq = 1;
    step.action = "printer.status";
    step.reason = "line one\nline two";  // a newline in a value must not break the frame
    step.outcome = record::Outcome::fail;
    step.duration_us = 1234;
    bus.step(step, "PRN-001", 3, "dut");

    auto events = bus.after(99, 10);
    CHECK(ids_of(events) == std::vector<std::int64_t>{100, 101, 102});
    CHECK(events[0].type == "device.state");
    CHECK(events[0].device == "dut");
    CHECK_FALSE(events[0].run.has_value());
    CHECK(events[1].type == "run.queued");
    CHECK(events[1].run == 7);
    CHECK(events[2].type == "step");
    for (const auto& e : events) CHECK(e.data.find('\n') == std::string::npos);
    auto d = nlohmann::json::parse(events[2].data);
    CHECK(d["run"] == 7);
    CHECK(d["seq"] == 1);
    CHECK(d["scenario"] == "PRN-001");
    CHECK(d["iterations_planned"] == 3);
    CHECK(d["action"] == "printer.status");
    CHECK(d["outcome"] == "fail");
    CHECK(d["duration_us"] == 1234);
    CHECK(d["reason"] == "line one\nline two");
    CHECK_FALSE(d.contains("transcript"));
}

TEST_CASE("events: the ring keeps only the newest events up to its capacity") {
    CHECK(EventBus::ring_capacity == 10'000);
    EventBus bus(1, 5);
    for (int i = 0; i < 12; ++i) bus.publish("t", "{}");
    CHECK(bus.next_id() == 13);
    CHECK(bus.first_id() == 8);
    CHECK(ids_of(bus.after(0, 100)) == std::vector<std::int64_t>{8, 9, 10, 11, 12});
}

TEST_CASE("events: resuming after an id gives exactly the events after it, limited by max") {
    EventBus bus(1, 100);
    for (int i = 0; i < 10; ++i) bus.publish("t", "{\"i\":" + std::to_string(i) + "}");
    CHECK_FALSE(bus.missed_after(4));
    CHECK(ids_of(bus.after(4, 100)) == std::vector<std::int64_t>{5, 6, 7, 8, 9, 10});
    CHECK(ids_of(bus.after(4, 2)) == std::vector<std::int64_t>{5, 6});
    CHECK(bus.after(10, 100).empty());   // up to date
    CHECK_FALSE(bus.missed_after(10));
    CHECK_FALSE(bus.missed_after(0));    // everything since the first is still there
}

TEST_CASE("events: an id older than the ring or not of this process is a gap") {
    EventBus bus(1, 5);
    for (int i = 0; i < 12; ++i) bus.publish("t", "{}");
    // 8..12 held: resuming after 7 misses nothing, after 6 misses id 7.
    CHECK_FALSE(bus.missed_after(7));
    CHECK(bus.missed_after(6));
    CHECK(ids_of(bus.after(6, 100)) == std::vector<std::int64_t>{8, 9, 10, 11, 12});
    // An id this process never gave out (an earlier daemon's, say) cannot be trusted.
    CHECK(bus.missed_after(12 + 1000));
    CHECK(ids_of(bus.after(12 + 1000, 2)) == std::vector<std::int64_t>{8, 9});
}

TEST_CASE("events: ids of a later process start above an earlier one's") {
    const auto a = EventBus::first_id_now();
    CHECK(a > 1'000'000'000'000'000);  // ms since the epoch, times 1000
    CHECK(a < (std::int64_t{1} << 53));  // exact as a JavaScript number
}

TEST_CASE("events: listeners are woken on publish until their subscription ends") {
    EventBus bus;
    int woken = 0;
    {
        auto sub = bus.subscribe([&] { ++woken; });
        bus.publish("t", "{}");
        bus.publish("t", "{}");
        CHECK(woken == 2);
    }
    bus.publish("t", "{}");
    CHECK(woken == 2);
}

TEST_CASE("events: scenario ended carries soak progress and its pass rate") {
    EventBus bus;
    record::ScenarioResult s;
    s.run_id = 3;
    s.scenario_id = "SOAK-1";
    s.outcome = record::Outcome::fail;
    s.iterations = 4;
    s.iterations_planned = 10;
    s.passed_iterations = 3;
    bus.scenario_ended(s, "dut");
    auto events = bus.after(0, 10);
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == "scenario.ended");
    auto d = nlohmann::json::parse(events[0].data);
    CHECK(d["iterations"] == 4);
    CHECK(d["iterations_planned"] == 10);
    CHECK(d["passed_iterations"] == 3);
    CHECK(d["pass_rate"].get<double>() == doctest::Approx(0.75));
    CHECK(d["outcome"] == "fail");
}

TEST_CASE("events: the uploader failing and recovering are events with the error, never about a run") {
    EventBus bus(1, 10);
    bus.upload_changed(true, 12, 3, "TLS handshake with record:443 failed: certificate refused: certificate has expired");
    bus.upload_changed(false, 0, 0, "");
    auto events = bus.after(0, 10);
    REQUIRE(events.size() == 2);
    CHECK(events[0].type == "upload.failing");
    CHECK_FALSE(events[0].run.has_value());
    CHECK(events[0].device.empty());
    auto failing = nlohmann::json::parse(events[0].data);
    CHECK(failing["pending"] == 12);
    CHECK(failing["consecutive_failures"] == 3);
    CHECK(failing["error"] == "TLS handshake with record:443 failed: certificate refused: certificate has expired");
    CHECK(events[1].type == "upload.recovered");
    CHECK(nlohmann::json::parse(events[1].data)["pending"] == 0);
}
