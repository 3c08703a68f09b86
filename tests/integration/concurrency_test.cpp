// Issue 5, acceptance 3: four devices of three families run suites at the same time in
// one certlabd, and each run's record is its own: the right outcome for every scenario
// of that device, steps numbered 1..n in the scenario's order, and in every step's
// transcript only the bytes of its own device (its protocol, its own answers).
#include <doctest/doctest.h>

#include <algorithm>
#include <regex>

#include "harness.hpp"
#include "timeline.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

// ---- what each device's transcript may hold -------------------------------------------
// A bug that mixed two devices' bytes (a transcript tap left on the wrong stream, a
// shared buffer) puts one family's framing into another's step: CR and ETX never occur
// in ESC/POS, NCI frames are <LF>...<ETX>, kiosk lines are printable text ending CR LF.
// Between the two printers, which speak the same protocol, the exact exchanges of a
// status step and each printer's own identity tell them apart.

std::string bytes_of(const json& entry) {
    const auto hex = entry["hex"].get<std::string>();
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

/// Every entry of `dir` (tx or rx) of a step, as raw bytes.
std::vector<std::string> entries(const json& step, const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : step["transcript"]["entries"])
        if (e["dir"] == dir) out.push_back(bytes_of(e));
    return out;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += p;
    return out;
}

bool printable(char c) { return c >= 0x20 && c < 0x7f; }

bool refuse(std::string& why, const char* what) {
    why = what;
    return false;
}

/// ESC/POS: each write is a command starting with DLE, ESC or GS (its parameters may be
/// any byte: GS V A 3 cuts after feeding 3 lines) or receipt text ending LF; answers are
/// status bytes and GS I texts, never a CR, LF or ETX.
bool escpos_bytes(const json& step, std::string& why) {
    for (const auto& tx : entries(step, "tx")) {
        const bool command = !tx.empty() && (tx[0] == '\x10' || tx[0] == '\x1b' || tx[0] == '\x1d');
        const bool text = std::all_of(tx.begin(), tx.end(), [](char c) { return printable(c) || c == '\n'; });
        if (!command && !text) return refuse(why, "not an ESC/POS command nor receipt text");
    }
    for (const auto& rx : entries(step, "rx"))
        if (rx.find_first_of("\r\n\x03") != std::string::npos) return refuse(why, "CR, LF or ETX from a printer");
    return true;
}

/// NCI: single-letter commands ending CR; answers are frames <LF> ... <CR> <ETX>.
bool nci_bytes(const json& step, std::string& why) {
    static const std::regex commands("([WSZU]\r)+");
    static const std::regex frames("(\n[ -~\r\n]*\r\x03)+");
    if (!std::regex_match(joined(entries(step, "tx")), commands)) return refuse(why, "not NCI commands");
    if (!std::regex_match(joined(entries(step, "rx")), frames)) return refuse(why, "not NCI frames");
    return true;
}

/// The kiosk controller's text protocol: each direction is whole lines of printable
/// text ending CR LF, and every line is a command or an answer of that protocol.
bool kiosk_bytes(const json& step, std::string& why) {
    static const std::regex commands("((ID|STATUS|TEMP|DOOR|LED)\\?|DOOR (OPEN|CLOSE)|LED [0-9]+ [0-9]+ [0-9]+)\r\n");
    static const std::regex answers(
        "(OK|ERR [0-9]+ [ -~]+|STATUS DOOR=(OPEN|CLOSED) TEMP=-?[0-9.]+ FAN=[0-9]+|TEMP -?[0-9.]+ C|DOOR (OPEN|CLOSED)"
        "|LED [0-9]+ [0-9]+ [0-9]+|[^,\r\n]+,[^,\r\n]+,[^,\r\n]+,[^,\r\n]+)\r\n");
    auto lines_match = [](const std::string& text, const std::regex& line) {
        std::size_t at = 0;
        while (at < text.size()) {
            auto end = text.find("\r\n", at);
            if (end == std::string::npos || !std::regex_match(text.substr(at, end + 2 - at), line)) return false;
            at = end + 2;
        }
        return !text.empty();
    };
    if (!lines_match(joined(entries(step, "tx")), commands)) return refuse(why, "not kiosk command lines");
    if (!lines_match(joined(entries(step, "rx")), answers)) return refuse(why, "not kiosk answer lines");
    return true;
}

std::string hex_of(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
    return out;
}

// ---- what each run should have done -----------------------------------------------

/// One scenario of a suite as the test expects it to run on one device.
struct Expected {
    std::string id;
    std::string outcome;
    int iterations = 1;                ///< iterations that ran
    std::vector<std::string> actions;  ///< the steps of one iteration: action, or kind for a wait
    int last_iteration_steps = -1;     ///< steps recorded in the last iteration when it stopped early
};

/// (iteration, index, action) of every step the scenarios should record, in order.
struct PlannedStep {
    std::string scenario;
    int iteration;
    int index;
    std::string action;
};

std::vector<PlannedStep> plan(const std::vector<Expected>& scenarios) {
    std::vector<PlannedStep> out;
    for (const auto& s : scenarios)
        for (int it = 0; it < s.iterations; ++it) {
            int n = static_cast<int>(s.actions.size());
            if (it + 1 == s.iterations && s.last_iteration_steps >= 0) n = s.last_iteration_steps;
            for (int i = 0; i < n; ++i) out.push_back({s.id, it, i, s.actions[static_cast<std::size_t>(i)]});
        }
    return out;
}

// A printer's status step: DLE EOT 1, 2 and 4, one status byte each.
const std::vector<std::string> status_requests{"\x10\x04\x01", "\x10\x04\x02", "\x10\x04\x04"};
// A printer's identify step: GS I 1, 2, A, B, C, D.
const std::vector<std::string> identify_requests{"\x1d\x49\x01", "\x1d\x49\x02", "\x1d\x49\x41",
                                                 "\x1d\x49\x42", "\x1d\x49\x43", "\x1d\x49\x44"};

// The simulators answer in well under a millisecond, so the real suites of the scale
// and the kiosk end within tens of ms, the receipt printer's in 0.5-2 s. Each run gets
// a soak at a 5 ms interval after its real scenarios (copied from lab-config), so that
// all four run side by side for a second or more.
const char* identity_soak_yaml = R"(suite: printer-identity-soak
title: Identify and status, many times
requires: [printer]
scenarios:
  - id: IDS-1
    title: The printer says who it is and that it is online, 200 times
    iterations: 200
    interval: 5ms
    steps:
      - call: printer.identify
        expect: { model: { regex: "." } }
      - call: printer.status
        expect: { online: true }
)";

const char* printer_soak_yaml = R"(
  - id: PRN-SOAK
    title: Status read 200 times
    iterations: 200
    interval: 5ms
    steps:
      - call: printer.status
        expect: { online: true }
)";

const char* scale_soak_yaml = R"(
  - id: SCALE-SOAK
    title: The test weight, weighed 200 times
    iterations: 200
    interval: 5ms
    steps:
      - call: scale.weigh
        expect: { stable: true }
        measure:
          weight: { min: 995 g, max: 1005 g }
)";

const char* kiosk_soak_yaml = R"(
  - id: KSK-SOAK
    title: Status read 200 times
    iterations: 200
    interval: 5ms
    steps:
      - call: kiosk.status
        expect: { door: CLOSED }
)";

/// A suite of lab-config/suites as `id`, with `more` scenarios after its own.
std::string extended_suite(const std::string& file, const std::string& id, const std::string& more) {
    auto text = read_file(source("lab-config/suites/" + file));
    const auto head = text.find("\nsuite: ");
    const auto line_end = text.find('\n', head + 1);
    if (head == std::string::npos || text.find("\nscenarios:") == std::string::npos)
        throw std::runtime_error(file + ": no suite id or scenarios list where this test expects them");
    return text.substr(0, head) + "\nsuite: " + id + text.substr(line_end) + more;
}

struct Bench {
    std::string device;
    std::string suite;
    std::string family;  ///< escpos, nci, kiosk
    std::vector<Expected> scenarios;
    std::string model;  ///< printers: the model each one reports (its own answers)
};

std::vector<Bench> benches() {
    const std::vector<std::string> prn7{"printer.status", "printer.print"};
    return {
        {"printer-pty", "receipt-printer-soak", "escpos",
         {{"PRN-001", "pass", 1, {"printer.status"}},
          {"PRN-002", "pass", 1, {"printer.identify"}},
          {"PRN-003", "pass", 1, {"printer.print", "printer.cut", "printer.status"}},
          // Paper is in: the two paper-out steps are skipped, and recorded as such.
          {"PRN-004", "pass", 1, {"printer.status", "printer.status", "printer.print", "printer.status"}},
          {"PRN-005", "pass", 1, {"printer.status"}},
          {"PRN-006", "pass", 1, {"cash_drawer.open", "wait", "cash_drawer.status"}},
          {"PRN-007", "pass", 200, prn7},
          {"PRN-SOAK", "pass", 200, {"printer.status"}}},
         "SIM-PTY-80"},
        {"printer-tcp", "printer-identity-soak", "escpos",
         {{"IDS-1", "pass", 200, {"printer.identify", "printer.status"}}},
         "SIM-TCP-58"},
        // This scale has no ounces: SCALE-004 fails at its third step, the others pass
        // (SCALE-005 weighs in whatever unit the failed switch left).
        {"scale", "pos-scale-soak", "nci",
         {{"SCALE-001", "pass", 1, {"scale.status"}},
          {"SCALE-002", "pass", 1, {"scale.zero", "scale.weigh"}},
          {"SCALE-003", "pass", 1, {"scale.set_unit", "scale.weigh"}},
          {"SCALE-004", "fail", 1,
           {"scale.set_unit", "scale.weigh", "scale.set_unit", "scale.weigh", "scale.set_unit", "scale.weigh",
            "scale.set_unit"},
           3},
          {"SCALE-005", "pass", 10, {"scale.weigh"}},
          {"SCALE-SOAK", "pass", 200, {"scale.weigh"}}},
         ""},
        {"kiosk", "kiosk-controller-soak", "kiosk",
         {{"KSK-001", "pass", 1, {"kiosk.status"}},
          {"KSK-002", "pass", 1, {"kiosk.temperature"}},
          {"KSK-003", "pass", 1, {"kiosk.door_open", "kiosk.door", "kiosk.door_close", "kiosk.door"}},
          {"KSK-004", "pass", 1, {"kiosk.led", "kiosk.led", "kiosk.led", "kiosk.led"}},
          {"KSK-005", "pass", 50, {"kiosk.door_open", "kiosk.door_close"}},
          {"KSK-SOAK", "pass", 200, {"kiosk.status"}}},
         ""},
    };
}

std::string action_of(const json& step) {
    const auto action = step.value("action", "");
    return action.empty() ? step.value("kind", "") : action;
}

/// Steps of `steps` that started within [from, to].
int started_within(const json& steps, SysTime from, SysTime to) {
    int n = 0;
    for (const auto& s : steps)
        if (auto t = time_of(s["started_at"]); t >= from && t <= to) ++n;
    return n;
}

}  // namespace

TEST_CASE("concurrency: the transcript checks tell the families apart") {
    // Real exchanges (fixtures/captures), each put in a step of every family: a check
    // that accepted another family's bytes could not see two devices' bytes mixed.
    auto step = [](const std::string& tx, const std::string& rx) {
        return json{{"transcript",
                     {{"entries", {{{"dir", "tx"}, {"hex", hex_of(tx)}}, {{"dir", "rx"}, {"hex", hex_of(rx)}}}}}}};
    };
    const auto printer = step("\x10\x04\x01", "\x12");
    const auto identify = step("\x1d\x49\x43", std::string("_CERTLAB-SIM-80\0", 16));
    const auto scale = step("W\r", "\n   2.20lb\r\nS00\r\x03");
    const auto kiosk = step("STATUS?\r\n", "STATUS DOOR=CLOSED TEMP=24.0 FAN=1200\r\n");
    std::string why;
    CHECK(escpos_bytes(printer, why));
    CHECK(escpos_bytes(step("\x1d" "VA\x03", "\x12"), why));  // a cut: parameters may be any byte
    CHECK(escpos_bytes(identify, why));
    CHECK(nci_bytes(scale, why));
    CHECK(kiosk_bytes(kiosk, why));
    for (const auto* other : {&scale, &kiosk}) CHECK_FALSE(escpos_bytes(*other, why));
    for (const auto* other : {&printer, &identify, &kiosk}) CHECK_FALSE(nci_bytes(*other, why));
    for (const auto* other : {&printer, &identify, &scale}) CHECK_FALSE(kiosk_bytes(*other, why));
    // A printer step with a kiosk answer appended, as a shared transcript would make it.
    auto mixed = printer;
    mixed["transcript"]["entries"].push_back({{"dir", "rx"}, {"hex", hex_of("OK\r\n")}});
    CHECK_FALSE(escpos_bytes(mixed, why));
    mixed = printer;
    mixed["transcript"]["entries"].push_back({{"dir", "tx"}, {"hex", hex_of("W\r")}});
    CHECK_FALSE(escpos_bytes(mixed, why));
}

TEST_CASE("concurrency: four devices run suites at once with their own results and transcripts") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "receipt-printer-soak.yaml",
               extended_suite("receipt-printer.yaml", "receipt-printer-soak", printer_soak_yaml));
    write_file(dir / "suites" / "printer-identity-soak.yaml", identity_soak_yaml);
    write_file(dir / "suites" / "pos-scale-soak.yaml", extended_suite("pos-scale.yaml", "pos-scale-soak", scale_soak_yaml));
    write_file(dir / "suites" / "kiosk-controller-soak.yaml",
               extended_suite("kiosk-controller.yaml", "kiosk-controller-soak", kiosk_soak_yaml));

    auto printer_pty = start_printer(Link::pty, {"--model", "SIM-PTY-80", "--serial", "PTY0001"});
    auto printer_tcp = start_printer(Link::tcp, {"--model", "SIM-TCP-58", "--serial", "TCP0002"});
    auto scale = start_sim("scale", Link::pty, {"--weight", "1kg", "--units", "lb,kg,g"});
    auto kiosk = start_sim("kiosk", Link::tcp, {"--serial", "KC-0404"});
    Daemon d(dir, station_yaml_profiled({{"escpos-generic", {"printer-pty", printer_pty.address, ""}},
                                         {"escpos-generic", {"printer-tcp", printer_tcp.address, ""}},
                                         {"nci-scale", {"scale", scale.address, ""}},
                                         {"kiosk-controller", {"kiosk", kiosk.address, ""}}},
                                        dir / "s.db", dir / "suites"));
    const auto all = benches();
    std::vector<std::string> ids;
    for (const auto& b : all) ids.push_back(b.device);
    REQUIRE_MESSAGE(d.wait_for_state(ids, "ready"), d.log());

    // All four started back to back, before any is looked at.
    std::vector<std::int64_t> run_ids;
    for (const auto& b : all) run_ids.push_back(d.start_run(b.device, b.suite));
    for (auto id : run_ids) REQUIRE_MESSAGE(id > 0, d.log());
    std::vector<json> runs;
    for (auto id : run_ids) runs.push_back(d.wait_for_run(id, 120s));

    for (std::size_t r = 0; r < all.size(); ++r) {
        const auto& b = all[r];
        const auto& detail = runs[r];
        CAPTURE(b.device);
        INFO(detail.dump(1).substr(0, 3000));
        REQUIRE(detail["run"]["status"] == "completed");
        CHECK(detail["run"]["device"] == b.device);

        // Every scenario's outcome is the one this device earns.
        REQUIRE(detail["scenarios"].size() == b.scenarios.size());
        for (std::size_t i = 0; i < b.scenarios.size(); ++i) {
            const auto& got = detail["scenarios"][i];
            CHECK_MESSAGE(got["id"] == b.scenarios[i].id, "scenario order");
            CHECK_MESSAGE(got["outcome"] == b.scenarios[i].outcome, b.scenarios[i].id);
            CHECK_MESSAGE(got["iterations"] == b.scenarios[i].iterations, b.scenarios[i].id);
        }

        // Steps 1..n without a gap, in the scenarios' order, step by step.
        std::map<std::int64_t, std::string> scenario_of_result;
        for (const auto& s : detail["scenarios"]) scenario_of_result[s["result_id"].get<std::int64_t>()] = s["id"];
        const auto& steps = detail["steps"];
        const auto expected = plan(b.scenarios);
        CHECK(detail["step_count"] == static_cast<std::int64_t>(expected.size()));
        REQUIRE(steps.size() == expected.size());
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const auto& s = steps[i];
            const auto& e = expected[i];
            CAPTURE(i);
            CHECK(s["seq"] == static_cast<std::int64_t>(i + 1));
            CHECK(scenario_of_result[s["scenario_result_id"].get<std::int64_t>()] == e.scenario);
            CHECK(s["iteration"] == e.iteration);
            CHECK(s["index"] == e.index);
            CHECK(action_of(s) == e.action);
            CHECK(s["role"] == "dut");
        }

        // Every device step carries its own device's bytes, and only those.
        for (const auto& s : steps) {
            if (s["kind"] != "call" || s["outcome"] == "skipped") continue;
            CAPTURE(s["seq"]);
            CAPTURE(s["transcript"]["text"]);
            REQUIRE(!entries(s, "tx").empty());
            // The drawer kick is the one command here that a device does not answer.
            if (s["action"] != "cash_drawer.open") REQUIRE(!entries(s, "rx").empty());
            std::string why;
            bool own = b.family == "escpos" ? escpos_bytes(s, why) : b.family == "nci" ? nci_bytes(s, why) : kiosk_bytes(s, why);
            CHECK_MESSAGE(own, why);
            if (b.family != "escpos") continue;
            const auto other_model = b.model == "SIM-PTY-80" ? std::string("SIM-TCP-58") : std::string("SIM-PTY-80");
            const auto rx = joined(entries(s, "rx"));
            CHECK(rx.find(other_model) == std::string::npos);
            if (s["action"] == "printer.status") {
                CHECK(entries(s, "tx") == status_requests);  // three exchanges, nobody else's
                CHECK(rx.size() == 3);
            }
            if (s["action"] == "printer.identify") {
                CHECK(entries(s, "tx") == identify_requests);
                CHECK(rx.find("_" + b.model + std::string(1, '\0')) != std::string::npos);
                CHECK(s["values"]["model"]["value"] == b.model);
            }
        }
    }

    // They ran at the same time: one window of at least half a second in which all
    // four were running, with many steps of every run in it.
    std::vector<SysTime> starts, ends;
    for (const auto& r : runs) {
        starts.push_back(time_of(r["run"]["started_at"]));
        ends.push_back(time_of(r["run"]["ended_at"]));
    }
    const auto window_start = *std::max_element(starts.begin(), starts.end());
    const auto window_end = *std::min_element(ends.begin(), ends.end());
    CHECK(window_end - window_start >= 500ms);
    for (std::size_t r = 0; r < runs.size(); ++r)
        CHECK_MESSAGE(started_within(runs[r]["steps"], window_start, window_end) >= 50, all[r].device);

    REQUIRE(d.wait_for_state(ids, "ready", 5s));
}
