// The walking skeleton end to end: simulators on a pty and on TCP, certlabd,
// the API, the CLI and the store, all real processes.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

std::string outcome_of(const json& run, const std::string& scenario) {
    for (const auto& s : run["scenarios"])
        if (s["id"] == scenario) return s["outcome"].is_null() ? "" : s["outcome"].get<std::string>();
    return "missing";
}

}  // namespace

TEST_CASE("e2e: receipt-printer suite passes on healthy printers over pty and TCP") {
    TempDir dir;
    auto paper_log = dir / "paper.log";
    auto pty = start_printer(Link::pty, {"--paper-log", paper_log.string()});
    auto tcp = start_printer(Link::tcp);
    auto db = dir / "store.db";
    Daemon d(dir, station_yaml({{"p1", pty.address, ""}, {"p2", tcp.address, ""}}, db));
    REQUIRE_MESSAGE(d.wait_for_state({"p1", "p2"}, "ready"), d.log());

    auto devices = d.get("/v1/devices")["devices"];
    REQUIRE(devices.size() == 2);
    CHECK(devices[0]["identity"]["model"] == "CERTLAB-SIM-80");

    auto id1 = d.start_run("p1", "receipt-printer");
    auto id2 = d.start_run("p2", "receipt-printer");
    REQUIRE(id1 > 0);
    REQUIRE(id2 > 0);
    // A second run on a busy device waits in its queue and runs after the first.
    auto id3 = d.start_run("p1", "receipt-printer");
    REQUIRE(id3 > 0);
    CHECK(d.get("/v1/runs/" + std::to_string(id3) + "?steps=0")["run"]["status"] == "queued");

    for (auto id : {id1, id2, id3}) {
        // wait_for_run's bound is per run; the queued one starts after the first.
        auto run = d.wait_for_run(id);
        INFO(run.dump(2).substr(0, 4000));
        CHECK(run["run"]["status"] == "completed");
        CHECK(run["run"]["outcome"] == "pass");
        CHECK(run["scenarios"].size() == 7);
        for (const auto& s : run["scenarios"]) CHECK(s["outcome"] == "pass");
    }

    // Every step is in the store, in order, with transcripts.
    auto steps = std::stoi(sql_value(db, "SELECT count(*) FROM step_results WHERE run_id = " + std::to_string(id1)));
    CHECK(steps >= 400);  // the 200-iteration soak alone has two steps per iteration
    CHECK(sql_value(db, "SELECT max(seq) FROM step_results WHERE run_id = " + std::to_string(id1)) ==
          std::to_string(steps));
    CHECK(sql_value(db, "SELECT count(*) FROM measurements m JOIN step_results s ON s.id = m.step_result_id "
                        "WHERE s.run_id = " + std::to_string(id1)) != "0");
    CHECK(sql_value(db, "PRAGMA journal_mode") == "wal");

    // The simulator really printed the receipt and cut it.
    auto printed = read_file(paper_log);
    CHECK(printed.find("CERTLAB PRN-003 TEST RECEIPT") != std::string::npos);
    CHECK(printed.find("--- cut ---") != std::string::npos);

    // The CLI reads the same record.
    auto show = cli(d, {"run", "show", std::to_string(id1)});
    CHECK(show.status == 0);
    CHECK(show.out.find("PRN-007") != std::string::npos);
    auto runs_json = cli(d, {"runs", "--json"});
    CHECK(runs_json.status == 0);
    CHECK(json::parse(runs_json.out)["runs"].size() == 3);
    auto status = cli(d, {"status"});
    CHECK(status.status == 0);
    CHECK(status.out.find("p1") != std::string::npos);
}

TEST_CASE("e2e: paper-out printer detects the fault and refuses printing with a reason") {
    TempDir dir;
    auto sim = start_printer(Link::tcp, {"--paper-out"});
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());

    auto r = cli(d, {"run", "start", "--device", "p", "--suite", "receipt-printer", "--wait"});
    CHECK(r.status == 1);  // the run's outcome is fail
    auto runs = d.get("/v1/runs")["runs"];
    REQUIRE(runs.size() == 1);
    auto run = d.get("/v1/runs/" + std::to_string(runs[0]["id"].get<int>()));
    CHECK(run["run"]["outcome"] == "fail");
    CHECK(outcome_of(run, "PRN-004") == "pass");
    CHECK(outcome_of(run, "PRN-003") == "fail");
    std::string reason;
    for (const auto& s : run["scenarios"])
        if (s["id"] == "PRN-003") reason = s["reason"];
    CHECK(reason.find("paper out") != std::string::npos);
}

TEST_CASE("e2e: CLI run start --wait prints each scenario and exits 0 on pass") {
    TempDir dir;
    auto sim = start_printer(Link::pty);
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto r = cli(d, {"run", "start", "--device", "p", "--suite", "receipt-printer", "--wait"});
    INFO(r.out);
    CHECK(r.status == 0);
    for (const char* id : {"PRN-001", "PRN-002", "PRN-003", "PRN-004", "PRN-005", "PRN-006", "PRN-007"})
        CHECK(r.out.find(id) != std::string::npos);
    // Unknown device and suite are refused with a message, exit code 3.
    auto bad = cli(d, {"run", "start", "--device", "nope", "--suite", "receipt-printer"});
    CHECK(bad.status != 0);
}
