// A certification's API documents as certlabd answers them (docs/API.md), for the
// export tests: run 7 has a scenario of every kind of outcome and was interrupted;
// run 8 is a 20-iteration soak that fails iterations 12 and 13.
#pragma once

#include <string>

#include "cli/export.hpp"

namespace certlab::test::export_fixture {

using cli::Json;

inline std::string time_at(int ms) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "2026-11-29T03:%02d:%02d.%03dZ", ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
    return buf;
}

/// A call step as GET /v1/runs/{id}/steps answers it.
inline Json step(int seq, int result_id, int iteration, const std::string& outcome, int start_ms, int duration_us,
                 const std::string& phase = "main") {
    return {{"seq", seq},
            {"id", 1000 + seq},
            {"scenario_result_id", result_id},
            {"iteration", iteration},
            {"index", 0},
            {"phase", phase},
            {"attempt", 1},
            {"retried", false},
            {"kind", "call"},
            {"action", "printer.status"},
            {"role", "dut"},
            {"args", Json::object()},
            {"values", {{"online", {{"value", true}}}, {"voltage", {{"value", 3.3}, {"unit", "V"}}}}},
            {"outcome", outcome},
            {"reason", outcome == "pass" ? "" : "online: expected true, got false"},
            {"warning", ""},
            {"started_at", time_at(start_ms)},
            {"duration_us", duration_us},
            {"measurements",
             Json::array({{{"name", "latency"}, {"value", duration_us / 1000.0}, {"unit", "ms"}, {"low", nullptr},
                           {"high", 250.0}, {"within", true}, {"marginal", false}}})},
            {"transcript",
             {{"text", "> <10><04><01>\n< <16>\n"},
              {"entries", Json::array({{{"offset_us", 0}, {"dir", "tx"}, {"hex", "100401"}, {"text", "<10><04><01>"}},
                                       {{"offset_us", 800}, {"dir", "rx"}, {"hex", "00ff1b3c26"}, {"text", "x"}},
                                       {{"offset_us", 900}, {"dir", "note"}, {"text", "retry <after> & timeout"}}})}}}};
}

inline Json scenario(const std::string& id, int result_id, const Json& outcome, const std::string& reason,
                     int iterations = 1) {
    return {{"id", id},
            {"result_id", result_id},
            {"title", "Scenario " + id},
            {"outcome", outcome},
            {"reason", reason},
            {"iterations", iterations},
            {"iterations_planned", iterations},
            {"passed_iterations", outcome == "pass" ? iterations : 0},
            {"started_at", time_at(result_id * 1000)},
            {"ended_at", outcome.is_null() ? Json() : Json(time_at(result_id * 1000 + 500))},
            {"stats", nullptr}};
}

inline Json run(int id, const std::string& suite, const std::string& status, const Json& outcome) {
    return {{"id", id},
            {"device", "printer-1"},
            {"suite", suite},
            {"suite_title", "Suite " + suite},
            {"suite_hash", std::string(64, 'a')},
            {"driver", "escpos 1.0"},
            {"station_id", "bench-3"},
            {"certlab_version", "0.1.0"},
            {"status", status},
            {"outcome", outcome},
            {"reason", ""},
            {"started_at", time_at(id * 1000)},
            {"ended_at", time_at(id * 1000 + 30000)},
            {"duration_s", 30.0},
            {"scenarios_total", 6},
            {"roles", {{"psu", {{"device", "psu-1"}, {"driver", "scpi 1.0"}, {"firmware", "1.00"}}}}},
            {"firmware", "30.01"},
            {"certification", 3},
            {"resumed", 0},
            {"href", "/v1/runs/" + std::to_string(id)}};
}

inline Json evidence(int run, int result_id, const std::string& outcome) {
    return {{"run", run},           {"result_id", result_id}, {"outcome", outcome},   {"reason", ""},
            {"ended_at", time_at(run * 1000)}, {"device", "printer-1"}, {"firmware", "30.01"}};
}

inline Json plan_entry(const std::string& scenario, const std::string& status, const Json& ev) {
    return {{"scenario", scenario},
            {"suite", "receipt-printer"},
            {"title", "Scenario " + scenario},
            {"permissions", Json::array({"orders.print"})},
            {"roles", Json::array()},
            {"status", status},
            {"status_text", scenario + " is " + status},
            {"attempts", ev.is_null() ? 0 : 1},
            {"evidence", ev},
            {"latest", ev},
            {"signoff", nullptr}};
}

/// The whole source: certification 3 with runs 7 and 8.
inline cli::ExportSource source() {
    cli::ExportSource src;
    src.exported_at = "2026-11-29T04:00:00.000Z";
    src.health = {{"status", "ok"}, {"station_id", "bench-3"}, {"version", "0.1.0"}, {"api_version", 1}};
    src.suites = Json::array({{{"id", "receipt-printer"}, {"file", "suites/receipt-printer.yaml"}},
                              {{"id", "printer-soak"}, {"file", "suites/printer-soak.yaml"}}});
    Json cert = {{"id", 3},
                 {"partner", "Acme & Sons"},
                 {"integration", "Acme <POS>"},
                 {"device_model", "TM-T88VI"},
                 {"serial_number", "X5E1234"},
                 {"firmware", "30.01"},
                 {"device", "printer-1"},
                 {"permissions", Json::array({"orders.print"})},
                 {"capabilities", Json::array({"printer", "cash_drawer"})},
                 {"phase", "lab"},
                 {"phase_since", time_at(100)},
                 {"created_at", time_at(50)},
                 {"taken_in_by", "tom"},
                 {"scenarios_total", 4},
                 {"scenarios_certified", 1},
                 {"open_issues", 1},
                 {"merchants", 0},
                 {"href", "/v1/certifications/3"}};
    auto certified = plan_entry("PRN-001", "certified", evidence(7, 31, "pass"));
    certified["signoff"] = {{"id", 4},       {"scenario", "PRN-001"}, {"verdict", "certified"}, {"by", "eve"},
                            {"feedback", ""}, {"at", time_at(40000)},  {"result_id", 31}};
    Json plan = Json::array({certified, plan_entry("PRN-002", "failed", evidence(7, 32, "fail")),
                             plan_entry("SOAK-1", "failed", evidence(8, 40, "fail")),
                             plan_entry("PRN-009", "not_run", Json())});
    Json issue = {{"id", 5},           {"title", "PRN-002 failed in run 7"}, {"next_steps", "1. Check the sensor.\n2. Run again."},
                  {"severity", "major"}, {"source", "failure"},              {"scenario", "PRN-002"},
                  {"run", 7},          {"result_id", 32},                    {"status", "open"},
                  {"phase", "lab"},    {"raised_by", "certlab"},             {"created_at", time_at(35000)},
                  {"closed_at", nullptr}, {"closed_by", ""},                 {"resolution", ""}};
    src.detail = {{"certification", cert},
                  {"plan", plan},
                  {"issues", Json::array({issue})},
                  {"merchants", Json::array()},
                  {"phases", Json::array({{{"from", nullptr}, {"to", "intake"}, {"by", "tom"}, {"note", "intake"}, {"at", time_at(50)}},
                                          {{"from", "intake"}, {"to", "lab"}, {"by", "certlab"}, {"note", "run 7 started"}, {"at", time_at(100)}}})},
                  {"next_phase", {{"phase", "certified"}, {"allowed", false}, {"blocked_by", "cannot enter certified: PRN-002 is failed"}}}};

    cli::ExportSource::RunDocs r7;
    r7.run = run(7, "receipt-printer", "interrupted", Json("error"));
    r7.scenarios = Json::array({scenario("PRN-001", 31, "pass", ""), scenario("PRN-002", 32, "fail", "step 1 printer.status: online: expected true"),
                                scenario("PRN-003", 33, "error", "transport closed"), scenario("PRN-004", 34, "timeout", "no answer in 5s"),
                                scenario("PRN-005", 35, "skipped", "when: not met"), scenario("PRN-006", 36, Json(), "")});
    r7.steps = Json::array({step(1, 31, 0, "pass", 31000, 1200), step(2, 32, 0, "fail", 32000, 1500),
                            step(3, 33, 0, "error", 33000, 900), step(4, 34, 0, "timeout", 34000, 5000000)});
    r7.prompts = Json::array({{{"id", 9}, {"run", 7}, {"scenario", "PRN-001"},
                               {"attachment", {{"name", "receipt.JPG"}, {"size", 1234}, {"sha256", std::string(64, 'b')},
                                               {"href", "/v1/prompts/9/attachment"}}}},
                              {{"id", 10}, {"run", 7}, {"scenario", "PRN-002"}, {"attachment", nullptr}}});
    cli::ExportSource::RunDocs r8;
    r8.run = run(8, "printer-soak", "completed", Json("fail"));
    auto soak = scenario("SOAK-1", 40, "fail", "2 of 20 iterations failed", 20);
    soak["passed_iterations"] = 18;
    soak["stats"] = {{"iterations", 20}, {"passed", 18}, {"failed", 2}, {"errors", 0}, {"timeouts", 0},
                     {"power_cycles", 0}, {"marginal", 0}, {"pass_rate", 0.9},
                     {"latency", Json::array({{{"action", "printer.status"}, {"count", 20}, {"p50_ms", 2.0},
                                               {"p95_ms", 3.0}, {"p99_ms", 3.0}, {"max_ms", 3.0}}})},
                     {"drift", Json::array()}};
    r8.scenarios = Json::array({soak});
    r8.steps = Json::array();
    for (int i = 0; i < 20; ++i)
        r8.steps.push_back(step(i + 1, 40, i, i == 12 || i == 13 ? "fail" : "pass", 40000 + i * 1000, 2000 + i * 50));
    r8.prompts = Json::array();
    src.runs = {r7, r8};
    return src;
}

}  // namespace certlab::test::export_fixture
