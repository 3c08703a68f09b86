// kill -9 in the middle of the endurance scenario loses no committed step.
#include <doctest/doctest.h>

#include <signal.h>

#include "harness.hpp"

using namespace certlab::test;

TEST_CASE("crash: SIGKILL mid-soak keeps every committed step and marks the run interrupted") {
    TempDir dir;
    auto sim = start_printer(Link::pty);
    auto db = dir / "store.db";
    auto yaml = station_yaml({{"p", sim.address, ""}}, db);
    // Power-loss durability is what the station ships with; test that mode here.
    yaml.replace(yaml.find("sync: normal"), 12, "sync: full  ");
    // Resuming is tested in soak_test.cpp; here the run is left as the crash left it.
    yaml.replace(yaml.find("station:\n"), 9, "station:\n  resume_interrupted: false\n");
    std::int64_t id = 0;
    std::int64_t before = 0;
    {
        Daemon d(dir, yaml);
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
        id = d.start_run("p", "receipt-printer");
        REQUIRE(id > 0);
        // Wait until the soak (PRN-007) is under way.
        const std::string soak_steps =
            "SELECT count(*) FROM step_results s JOIN scenario_results c ON c.id = s.scenario_result_id "
            "WHERE c.scenario_id = 'PRN-007'";
        REQUIRE(wait_until([&] { return std::stoi(sql_value(db, soak_steps)) >= 20; }, 30s));
        d.process().signal(SIGKILL);
        REQUIRE(d.process().wait(5s).has_value());
        before = std::stoll(sql_value(db, "SELECT count(*) FROM step_results"));
        CHECK(sql_value(db, "SELECT status FROM runs WHERE id = " + std::to_string(id)) == "running");
    }
    CHECK(before > 20);
    Daemon again(dir, yaml);
    auto run = again.get("/v1/runs/" + std::to_string(id) + "?steps=0");
    CHECK(run["run"]["status"] == "interrupted");
    auto after = std::stoll(sql_value(db, "SELECT count(*) FROM step_results"));
    CHECK(after == before);
    CHECK(sql_value(db, "SELECT max(seq) FROM step_results WHERE run_id = " + std::to_string(id)) ==
          std::to_string(after));
    CHECK(sql_value(db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("shutdown: SIGTERM stops the run at a step boundary and marks it aborted") {
    TempDir dir;
    auto sim = start_printer(Link::pty);
    auto db = dir / "store.db";
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, db));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto id = d.start_run("p", "receipt-printer");
    REQUIRE(id > 0);
    REQUIRE(wait_until([&] { return std::stoi(sql_value(db, "SELECT count(*) FROM step_results")) >= 30; }, 30s));
    d.process().signal(SIGTERM);
    auto status = d.process().wait(15s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    CHECK(sql_value(db, "SELECT status FROM runs WHERE id = " + std::to_string(id)) == "aborted");
    CHECK(sql_value(db, "SELECT reason FROM runs WHERE id = " + std::to_string(id)).find("shutting down") !=
          std::string::npos);
    // No step was cut in half: every recorded step has an outcome.
    CHECK(sql_value(db, "SELECT count(*) FROM step_results WHERE outcome IS NULL") == "0");
    CHECK(d.log().find("stopped") != std::string::npos);
}
