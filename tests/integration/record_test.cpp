// certlabd --record: a real session against the printer simulator saved as a capture
// (docs/CAPTURES.md) with its header, the device layer's markers and the bytes; one
// capture per device; a capture that cannot be written never fails a run.
#include <csignal>
#include <regex>

#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;
namespace fs = std::filesystem;

namespace {

/// A one-scenario suite: a status read and a one-line print.
fs::path write_short_suite(const TempDir& dir) {
    auto suites = dir / "suites";
    fs::create_directories(suites);
    write_file(suites / "record-smoke.yaml", R"(suite: record-smoke
title: Status and one line
version: "1.0"
requires: [printer]
permissions: []
scenarios:
  - id: REC-001
    title: Status, then a line
    steps:
      - call: printer.status
        expect: { online: true }
      - call: printer.print
        args: { lines: ["recorded line"] }
        expect: { accepted: true }
)");
    return suites;
}

/// Runs the suite on `device` to the end and stops certlabd (captures are complete then).
void run_and_stop(Daemon& d, const std::string& device) {
    auto id = d.start_run(device, "record-smoke");
    REQUIRE_MESSAGE(id > 0, d.log());
    auto run = d.wait_for_run(id);
    CHECK_MESSAGE(run["run"]["status"] == "completed", run.dump() << "\n" << d.log());
    CHECK_MESSAGE(run["run"]["outcome"] == "pass", run.dump());
    d.process().signal(SIGTERM);
    REQUIRE_MESSAGE(d.process().wait(15s) == 0, d.log());
}

std::size_t find_line(const std::string& text, const std::string& fragment) {
    const auto at = text.find(fragment);
    CHECK_MESSAGE(at != std::string::npos, "no '" << fragment << "' in the capture:\n" << text);
    return at;
}

}  // namespace

TEST_CASE("certlabd --record saves a session with its header, markers and bytes") {
    TempDir dir;
    auto sim = start_printer(Link::pty, {"--model", "TM-RECORD", "--firmware", "3.14", "--serial", "REC-42"});
    const auto capture = dir / "session.capture";
    Daemon d(dir, station_yaml({{"printer-1", sim.address, ""}}, dir / "store.db", write_short_suite(dir)),
             {"--record", capture.string(), "--record-notes", "integration test, healthy printer"});
    REQUIRE(d.wait_for_state({"printer-1"}, "ready"));
    run_and_stop(d, "printer-1");

    REQUIRE_MESSAGE(fs::exists(capture), d.log());
    const auto text = read_file(capture);
    CHECK(text.rfind("# certlab capture v1\n", 0) == 0);
    for (const std::string h : {"# device: printer-1\n", "# profile: escpos-generic\n", "# driver: escpos 1.0\n",
                                "# model: TM-RECORD\n", "# firmware: 3.14\n", "# serial_number: REC-42\n",
                                "# notes: integration test, healthy printer\n", "# certlab: "})
        find_line(text, h);
    find_line(text, "# address: " + sim.address + "\n");
    CHECK(std::regex_search(text, std::regex("\n# date: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\n")));

    // The session in order: open, ESC @, identify, the status request and its answer
    // (DLE EOT 1 answered 0x12: fixed bits only, so online, drawer pin low), the print,
    // close at shutdown.
    const auto open = find_line(text, " @ open " + sim.address + "\n");
    const auto init = find_line(text, " > 1b 40 ");
    const auto identify = find_line(text, " @ identify\n");
    const auto identified = find_line(text, " @ identified {\"extra\":");
    const auto invoke = find_line(text, " @ invoke printer.status {}\n");
    const auto request = text.find(" > 10 04 01 ", invoke);
    const auto answer = text.find(" < 12 ", invoke);
    const auto result = find_line(text, " @ result printer.status {");
    const auto print = find_line(text, " @ invoke printer.print {\"lines\":[\"recorded line\"]}\n");
    const auto printed = text.find("|recorded line", print);
    const auto close = text.rfind(" @ close\n");
    CHECK(open < init);
    CHECK(init < identify);
    CHECK(identify < identified);
    CHECK(identified < invoke);
    CHECK(invoke < request);
    CHECK(request < answer);
    CHECK(answer < result);
    CHECK(result < print);
    CHECK(print < printed);
    CHECK(printed != std::string::npos);
    CHECK(printed < close);
    CHECK(close != std::string::npos);
    CHECK(text.find("\"online\":true") != std::string::npos);
    CHECK(text.find("\"latency\":{\"unit\":\"ms\",\"value\":") != std::string::npos);
}

TEST_CASE("certlabd --record with several devices writes one capture each, the id before the extension") {
    TempDir dir;
    auto a = start_printer(Link::pty);
    auto b = start_printer(Link::tcp, {"--serial", "B-2"});
    Daemon d(dir,
             station_yaml({{"printer-a", a.address, ""}, {"printer-b", b.address, ""}}, dir / "store.db",
                          write_short_suite(dir)),
             {"--record", (dir / "bench.capture").string()});
    REQUIRE(d.wait_for_state({"printer-a", "printer-b"}, "ready"));
    run_and_stop(d, "printer-b");

    CHECK_FALSE(fs::exists(dir / "bench.capture"));
    const auto ta = read_file(dir / "bench.printer-a.capture");
    const auto tb = read_file(dir / "bench.printer-b.capture");
    CHECK(ta.find("# device: printer-a\n") != std::string::npos);
    CHECK(tb.find("# device: printer-b\n") != std::string::npos);
    CHECK(tb.find("# serial_number: B-2\n") != std::string::npos);
    // Only printer-b ran the suite; both were opened and identified.
    CHECK(ta.find(" @ identified ") != std::string::npos);
    CHECK(ta.find(" @ invoke ") == std::string::npos);
    CHECK(tb.find(" @ invoke printer.print ") != std::string::npos);
}

TEST_CASE("a capture that cannot be written is reported once and never fails a run") {
    TempDir dir;
    auto sim = start_printer(Link::pty);
    // Every write to /dev/full fails with ENOSPC.
    Daemon d(dir, station_yaml({{"printer-1", sim.address, ""}}, dir / "store.db", write_short_suite(dir)),
             {"--record", "/dev/full"});
    REQUIRE(d.wait_for_state({"printer-1"}, "ready"));
    run_and_stop(d, "printer-1");
    const auto log = d.log();
    const std::string stopped = "capture /dev/full: ";
    const auto first = log.find(stopped);
    CHECK_MESSAGE(first != std::string::npos, log);
    CHECK(log.find("recording of this device stopped", first) != std::string::npos);
    CHECK_MESSAGE(log.find(stopped, first + 1) == std::string::npos, "reported more than once:\n" << log);
}
