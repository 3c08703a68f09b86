// Record, then replay: a session recorded through the device layer (station::Device
// with a capture, as `certlabd --record` builds it) against a simulator replays through
// the same driver to exactly what the session produced, timing values aside.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "config/station_config.hpp"
#include "replay_harness.hpp"
#include "sdk/error.hpp"
#include "station/device.hpp"
#include "station/recording.hpp"
#include "support/process.hpp"

using namespace certlab;
using namespace certlab::test;
namespace fs = std::filesystem;

namespace {

struct Call {
    std::string action;
    sdk::Args args;
};

/// Starts `certlab-sim FAMILY --tcp 0 OPTIONS...`; returns it and its address.
std::pair<Process, std::string> start_sim(const std::string& family, std::vector<std::string> options) {
    std::vector<std::string> argv{bin("certlab-sim").string(), family, "--tcp", "0"};
    argv.insert(argv.end(), options.begin(), options.end());
    auto p = Process::start(argv);
    auto line = p.read_line(5s);
    REQUIRE_MESSAGE(line, "certlab-sim " << family << " did not start");
    REQUIRE(line->rfind("tcp ", 0) == 0);
    return {std::move(p), "tcp:" + line->substr(4)};
}

/// Brings a recorded device up, runs `calls` as the runner would (a link fault closes
/// the device, the next call reopens it), closes it; returns the capture's path.
fs::path record_session(const TempDir& dir, const std::string& profile_id, const std::string& address,
                        const std::vector<Call>& calls) {
    auto profile = config::load_profile(source("lab-config/devices/" + profile_id + ".yaml"));
    config::DeviceConfig dc;
    dc.id = "dut";
    dc.profile = profile_id;
    dc.address = address;
    const auto* info = sdk::Registry::instance().find(profile.driver);
    REQUIRE(info);
    const auto path = dir / "dut.capture";
    {
        station::RecordOptions options{path.string(), "fidelity test"};
        boost::asio::io_context io(1);
        station::Device dev(io.get_executor(), dc, profile, *info,
                            station::make_capture(options, path, dc, profile, *info));
        for (const auto& c : calls) REQUIRE_MESSAGE(sdk::find_action(c.action), c.action);
        // (no doctest macros inside the coroutine: g++ 12 cannot copy __func__ into a frame)
        auto session = [&]() -> sdk::Task<void> {
            co_await dev.bring_up();
            for (const auto& c : calls) {
                const auto* spec = sdk::find_action(c.action);
                std::string fault;
                try {
                    co_await dev.ensure_open();
                    sdk::Values v = co_await dev.driver().invoke(*spec, c.args);
                    (void)v;
                } catch (const sdk::TransportError& e) {
                    fault = e.what();
                } catch (const std::exception&) {
                    // a device failure: recorded, and the session goes on
                }
                if (!fault.empty()) dev.fault(fault);
            }
            dev.close();
        };
        auto done = boost::asio::co_spawn(io, session(), boost::asio::use_future);
        io.run();
        done.get();
    }  // the device and its capture are gone: everything is on disk
    return path;
}

void check_fidelity(const fs::path& file) {
    const auto capture = transport::load_capture(file);
    const auto recorded = recorded_outcomes(capture, "session");
    const auto replayed = replay_capture(capture, "session", {source("lab-config/devices")});
    const auto d = golden_diff(recorded, replayed);
    std::string text;
    for (const auto& l : d) text += "  " + l + "\n";
    CHECK_MESSAGE(d.empty(), "replay differs from the recorded session:\n" << text << "capture:\n" << read_file(file));
}

}  // namespace

TEST_CASE("an escpos session recorded through the device layer replays to what it produced") {
    TempDir dir;
    auto [sim, address] = start_sim("printer", {"--model", "TM-FIDELITY", "--serial", "F-0001"});
    const std::vector<Call> calls{
        {"printer.status", {}},
        {"printer.print", {{"lines", std::vector<std::string>{"fidelity line 1", "fidelity line 2"}}}},
        {"printer.cut", {{"feed", std::int64_t{3}}, {"partial", false}}},
        {"cash_drawer.open", {{"pin", std::int64_t{2}}, {"on_ms", std::int64_t{100}}, {"off_ms", std::int64_t{100}}}},
        {"cash_drawer.status", {}},
        {"printer.identify", {}},
        {"printer.print", {}},  // no lines and no count: a configuration error, recorded as such
    };
    const auto file = record_session(dir, "escpos-generic", address, calls);
    const auto text = read_file(file);
    CHECK(text.rfind("# certlab capture v1\n", 0) == 0);
    CHECK(text.find("# model: TM-FIDELITY\n") != std::string::npos);
    CHECK(text.find("# serial_number: F-0001\n") != std::string::npos);
    CHECK(text.find("# notes: fidelity test\n") != std::string::npos);
    CHECK(text.find(" @ invoke printer.print {\"lines\":[\"fidelity line 1\",\"fidelity line 2\"]}\n") != std::string::npos);
    CHECK(text.find(" @ error printer.print {\"kind\":\"config\"") != std::string::npos);
    check_fidelity(file);
}

TEST_CASE("a refused print and a link lost mid-session replay to what they produced") {
    TempDir dir;
    // Paper out: the job is refused with the printer's reason. The simulator drops the
    // link after a few answers: the device is lost, reopened, and goes on.
    auto [sim, address] = start_sim("printer", {"--paper-out", "--disconnect-after", "12"});
    std::vector<Call> calls;
    for (int i = 0; i < 4; ++i) {
        calls.push_back({"printer.status", {}});
        calls.push_back({"printer.print", {{"lines", std::vector<std::string>{"must not print"}}}});
    }
    const auto file = record_session(dir, "escpos-generic", address, calls);
    const auto text = read_file(file);
    CHECK(text.find("\"reason\":\"paper out") != std::string::npos);
    CHECK(text.find(" ! read closed ") != std::string::npos);
    CHECK(text.find(" @ lost ") != std::string::npos);
    check_fidelity(file);
}

TEST_CASE("an scpi session recorded through the device layer replays to what it produced") {
    TempDir dir;
    auto [sim, address] = start_sim("psu", {"--serial", "PSU-FIDELITY"});
    const std::vector<Call> calls{
        {"power.identify", {}},
        {"power.set", {{"voltage", 5.0}, {"current", 1.0}}},
        {"power.on", {}},
        {"power.measure", {}},
        {"power.cycle", {{"off_time", "50ms"}}},
        {"power.status", {}},
        {"power.set", {{"voltage", 99.0}}},  // above the profile's max_voltage: refused, nothing sent
        {"power.off", {}},
    };
    const auto file = record_session(dir, "scpi-psu", address, calls);
    const auto text = read_file(file);
    CHECK(text.find("# serial_number: PSU-FIDELITY\n") != std::string::npos);
    CHECK(text.find(" @ result power.cycle {\"off_time\":{\"unit\":\"ms\",\"value\":") != std::string::npos);
    check_fidelity(file);
}
