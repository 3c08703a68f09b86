// The scale family end to end: certlab-sim scale as an NCI peer (protocol, weight
// file, zero, units, faults), and the pos-scale suite run by certlabd over a pty, with
// injected faults ending in the right outcomes.
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <stdexcept>
#include <thread>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto answer_timeout = 2s;
/// How long "says nothing" is listened for: well above the simulator's reaction time.
constexpr auto silence = 250ms;

/// The host end of a simulated scale's pty, opened raw like a serial port.
class Port {
public:
    explicit Port(const std::string& address) {
        fd_ = ::open(address.substr(address.find(':') + 1).c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
        termios tio{};
        if (fd_ < 0 || ::tcgetattr(fd_, &tio) != 0) throw std::runtime_error("cannot open " + address);
        ::cfmakeraw(&tio);
        ::tcsetattr(fd_, TCSANOW, &tio);
    }
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;
    ~Port() { ::close(fd_); }

    /// Sends `command` and CR; returns the answer up to its ETX, or what came before
    /// `timeout` ("" when nothing did).
    std::string ask(const std::string& command, Clock::duration timeout = answer_timeout) {
        const std::string bytes = command + "\r";
        if (::write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
            throw std::runtime_error("write to simulator failed");
        const auto deadline = Clock::now() + timeout;
        std::string out;
        while (out.empty() || out.back() != '\x03') {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
            char buf[256];
            auto n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

private:
    int fd_ = -1;
};

std::string weight_answer(const std::string& display, const std::string& status = "00") {
    return "\n" + display + "\r\nS" + status + "\r\x03";
}
std::string status_answer(const std::string& status) { return "\nS" + status + "\r\x03"; }

// ---- daemon runs ------------------------------------------------------------------

std::string device_settings(const std::string& yaml_map) { return "    settings: " + yaml_map + "\n"; }
/// Short timeouts keep the stall and motion cases quick.
const std::string quick = device_settings("{ response_timeout: 300ms, settle_time: 500ms, poll_interval: 100ms }");

SuiteRun run_suite(const TempDir& dir, const Sim& scale, const std::string& suite,
                   const std::filesystem::path& suites = source("lab-config/suites"),
                   const std::string& settings = quick) {
    return run_profiled_suite(dir, "nci-scale", scale, suite, settings, suites);
}

/// The first step of `action` in the run.
json step_of(const json& run, const std::string& action) {
    for (const auto& s : run["steps"])
        if (s["action"] == action) return s;
    return json{};
}

/// A suite of one scenario, written to dir/suites.
std::filesystem::path one_scenario_suite(const TempDir& dir, const std::string& steps) {
    auto suites = dir / "suites";
    std::filesystem::create_directories(suites);
    write_file(suites / "scale-steps.yaml",
               "suite: scale-steps\ntitle: Scale steps\nrequires: [scale]\n"
               "defaults:\n  step_timeout: 5s\n"
               "scenarios:\n  - id: ST-1\n    title: Steps\n    steps:\n" + steps);
    return suites;
}

}  // namespace

// ---- the simulator as an NCI peer ---------------------------------------------------

TEST_CASE("sim: scale answers W, S, Z and U with its load, units and zero") {
    TempDir dir;
    auto load = dir / "load";
    write_file(load, "0.1 kg\n");
    auto sim = start_sim("scale", Link::pty, {"--weight-file", load.string()});
    Port port(sim.address);

    CHECK(port.ask("W") == weight_answer("   0.22lb"));
    CHECK(port.ask("S") == status_answer("00"));
    // 0.1 kg is within the 4 % zero range of a 15 kg scale: zeroed.
    CHECK(port.ask("Z") == status_answer("20"));  // 0x32: at zero
    CHECK(port.ask("W") == weight_answer("   0.00lb", "20"));

    // Units cycle lb -> kg -> oz -> g -> lb; U answers the new unit and the status.
    CHECK(port.ask("U") == "\nkg\r\nS20\r\x03");
    write_file(load, "1.1 kg\n");  // a 1 kg weight put on the zeroed 0.1 kg tray
    CHECK(port.ask("W") == weight_answer("  1.000kg"));
    CHECK(port.ask("U") == "\noz\r\nS00\r\x03");
    CHECK(port.ask("W") == weight_answer("   35.3oz"));
    CHECK(port.ask("U") == "\ng\r\nS00\r\x03");
    CHECK(port.ask("W") == weight_answer("   1000g"));
    CHECK(port.ask("U") == "\nlb\r\nS00\r\x03");

    // Outside the zero range, Z changes nothing.
    CHECK(port.ask("Z") == status_answer("00"));
    CHECK(port.ask("W") == weight_answer("   2.20lb"));

    // Over capacity: no weight on the display, bit 1 of status byte 2.
    write_file(load, "40 lb\n");
    CHECK(port.ask("W") == weight_answer("-------lb", "02"));
    // Taken off again: below zero by the tray, which is less than the zero range.
    write_file(load, "0 kg\n");
    CHECK(port.ask("W") == weight_answer("  -0.22lb"));
    write_file(load, "-1 kg\n");
    CHECK(port.ask("W") == weight_answer("-------lb", "01"));  // under capacity

    CHECK(port.ask("H") == "\n?\r\x03");  // not implemented: unrecognised
    CHECK(port.ask("w") == "\n?\r\x03");
    CHECK(port.ask(std::string(40, 'W')) == "\n?\r\x03");
}

TEST_CASE("sim: scale motion, settling, framing variants and error bits") {
    SUBCASE("--motion: never stable, the reading wanders by one division") {
        auto sim = start_sim("scale", Link::pty, {"--weight", "1kg", "--motion"});
        Port port(sim.address);
        auto a = port.ask("W");
        auto b = port.ask("W");
        CHECK(a != b);
        CHECK((a == weight_answer("   2.21lb", "10") || a == weight_answer("   2.19lb", "10")));
        CHECK(port.ask("Z") == status_answer("10"));  // in motion: not zeroed
    }
    SUBCASE("--settle-ms: a changed load swings, then settles") {
        TempDir dir;
        auto load = dir / "load";
        write_file(load, "1kg");
        auto sim = start_sim("scale", Link::pty, {"--weight-file", load.string(), "--settle-ms", "300", "--unit", "kg"});
        Port port(sim.address);
        CHECK(port.ask("S") == status_answer("00"));  // settled at power-up
        write_file(load, "2kg");
        CHECK(port.ask("S") == status_answer("10"));
        std::this_thread::sleep_for(400ms);
        CHECK(port.ask("W") == weight_answer("  2.000kg"));
    }
    SUBCASE("--no-status-prefix and a third status byte") {
        auto sim = start_sim("scale", Link::pty, {"--no-status-prefix", "--status-bytes", "3", "--overload"});
        Port port(sim.address);
        CHECK(port.ask("S") == "\n0r0\r\x03");  // 0x72: over capacity, another byte follows
    }
    SUBCASE("memory and calibration errors") {
        auto sim = start_sim("scale", Link::pty, {"--ram-error", "--eeprom-error", "--rom-error", "--calibration-error"});
        Port port(sim.address);
        CHECK(port.ask("S") == status_answer("><"));  // 0x3E: at zero, RAM, EEPROM; 0x3C: ROM, calibration
    }
}

TEST_CASE("sim: scale faults count requests") {
    SUBCASE("--stall-after") {
        auto sim = start_sim("scale", Link::pty, {"--stall-after", "1"});
        Port port(sim.address);
        CHECK(port.ask("S") == status_answer("20"));
        CHECK(port.ask("S", silence).empty());
    }
    SUBCASE("--garbage-after") {
        auto sim = start_sim("scale", Link::pty, {"--garbage-after", "1"});
        Port port(sim.address);
        CHECK(port.ask("S") == status_answer("20"));
        CHECK(port.ask("W") == "\xFF\xFE#\x80!\r\x03");
    }
    SUBCASE("--disconnect-after: the scale goes away") {
        auto sim = start_sim("scale", Link::pty, {"--disconnect-after", "1"});
        Port port(sim.address);
        CHECK(port.ask("S") == status_answer("20"));
        CHECK(port.ask("S").empty());
        CHECK(wait_until([&] { return !sim.process.running(); }, 2s));
    }
}

// ---- the driver and the suite through certlabd -------------------------------------

TEST_CASE("scale: pos-scale suite passes over a pty, in both framing variants") {
    TempDir dir;
    auto pos = start_sim("scale", Link::pty, {"--weight", "1kg"});
    auto bare = start_sim("scale", Link::pty, {"--weight", "1kg", "--no-status-prefix", "--status-bytes", "3", "--unit", "kg"});
    auto db = dir / "store.db";
    Daemon d(dir, station_yaml_profiled({{"nci-scale", {"scale-pos", pos.address, ""}},
                                         {"nci-scale", {"scale-bare", bare.address,
                                                        device_settings("{ status_prefix: none }")}}},
                                        db));
    REQUIRE_MESSAGE(d.wait_for_state({"scale-pos", "scale-bare"}, "ready"), d.log());
    for (const auto& dev : d.get("/v1/devices")["devices"]) {
        CHECK(dev["driver"] == "scale 1.0");
        CHECK(dev["identity"]["manufacturer"] == "NCI-compatible");
    }

    auto id_pos = d.start_run("scale-pos", "pos-scale");
    auto id_bare = d.start_run("scale-bare", "pos-scale");
    for (auto [id, display] : {std::pair{id_pos, "   2.20lb"}, std::pair{id_bare, "  1.000kg"}}) {
        auto r = finish_run(d, id);
        INFO(r.run.dump(2).substr(0, 4000));
        CHECK(r.run["run"]["status"] == "completed");
        CHECK(r.run["run"]["outcome"] == "pass");
        CHECK(r.run["scenarios"].size() == 5);
        for (const auto& s : r.run["scenarios"]) CHECK_MESSAGE(s["outcome"] == "pass", s["id"]);
        auto weigh = step_of(r.run, "scale.weigh");
        CHECK(step_transcript_has(weigh, "tx", "W<0D>"));
        CHECK(step_transcript_has(weigh, "rx", display));  // SCALE-002 weighs in the unit the scale shows
    }
    auto status = step_of(finish_run(d, id_bare).run, "scale.status");
    CHECK(status["values"]["net"]["value"] == false);  // the third status byte is reported
    // Weights are stored with their units, converted to the check's unit.
    auto weights = sql_value(db, "SELECT count(*) FROM measurements m JOIN step_results s ON s.id = m.step_result_id "
                                 "WHERE s.run_id = " + std::to_string(id_pos) + " AND m.name = 'weight' AND m.unit = 'kg'"
                                 " AND m.value BETWEEN 0.995 AND 1.005");
    CHECK(std::stoi(weights) == 15);  // SCALE-002, 003, 004 (3), 005 (10)
}

TEST_CASE("scale: a weight file rewritten between runs puts the scale over capacity, and weigh fails naming it") {
    TempDir dir;
    auto load = dir / "load";
    write_file(load, "1 kg\n");
    auto sim = start_sim("scale", Link::pty, {"--weight-file", load.string()});
    Daemon d(dir, station_yaml_profiled({{"nci-scale", {"scale", sim.address, quick}}}, dir / "s.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"scale"}, "ready"), d.log());
    auto first = finish_run(d, d.start_run("scale", "pos-scale"));
    CHECK(first.run["run"]["outcome"] == "pass");

    write_file(load, "20 kg\n");  // over the 15 kg capacity
    auto r = finish_run(d, d.start_run("scale", "pos-scale"));
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    CHECK(text_contains(scenario_of(r.run, "SCALE-001")["reason"], "over_load: expected false, got true"));
    auto weigh = scenario_of(r.run, "SCALE-003");
    CHECK(weigh["outcome"] == "fail");
    CHECK(text_contains(weigh["reason"], "over_load: expected false, got true"));
    auto step = step_of(r.run, "scale.weigh");
    CHECK(step["values"]["over_load"]["value"] == true);
    CHECK_FALSE(step["values"].contains("weight"));  // the display showed no weight
}

TEST_CASE("scale: a load that settles is weighed once stable, polling while in motion") {
    TempDir dir;
    auto load = dir / "load";
    write_file(load, "1 kg\n");
    auto sim = start_sim("scale", Link::pty, {"--weight-file", load.string(), "--settle-ms", "500"});
    auto suites = one_scenario_suite(dir, "      - call: scale.weigh\n"
                                          "        args: { settle: 3s }\n"
                                          "        expect: { stable: true }\n"
                                          "        measure:\n          weight: { min: 1.495 kg, max: 1.505 kg }\n");
    Daemon d(dir, station_yaml_profiled({{"nci-scale", {"scale", sim.address, quick}}}, dir / "s.db", suites));
    REQUIRE_MESSAGE(d.wait_for_state({"scale"}, "ready"), d.log());
    write_file(load, "1.5 kg\n");  // put on just before the step
    auto r = finish_run(d, d.start_run("scale", "scale-steps"));
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "pass");
    auto step = step_of(r.run, "scale.weigh");
    CHECK(step["values"]["readings"]["value"].get<int>() >= 3);
    CHECK(step["values"]["settle_time"]["value"].get<double>() >= 400);
    CHECK(step_transcript_has(step, "note", "in motion; asking again"));
}

TEST_CASE("scale: a scale that never settles fails the weighing with stable=false") {
    TempDir dir;
    auto sim = start_sim("scale", Link::pty, {"--weight", "1kg", "--motion"});
    auto r = run_suite(dir, sim, "pos-scale");
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    auto weigh = scenario_of(r.run, "SCALE-003");
    CHECK(weigh["outcome"] == "fail");
    CHECK(text_contains(weigh["reason"], "stable: expected true, got false"));
    auto step = step_of(r.run, "scale.weigh");
    CHECK(step["outcome"] == "fail");
    CHECK(step["values"]["readings"]["value"].get<int>() >= 3);  // it kept asking for the settle time
    CHECK(step_transcript_has(step, "note", "still in motion"));
    // Status itself is fine, and zero is refused either way.
    CHECK(scenario_of(r.run, "SCALE-001")["outcome"] == "pass");
}

TEST_CASE("scale: zero within the zero range is accepted, and a unit the scale lacks is refused") {
    TempDir dir;
    auto sim = start_sim("scale", Link::pty, {"--weight", "0.2kg", "--units", "lb,kg"});
    auto suites = one_scenario_suite(dir, "      - call: scale.zero\n"
                                          "        expect: { accepted: true, at_zero: true, reason: \"\" }\n"
                                          "      - call: scale.weigh\n"
                                          "        expect: { stable: true, at_zero: true }\n"
                                          "        measure:\n          weight: { min: -1 g, max: 1 g }\n"
                                          "      - call: scale.set_unit\n"
                                          "        args: { unit: oz }\n"
                                          "        expect: { accepted: false, unit: lb }\n");
    auto r = run_suite(dir, sim, "scale-steps", suites);
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "pass");
    auto set = step_of(r.run, "scale.set_unit");
    CHECK(text_contains(set["values"]["reason"]["value"], "does not offer oz (its units: lb, kg)"));
    CHECK(set["values"]["presses"]["value"] == 2);
}

TEST_CASE("scale: a stalled scale gives timeout") {
    TempDir dir;
    // Answers the status at bring-up (one request), then nothing at all.
    auto sim = start_sim("scale", Link::pty, {"--stall-after", "1"});
    auto r = run_suite(dir, sim, "pos-scale");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "timeout");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["action"] == "scale.status");
    CHECK(r.first_bad_step["outcome"] == "timeout");
    CHECK(text_contains(r.first_bad_step["reason"], "S: no complete answer within 300 ms"));
}

TEST_CASE("scale: garbage from the scale gives fail with the bytes in the transcript") {
    TempDir dir;
    auto sim = start_sim("scale", Link::pty, {"--garbage-after", "1"});
    auto r = run_suite(dir, sim, "pos-scale");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(text_contains(r.first_bad_step["reason"], "S: malformed response \"<FF>\": expected a response starting with <LF>"));
    CHECK(step_transcript_has(r.first_bad_step, "rx", "fffe", "hex"));
}

TEST_CASE("scale: a scale that goes away mid-run gives error") {
    TempDir dir;
    auto sim = start_sim("scale", Link::pty, {"--disconnect-after", "1"});
    auto r = run_suite(dir, sim, "pos-scale");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "error");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "error");
    CHECK(text_contains(r.first_bad_step["reason"], "S: "));
}
