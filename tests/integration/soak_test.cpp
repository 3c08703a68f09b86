// Issue 5, acceptance 2: a 2,000-iteration soak with a power cycle every 100
// iterations, beside another device running its suite, survives two SIGKILLs of the
// daemon: it resumes each time at the next iteration, ends with exactly 2,000
// iterations recorded, and its statistics are those of a recount from the steps.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

const char* soak_suite = R"(suite: printer-soak
title: Overnight soak of a receipt printer with power cuts
requires: [printer]
roles:
  psu: [power]
defaults:
  step_timeout: 2s
scenarios:
  - id: SOAK-1
    title: Status and a short print, 2000 times, the mains cut every 100
    iterations: 2000
    interval: 2ms
    max_failures: 50
    power_cycle: { every: 100, off_time: 150ms, settle: 300ms }
    setup:
      - call: power.on
        role: psu
        expect: { output: true }
      - wait: 300ms
    steps:
      - call: printer.status
        retry: 3
        expect: { online: true }
        measure: { latency: { max: 1 s } }
      - call: printer.print
        args: { count: 2, title: soak }
        expect: { accepted: true }
    teardown:
      - call: printer.status
)";

/// The soak's statistics recounted from its committed steps, independently of the engine.
struct Recount {
    std::int64_t iterations = 0, passed = 0, failed = 0, errors = 0, timeouts = 0, power_cycles = 0;
    std::map<std::string, std::vector<std::int64_t>> latency_us;
    std::vector<double> latency_ms_values;  ///< the `latency` measurement, in order
    std::set<int> iteration_numbers;
};

Recount recount(const std::filesystem::path& db, const std::string& scenario_result_id) {
    Recount r;
    std::map<int, std::string> outcome_of;  // iteration -> outcome
    for (const auto& row : sql_rows(db, "SELECT iteration, phase, outcome, retried, action, duration_us "
                                        "FROM step_results WHERE scenario_result_id = " +
                                            scenario_result_id + " AND phase IN ('main', 'power') ORDER BY seq")) {
        const int it = std::stoi(row[0]);
        const auto& phase = row[1];
        const auto& outcome = row[2];
        r.iteration_numbers.insert(it);
        outcome_of.try_emplace(it, "pass");
        if (phase == "power") ++r.power_cycles;
        if (row[3] == "0" && outcome != "pass" && outcome != "skipped" && outcome_of[it] == "pass")
            outcome_of[it] = outcome;
        if (phase == "main" && !row[4].empty() && (outcome == "pass" || outcome == "fail"))
            r.latency_us[row[4]].push_back(std::stoll(row[5]));
    }
    for (const auto& [it, o] : outcome_of) {
        ++r.iterations;
        if (o == "pass") ++r.passed;
        else if (o == "fail") ++r.failed;
        else if (o == "error") ++r.errors;
        else if (o == "timeout") ++r.timeouts;
    }
    for (const auto& row : sql_rows(db, "SELECT m.value FROM measurements m JOIN step_results s ON s.id = m.step_result_id "
                                        "WHERE s.scenario_result_id = " +
                                            scenario_result_id + " AND m.name = 'latency' ORDER BY s.seq"))
        r.latency_ms_values.push_back(std::stod(row[0]));
    return r;
}

double nearest_rank_ms(std::vector<std::int64_t> v, double q) {
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return static_cast<double>(v.at(std::max<std::size_t>(rank, 1) - 1)) / 1000.0;
}

int soak_iterations(const std::filesystem::path& db) {
    return std::stoi(sql_value(db, "SELECT count(DISTINCT s.iteration) FROM step_results s JOIN scenario_results c "
                                   "ON c.id = s.scenario_result_id WHERE c.scenario_id = 'SOAK-1' AND s.phase = 'main'"));
}

}  // namespace

TEST_CASE("soak: 2000 iterations with power cycles survive two SIGKILLs, exactly counted, statistics as recounted") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "printer-soak.yaml", soak_suite);
    std::filesystem::copy_file(source("lab-config/suites/receipt-printer.yaml"), dir / "suites" / "receipt-printer.yaml");
    const auto outlet = dir / "outlet";
    auto psu = start_sim("psu", Link::pty, {"--outlet", outlet.string(), "--output-on"});
    REQUIRE(wait_until([&] { return std::filesystem::exists(outlet); }, 5s));
    auto printer = start_printer(Link::pty, {"--power-file", outlet.string()});
    auto neighbour = start_printer(Link::tcp);
    const auto db = dir / "s.db";
    auto yaml = station_yaml_profiled({{"escpos-generic", {"printer-1", printer.address, ""}},
                                       {"scpi-psu", {"psu-1", psu.address, ""}},
                                       {"escpos-generic", {"p2", neighbour.address, ""}}},
                                      db, dir / "suites");
    yaml += "wiring:\n  printer-1:\n    psu: psu-1\n";
    const std::vector<std::string> all{"printer-1", "psu-1", "p2"};

    std::int64_t soak = 0;
    std::vector<std::int64_t> neighbour_runs;
    // The neighbour's suite runs to its end beside the soak, then the daemon is
    // killed once the soak is at least `kill_at` iterations in.
    auto neighbour_then_kill = [&](Daemon& d, int kill_at) {
        auto id = d.start_run("p2", "receipt-printer");
        REQUIRE(id > 0);
        neighbour_runs.push_back(id);
        auto run = d.wait_for_run(id, 120s);
        INFO(run["run"].dump());
        CHECK(run["run"]["outcome"] == "pass");
        // It really ran beside the soak: the soak was still going when it ended.
        CHECK(d.get("/v1/runs/" + std::to_string(soak) + "?steps=0")["run"]["status"] == "running");
        REQUIRE_MESSAGE(wait_until([&] { return soak_iterations(db) >= kill_at; }, 120s), d.log());
        d.process().signal(SIGKILL);
        REQUIRE(d.process().wait(5s).has_value());
    };
    {
        Daemon d(dir, yaml);
        REQUIRE_MESSAGE(d.wait_for_state(all, "ready"), d.log());
        soak = d.start_run("printer-1", "printer-soak");
        REQUIRE(soak > 0);
        neighbour_then_kill(d, 500);
    }
    const auto first_cut = soak_iterations(db);
    CHECK(first_cut < 2000);
    {
        Daemon d(dir, yaml);
        REQUIRE_MESSAGE(d.wait_for_state({"p2", "psu-1"}, "ready"), d.log());
        neighbour_then_kill(d, first_cut + 400);
        CHECK(d.log().find("resuming") != std::string::npos);
    }
    CHECK(soak_iterations(db) < 2000);
    Daemon d(dir, yaml);
    auto run = d.wait_for_run(soak, 180s);
    INFO(run["run"].dump());
    INFO(d.log().substr(0, 4000));
    CHECK(run["run"]["status"] == "completed");
    CHECK(run["run"]["resumed"] == 2);
    auto sc = scenario_of(run, "SOAK-1");
    INFO(sc.dump());
    CHECK(sc["iterations"] == 2000);
    const auto& stats = sc["stats"];
    REQUIRE(stats.is_object());

    // Exactly 2000 iterations in the record, each once, numbered 0..1999.
    const auto id = std::to_string(sc["result_id"].get<std::int64_t>());
    auto r = recount(db, id);
    CHECK(r.iterations == 2000);
    CHECK(r.iteration_numbers.size() == 2000);
    CHECK(*r.iteration_numbers.begin() == 0);
    CHECK(*r.iteration_numbers.rbegin() == 1999);
    // No step twice, none missing: the run's seq numbers are 1..n.
    const auto run_id = std::to_string(soak);
    CHECK(sql_value(db, "SELECT count(*) = max(seq) FROM step_results WHERE run_id = " + run_id) == "1");
    // An iteration a kill cut (one may also fall between iterations) is marked as
    // the station's error, not the device's.
    const auto cuts = std::stoi(
        sql_value(db, "SELECT count(*) FROM step_results WHERE kind = 'interrupted' AND run_id = " + run_id));
    CHECK(cuts <= 2);
    // Power cycles every 100 iterations (19), and once more after each restart.
    CHECK(r.power_cycles >= 19);
    CHECK(r.power_cycles <= 21);
    CHECK(sql_value(db, "SELECT count(*) FROM step_results WHERE phase = 'power' AND outcome <> 'pass' AND run_id = " +
                            run_id) == "0");

    // The statistics are the recount's.
    CHECK(stats["iterations"] == r.iterations);
    CHECK(stats["passed"] == r.passed);
    CHECK(stats["failed"] == r.failed);
    CHECK(stats["errors"] == r.errors);
    CHECK(stats["timeouts"] == r.timeouts);
    CHECK(stats["power_cycles"] == r.power_cycles);
    CHECK(r.errors >= cuts);
    CHECK(stats["pass_rate"].get<double>() == doctest::Approx(double(r.passed) / double(r.iterations)));
    REQUIRE(stats["latency"].size() == r.latency_us.size());
    for (const auto& l : stats["latency"]) {
        const auto& us = r.latency_us.at(l["action"].get<std::string>());
        CAPTURE(l.dump());
        CHECK(l["count"] == us.size());
        // Quantiles are kept to within 0.1 % (exact below 2.048 ms); the maximum exactly.
        CHECK(l["p50_ms"].get<double>() == doctest::Approx(nearest_rank_ms(us, 0.50)).epsilon(0.0011));
        CHECK(l["p95_ms"].get<double>() == doctest::Approx(nearest_rank_ms(us, 0.95)).epsilon(0.0011));
        CHECK(l["p99_ms"].get<double>() == doctest::Approx(nearest_rank_ms(us, 0.99)).epsilon(0.0011));
        CHECK(l["max_ms"].get<double>() == doctest::Approx(nearest_rank_ms(us, 1.0)));
    }
    REQUIRE(stats["drift"].size() == 1);
    const auto& drift = stats["drift"][0];
    const auto& v = r.latency_ms_values;
    REQUIRE(!v.empty());
    CHECK(drift["name"] == "latency");
    CHECK(drift["count"] == v.size());
    CHECK(drift["first"].get<double>() == doctest::Approx(v.front()));
    CHECK(drift["last"].get<double>() == doctest::Approx(v.back()));
    CHECK(drift["min"].get<double>() == doctest::Approx(*std::min_element(v.begin(), v.end())));
    CHECK(drift["max"].get<double>() == doctest::Approx(*std::max_element(v.begin(), v.end())));
    double sum = 0;
    for (double x : v) sum += x;
    CHECK(drift["mean"].get<double>() == doctest::Approx(sum / double(v.size())));

    // The CLI shows the same statistics under the scenario table.
    auto show = cli(d, {"run", "show", run_id});
    CHECK(show.status == 0);
    CHECK(show.out.find("SOAK-1 soak: " + std::to_string(r.passed) + " of 2000 iterations passed") != std::string::npos);
    CHECK(show.out.find(std::to_string(r.power_cycles) + " power cycles") != std::string::npos);
    CHECK(show.out.find("latency printer.status: p50 ") != std::string::npos);

    // The neighbour's runs were not disturbed by the soak.
    CHECK(neighbour_runs.size() == 2);
    CHECK(sql_value(db, "PRAGMA integrity_check") == "ok");
}
