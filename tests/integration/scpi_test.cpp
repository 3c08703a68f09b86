// The scpi family end to end: certlab-sim psu as a SCPI peer (protocol and faults),
// its outlet file driving a simulated printer's mains, and the bench-supply suite run
// by certlabd over TCP and a pty, with injected faults ending in the right outcomes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <stdexcept>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto answer_timeout = 2s;
/// How long "says nothing" is listened for: well above the simulators' reaction time.
constexpr auto silence = 250ms;

/// The host end of a raw byte link to a simulator, from its `tcp:` or `serial:` address.
class RawLink {
public:
    explicit RawLink(const std::string& address) {
        if (address.rfind("tcp:", 0) == 0) {
            auto host_port = address.substr(4);
            auto colon = host_port.rfind(':');
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1))));
            if (::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &sa.sin_addr) != 1)
                throw std::runtime_error("bad address " + address);
            fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
                throw std::runtime_error("cannot connect to " + address);
        } else {
            fd_ = ::open(address.substr(address.find(':') + 1).c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
            termios tio{};
            if (fd_ < 0 || ::tcgetattr(fd_, &tio) != 0) throw std::runtime_error("cannot open " + address);
            ::cfmakeraw(&tio);
            ::tcsetattr(fd_, TCSANOW, &tio);
        }
    }
    RawLink(const RawLink&) = delete;
    RawLink& operator=(const RawLink&) = delete;
    ~RawLink() {
        if (fd_ >= 0) ::close(fd_);
    }

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            auto n = ::write(fd_, bytes.data(), bytes.size());
            if (n <= 0) throw std::runtime_error("write to simulator failed");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// Bytes up to and including `delim`, or what arrived before `timeout` (without it).
    std::string read_until(char delim, Clock::duration timeout = answer_timeout) {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            if (auto pos = buffer_.find(delim); pos != std::string::npos) {
                auto out = buffer_.substr(0, pos + 1);
                buffer_.erase(0, pos + 1);
                return out;
            }
            if (!fill(deadline)) return std::exchange(buffer_, {});
        }
    }

    /// `n` bytes, or what arrived before `timeout`.
    std::string read_exact(std::size_t n, Clock::duration timeout = answer_timeout) {
        const auto deadline = Clock::now() + timeout;
        while (buffer_.size() < n && fill(deadline)) {
        }
        auto out = buffer_.substr(0, std::min(n, buffer_.size()));
        buffer_.erase(0, out.size());
        return out;
    }

    /// A SCPI query: its answer without the newline ("" when none came).
    std::string ask(const std::string& query) {
        send(query + "\n");
        auto line = read_until('\n');
        if (line.empty() || line.back() != '\n') return {};
        line.pop_back();
        return line;
    }

private:
    bool fill(Clock::time_point deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char buf[512];
        auto n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return false;
        buffer_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string buffer_;
};

// ---- ESC/POS bytes for the printer side of the outlet test ---------------------------
const std::string status_request = "\x10\x04\x01";  // DLE EOT 1

// ---- daemon runs ------------------------------------------------------------------

std::string device_settings(const std::string& yaml_map) { return "    settings: " + yaml_map + "\n"; }
/// A short response timeout keeps the stall cases quick.
const std::string quick = device_settings("{ response_timeout: 300ms }");

SuiteRun run_suite(const TempDir& dir, const Sim& psu, const std::string& suite,
                   const std::filesystem::path& suites = source("lab-config/suites"),
                   const std::string& settings = quick) {
    return run_profiled_suite(dir, "scpi-psu", psu, suite, settings, suites);
}

}  // namespace

// ---- the simulator as a SCPI peer ---------------------------------------------------

TEST_CASE("sim: psu identifies, programs and measures its load, and queues SCPI errors") {
    auto psu = start_sim("psu", Link::tcp, {"--load-ohms", "10"});
    RawLink link(psu.address);
    CHECK(link.ask("*IDN?") == "CERTLAB,SIM-PSU-3005,SIM0002,1.00");
    CHECK(link.ask("OUTP?") == "0");
    link.send("VOLT 5\nCURR 1\nOUTP ON\n");
    CHECK(link.ask("MEAS:VOLT?") == "+5.0000E+00");
    CHECK(link.ask("MEAS:CURR?") == "+5.0000E-01");
    // Long forms, optional nodes, any case, a leading colon, compound messages.
    CHECK(link.ask(":SOURce:VOLTage:LEVel:IMMediate:AMPLitude?") == "+5.0000E+00");
    CHECK(link.ask("meas:scal:curr:dc?") == "+5.0000E-01");
    CHECK(link.ask("VOLT 3;VOLT?;OUTP:STAT?") == "+3.0000E+00;1");
    CHECK(link.ask("SYST:ERR?") == "0,\"No error\"");

    // Constant current: 12 V into 10 ohm would be 1.2 A; the limit holds it at 0.2 A.
    link.send("VOLT 12;CURR 0.2\n");
    CHECK(link.ask("MEAS:CURR?") == "+2.0000E-01");
    CHECK(link.ask("MEAS:VOLT?") == "+2.0000E+00");
    CHECK(link.ask("CURR:PROT:TRIP?") == "0");

    // An undefined query is not answered; its error waits in the queue.
    link.send("FOO?\n");
    CHECK(link.read_until('\n', silence).empty());
    CHECK(link.ask("SYST:ERR?") == "-113,\"Undefined header\"");
    link.send("VOLT 99\nVOLT abc\nOUTP MAYBE\nVOLT\nOUTP? 1\n");
    CHECK(link.ask("SYST:ERR?") == "-222,\"Data out of range\"");
    CHECK(link.ask("SYST:ERR?") == "-104,\"Data type error\"");
    CHECK(link.ask("SYST:ERR?") == "-224,\"Illegal parameter value\"");
    CHECK(link.ask("SYST:ERR?") == "-109,\"Missing parameter\"");
    CHECK(link.ask("SYST:ERR?") == "-108,\"Parameter not allowed\"");
    CHECK(link.ask("SYST:ERR:NEXT?") == "0,\"No error\"");
    CHECK(link.ask("VOLT?") == "+1.2000E+01");  // the refused values changed nothing

    // A full queue keeps its oldest entries and reports the loss last; *CLS empties it.
    for (int i = 0; i < 12; ++i) link.send("BAR\n");
    for (int i = 0; i < 9; ++i) CHECK(link.ask("SYST:ERR?") == "-113,\"Undefined header\"");
    CHECK(link.ask("SYST:ERR?") == "-350,\"Queue overflow\"");
    CHECK(link.ask("SYST:ERR?") == "0,\"No error\"");
    link.send("BAR\n*CLS\n");
    CHECK(link.ask("SYST:ERR?") == "0,\"No error\"");

    link.send("*RST\n");
    CHECK(link.ask("OUTP?") == "0");
    CHECK(link.ask("VOLT?") == "+0.0000E+00");
}

TEST_CASE("sim: psu with --trip switches its output off on over-current until switched on again") {
    TempDir dir;
    auto outlet = dir / "outlet";
    auto psu = start_sim("psu", Link::pty, {"--trip", "--outlet", outlet.string()});
    RawLink link(psu.address);
    link.send("VOLT 5;CURR 1\nOUTP ON\n");
    CHECK(link.ask("OUTP?") == "1");
    CHECK(read_file(outlet) == "on\n");
    link.send("CURR 0.2\n");  // 0.5 A drawn: over the new limit
    CHECK(link.ask("OUTP?") == "0");
    CHECK(link.ask("CURR:PROT:TRIP?") == "1");
    CHECK(link.ask("MEAS:CURR?") == "+0.0000E+00");
    CHECK(read_file(outlet) == "off\n");  // a trip is an outage for whatever the outlet feeds
    link.send("CURR 2\nOUTP ON\n");
    CHECK(link.ask("OUTP?") == "1");
    CHECK(link.ask("CURR:PROT:TRIP?") == "0");
    CHECK(link.ask("MEAS:CURR?") == "+5.0000E-01");
    CHECK(read_file(outlet) == "on\n");
}

TEST_CASE("sim: psu faults count queries other than SYST:ERR?") {
    SUBCASE("--stall and --garbage from the start") {
        auto stalled = start_sim("psu", Link::tcp, {"--stall"});
        RawLink s(stalled.address);
        s.send("SYST:ERR?\n");
        CHECK(s.read_until('\n', silence).empty());
        auto babbling = start_sim("psu", Link::tcp, {"--garbage"});
        RawLink g(babbling.address);
        CHECK(g.ask("SYST:ERR?") == "\xFF\xFE#\x80!");
    }
    SUBCASE("--stall-after") {
        auto psu = start_sim("psu", Link::tcp, {"--stall-after", "1"});
        RawLink link(psu.address);
        CHECK(link.ask("*IDN?") != "");
        CHECK(link.ask("SYST:ERR?") == "0,\"No error\"");
        link.send("OUTP?\n");
        CHECK(link.read_until('\n', silence).empty());
        link.send("SYST:ERR?\n");  // stalled for good
        CHECK(link.read_until('\n', silence).empty());
    }
    SUBCASE("--garbage-after") {
        auto psu = start_sim("psu", Link::tcp, {"--garbage-after", "1"});
        RawLink link(psu.address);
        CHECK(link.ask("OUTP?") == "0");
        CHECK(link.ask("OUTP?") == "\xFF\xFE#\x80!");
    }
    SUBCASE("--error-after") {
        auto psu = start_sim("psu", Link::tcp, {"--error-after", "1"});
        RawLink link(psu.address);
        CHECK(link.ask("OUTP?") == "0");
        CHECK(link.ask("SYST:ERR?") == "0,\"No error\"");
        CHECK(link.ask("OUTP?") == "0");
        CHECK(link.ask("SYST:ERR?") == "-310,\"System error\"");
        CHECK(link.ask("OUTP?") == "0");  // once only
        CHECK(link.ask("SYST:ERR?") == "0,\"No error\"");
    }
    SUBCASE("--disconnect-after on TCP drops one connection") {
        auto psu = start_sim("psu", Link::tcp, {"--disconnect-after", "1"});
        {
            RawLink link(psu.address);
            CHECK(link.ask("OUTP?") == "0");
            link.send("OUTP?\n");
            CHECK(link.read_until('\n').empty());  // closed, not answered
        }
        RawLink again(psu.address);
        CHECK(again.ask("OUTP?") == "0");
    }
}

TEST_CASE("sim: a printer with --power-file follows the psu's outlet") {
    TempDir dir;
    auto outlet = dir / "outlet";
    auto psu = start_sim("psu", Link::tcp, {"--outlet", outlet.string()});
    CHECK(read_file(outlet) == "off\n");  // written at power-up, before the ready line
    auto printer = start_sim("printer", Link::tcp, {"--power-file", outlet.string()});
    RawLink supply(psu.address);
    RawLink prn(printer.address);

    // The outlet file is written before the psu answers the next query, so each
    // OUTP? below also orders the printer's view of its mains.
    prn.send(status_request);
    CHECK_MESSAGE(prn.read_exact(1, silence).empty(), "an unpowered printer answered");

    supply.send("OUTP ON\n");
    REQUIRE(supply.ask("OUTP?") == "1");
    CHECK(read_file(outlet) == "on\n");
    CHECK(prn.read_exact(1, silence).empty());  // what it got while unpowered is gone
    prn.send(status_request);
    CHECK(prn.read_exact(1).size() == 1);

    // A command half-received before an outage does not survive it.
    prn.send(status_request.substr(0, 2));
    supply.send("OUTP OFF\n");
    REQUIRE(supply.ask("OUTP?") == "0");
    CHECK(read_file(outlet) == "off\n");
    prn.send(status_request);  // dropped: unpowered
    CHECK(prn.read_exact(1, silence).empty());
    supply.send("OUTP ON\n");
    REQUIRE(supply.ask("OUTP?") == "1");
    prn.send(status_request.substr(2));  // would complete DLE EOT 1 in a printer that kept it
    CHECK_MESSAGE(prn.read_exact(1, silence).empty(), "the printer kept bytes from before the outage");
    prn.send(status_request);
    CHECK(prn.read_exact(1).size() == 1);
}

// ---- the driver and the suite through certlabd -------------------------------------

TEST_CASE("scpi: bench-supply suite passes over TCP and over a pty") {
    TempDir dir;
    auto tcp = start_sim("psu", Link::tcp);
    auto pty = start_sim("psu", Link::pty, {"--serial", "SIM0003"});
    auto db = dir / "store.db";
    Daemon d(dir, station_yaml_profiled({{"scpi-psu", {"psu-tcp", tcp.address, ""}},
                                         {"scpi-psu", {"psu-pty", pty.address, ""}}},
                                        db));
    REQUIRE_MESSAGE(d.wait_for_state({"psu-tcp", "psu-pty"}, "ready"), d.log());

    for (const auto& dev : d.get("/v1/devices")["devices"]) {
        CHECK(dev["driver"] == "scpi 1.0");
        CHECK(dev["identity"]["manufacturer"] == "CERTLAB");
        CHECK(dev["identity"]["model"] == "SIM-PSU-3005");
        CHECK(dev["identity"]["firmware"] == "1.00");
        if (dev["id"] == "psu-pty") CHECK(dev["identity"]["serial_number"] == "SIM0003");
    }

    auto id_tcp = d.start_run("psu-tcp", "bench-supply");
    auto id_pty = d.start_run("psu-pty", "bench-supply");
    REQUIRE(id_tcp > 0);
    REQUIRE(id_pty > 0);
    for (auto id : {id_tcp, id_pty}) {
        auto run = d.wait_for_run(id);
        INFO(run.dump(2).substr(0, 4000));
        CHECK(run["run"]["status"] == "completed");
        CHECK(run["run"]["outcome"] == "pass");
        CHECK(run["scenarios"].size() == 6);
        for (const auto& s : run["scenarios"]) CHECK_MESSAGE(s["outcome"] == "pass", s["id"]);

        // Every command is followed by a read of the error queue, in the transcript.
        for (const auto& step : run["steps"]) {
            if (step["action"] != "power.on") continue;
            CHECK(step_transcript_has(step, "tx", "OUTP ON"));
            CHECK(step_transcript_has(step, "tx", "SYST:ERR?"));
            CHECK(step_transcript_has(step, "rx", "0,\"No error\""));
        }
    }
    // The measured values are stored with their units.
    auto volts = sql_value(db, "SELECT count(*) FROM measurements m JOIN step_results s ON s.id = m.step_result_id "
                               "WHERE s.run_id = " + std::to_string(id_tcp) + " AND m.name = 'voltage' AND m.unit = 'V'");
    CHECK(std::stoi(volts) >= 20);
}

TEST_CASE("scpi: a stalled supply gives timeout") {
    TempDir dir;
    // Answers the identification at bring-up (one query), then nothing at all.
    auto psu = start_sim("psu", Link::pty, {"--stall-after", "1"});
    auto r = run_suite(dir, psu, "bench-supply");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "timeout");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["action"] == "power.identify");
    CHECK(r.first_bad_step["outcome"] == "timeout");
    CHECK(text_contains(r.first_bad_step["reason"], "no response"));
    CHECK(text_contains(r.first_bad_step["reason"], "*IDN?"));
}

TEST_CASE("scpi: garbage from the supply gives fail with the bytes in the transcript") {
    TempDir dir;
    auto psu = start_sim("psu", Link::tcp, {"--garbage-after", "1"});
    auto r = run_suite(dir, psu, "bench-supply");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(text_contains(r.first_bad_step["reason"], "*IDN?: malformed answer \"<FF><FE>#<80>!<0A>\""));
    CHECK(step_transcript_has(r.first_bad_step, "rx", "fffe", "hex"));
}

TEST_CASE("scpi: an error in the instrument's queue fails the step, naming the command and the error") {
    TempDir dir;
    // A spurious error arrives with the second query: the identify step after bring-up.
    auto psu = start_sim("psu", Link::tcp, {"--error-after", "1"});
    auto r = run_suite(dir, psu, "bench-supply");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(text_contains(r.first_bad_step["reason"], "*IDN?: instrument reported -310,\"System error\""));
    CHECK(scenario_of(r.run, "PSU-001")["outcome"] == "fail");
    // The queue was drained: the next scenarios are not blamed for it.
    for (const char* id : {"PSU-002", "PSU-003", "PSU-004", "PSU-005", "PSU-006"})
        CHECK_MESSAGE(scenario_of(r.run, id)["outcome"] == "pass", id);
}

TEST_CASE("scpi: set-points beyond the instrument's range fail, beyond the profile's limit are refused") {
    TempDir dir;
    auto suites = dir / "suites";
    std::filesystem::create_directories(suites);
    write_file(suites / "limits.yaml",
               "suite: psu-limits\ntitle: Set-point limits\nrequires: [power]\n"
               "scenarios:\n"
               "  - id: LIM-1\n    title: Beyond the instrument's 20 V range\n    steps:\n"
               "      - call: power.set\n        args: { voltage: 25 }\n"
               "  - id: LIM-2\n    title: Beyond the profile's 30 V safety limit\n    steps:\n"
               "      - call: power.set\n        args: { voltage: 40 }\n"
               "  - id: LIM-3\n    title: Within both\n    steps:\n"
               "      - call: power.set\n        args: { voltage: 19.5, current: 0.5 }\n"
               "        expect: { voltage: 19.5, current: 0.5 }\n");
    auto psu = start_sim("psu", Link::tcp, {"--max-voltage", "20"});
    auto r = run_suite(dir, psu, "psu-limits", suites);
    INFO(r.run.dump(2).substr(0, 3000));
    auto lim1 = scenario_of(r.run, "LIM-1");
    CHECK(lim1["outcome"] == "fail");
    CHECK(text_contains(lim1["reason"], "VOLT 25: instrument reported -222,\"Data out of range\""));
    auto lim2 = scenario_of(r.run, "LIM-2");
    CHECK(lim2["outcome"] == "error");
    CHECK(text_contains(lim2["reason"], "above the profile's max_voltage of 30 V"));
    CHECK(scenario_of(r.run, "LIM-3")["outcome"] == "pass");
    // Nothing of the refused request reached the instrument.
    for (const auto& s : r.run["steps"])
        if (s["args"].contains("voltage") && s["args"]["voltage"]["value"] == 40)
            CHECK(s["transcript"]["entries"].empty());
}

TEST_CASE("scpi: a query the instrument does not know fails with its error, not a bare timeout") {
    TempDir dir;
    auto suites = dir / "suites";
    std::filesystem::create_directories(suites);
    write_file(suites / "status.yaml",
               "suite: psu-status\ntitle: Status\nrequires: [power]\n"
               "scenarios:\n  - id: ST-1\n    title: Status\n    steps:\n      - call: power.status\n");
    auto psu = start_sim("psu", Link::tcp);
    // A profile written for a supply with another protection query than the simulator's.
    auto r = run_suite(dir, psu, "psu-status", suites,
                       device_settings("{ response_timeout: 300ms, trip_query: \"OUTP:OCP:QUES?\" }"));
    INFO(r.run.dump(2).substr(0, 3000));
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(text_contains(r.first_bad_step["reason"], "OUTP:OCP:QUES?: no answer; instrument reported -113,\"Undefined header\""));
}

TEST_CASE("scpi: a supply that disconnects mid-run gives error") {
    TempDir dir;
    auto psu = start_sim("psu", Link::tcp, {"--disconnect-after", "1"});
    auto r = run_suite(dir, psu, "bench-supply");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "error");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "error");
    CHECK(text_contains(r.first_bad_step["reason"], "*IDN?"));
}

TEST_CASE("scpi: a supply that trips on over-current fails the constant-current scenario") {
    TempDir dir;
    auto psu = start_sim("psu", Link::tcp, {"--trip"});
    auto r = run_suite(dir, psu, "bench-supply");
    INFO(r.run.dump(2).substr(0, 3000));
    CHECK(r.run["run"]["outcome"] == "fail");
    auto cc = scenario_of(r.run, "PSU-004");
    CHECK(cc["outcome"] == "fail");
    CHECK(text_contains(cc["reason"], "power.on: output: expected true, got false"));
    for (const char* id : {"PSU-001", "PSU-002", "PSU-003", "PSU-005", "PSU-006"})
        CHECK_MESSAGE(scenario_of(r.run, id)["outcome"] == "pass", id);
}
