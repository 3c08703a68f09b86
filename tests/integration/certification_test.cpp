// The certification record end to end: intake, plan, runs for the certification,
// sign-off and the phase gates, through the real daemon, CLI and simulator
// (issue 5, acceptance 1 with one prompt answered and one left to time out, and 4).
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <set>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

struct CliOut {
    int status = -1;
    std::string out;
    std::string err;
};

/// `certlab --station URL args...` with its stderr too (where refusals are printed).
CliOut cli_full(const Daemon& d, const TempDir& dir, std::vector<std::string> args) {
    auto err = dir / "cli.err";
    std::filesystem::remove(err);
    std::vector<std::string> argv{bin("certlab").string(), "--station", d.station_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, 120s, err);
    return {r.status, r.out, std::filesystem::exists(err) ? read_file(err) : std::string()};
}

/// `certlab intake` of the simulated printer `p` for printing and the cash drawer.
std::string intake(const Daemon& d, const TempDir& dir, const std::string& firmware = "1.00") {
    auto r = cli_full(d, dir,
                      {"intake", "--partner", "Acme", "--integration", "Acme POS", "--model", "CERTLAB-SIM-80", "--serial",
                       "SIM0001", "--firmware", firmware, "--permission", "orders.print", "--permission",
                       "payments.cash_drawer", "--device", "p", "--by", "tom"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    auto id = r.out.substr(0, r.out.find('\n'));
    REQUIRE_FALSE(id.empty());
    CHECK(std::stoll(id) > 0);
    return id;
}

json plan_entry(const json& cert, const std::string& scenario) {
    for (const auto& p : cert["plan"])
        if (p["scenario"] == scenario) return p;
    return json{{"status", "missing"}};
}

std::vector<std::string> scenario_ids(const json& plan) {
    std::vector<std::string> out;
    for (const auto& p : plan) out.push_back(p["scenario"]);
    return out;
}

/// The run id of the certification's only run (newest first otherwise).
std::int64_t last_run(const Daemon& d) { return d.get("/v1/runs?limit=1")["runs"][0]["id"].get<std::int64_t>(); }

const std::vector<std::string> planned{"PRN-001", "PRN-002", "PRN-003", "PRN-004", "PRN-005", "PRN-006"};

// Inspection by the technician for orders.print, with timeouts a test can wait out:
// INS-001's prompt is answered through the CLI, INS-002's is left to time out and is
// skipped by its policy.
const char* inspection_suite = R"(suite: bench-inspection
title: Inspected at the bench
requires: [printer]
permissions: [orders.print]
scenarios:
  - id: INS-001
    title: A printed receipt is legible
    steps:
      - call: printer.print
        args: { count: 5, title: "CERTLAB INS-001" }
        expect: { accepted: true }
      - prompt: confirm
        message: Is the receipt legible?
        timeout: 60s
  - id: INS-002
    title: The cut edge, judged when someone is at the bench
    steps:
      - call: printer.cut
        args: { feed: 3, partial: false }
        expect: { accepted: true }
      - prompt: choice
        message: How is the cut edge?
        choices: [clean, ragged, torn]
        fail_on: [torn]
        timeout: 1s
        on_timeout: skip
)";
const std::vector<std::string> inspected{"INS-001", "INS-002"};

}  // namespace

TEST_CASE("certification: a printer taken in for two permissions runs its plan, is signed off and reaches certified") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    std::filesystem::copy_file(source("lab-config/suites/receipt-printer.yaml"), dir / "suites" / "receipt-printer.yaml");
    write_file(dir / "suites" / "bench-inspection.yaml", inspection_suite);
    // Suites plan in file order: bench-inspection.yaml comes before receipt-printer.yaml.
    auto whole_plan = inspected;
    whole_plan.insert(whole_plan.end(), planned.begin(), planned.end());
    auto sim = start_printer(Link::tcp);
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db", dir / "suites"));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());

    const auto id = intake(d, dir);
    const std::string href = "/v1/certifications/" + id;

    // The plan: the printing basics, the technician's inspection and the drawer kick;
    // not the kitchen endurance run.
    auto plan = cli_full(d, dir, {"plan", id, "--json"});
    REQUIRE(plan.status == 0);
    auto plan_doc = json::parse(plan.out);
    CHECK(scenario_ids(plan_doc["plan"]) == whole_plan);
    for (const auto& p : plan_doc["plan"]) CHECK(p["status"] == "not_run");
    CHECK(plan_entry(plan_doc, "PRN-006")["permissions"] == json::array({"payments.cash_drawer"}));
    CHECK(plan_entry(plan_doc, "PRN-001")["permissions"] == json::array({"orders.print"}));
    auto human_plan = cli_full(d, dir, {"plan", id});
    CHECK(human_plan.out.find("PRN-006") != std::string::npos);
    CHECK(human_plan.out.find("PRN-007") == std::string::npos);
    auto cert = d.get(href);
    CHECK(cert["certification"]["phase"] == "intake");
    CHECK(cert["certification"]["partner"] == "Acme");
    CHECK(cert["certification"]["serial_number"] == "SIM0001");
    CHECK(cert["certification"]["taken_in_by"] == "tom");
    CHECK(cert["certification"]["capabilities"] == json::array({"printer", "cash_drawer"}));

    // Run the plan's suite for the certification; the run takes it into the lab.
    auto runr = cli_full(d, dir, {"run", "start", "--device", "p", "--suite", "receipt-printer", "--certification", id,
                                  "--wait", "--poll", "0.2"});
    INFO(runr.out << runr.err);
    REQUIRE(runr.status == 0);
    auto run_id = last_run(d);
    auto run = d.get("/v1/runs/" + std::to_string(run_id) + "?steps=0")["run"];
    // Provenance of every result: station, certlab version, driver, suite hash, firmware.
    CHECK(run["certification"] == std::stoll(id));
    CHECK(run["firmware"] == "1.00");
    CHECK(run["station_id"] == "test-bench");
    CHECK_FALSE(run["certlab_version"].get<std::string>().empty());
    CHECK(run["driver"].get<std::string>().rfind("escpos", 0) == 0);
    CHECK(run["suite_hash"].get<std::string>().size() == 64);
    cert = d.get(href);
    CHECK(cert["certification"]["phase"] == "lab");
    for (const auto& s : planned) {
        auto p = plan_entry(cert, s);
        CAPTURE(s);
        CHECK(p["status"] == "passed");
        CHECK(p["evidence"]["run"] == run_id);
        CHECK(p["evidence"]["firmware"] == "1.00");
    }
    CHECK(cert["issues"].empty());
    CHECK(cert["next_phase"]["phase"] == "certified");
    CHECK(cert["next_phase"]["allowed"] == false);

    // The inspection, for the certification: one prompt answered through the CLI, the
    // other left to time out (skipped by its policy, so the scenario still passes).
    auto started = cli_full(d, dir, {"run", "start", "--device", "p", "--suite", "bench-inspection", "--certification", id});
    INFO(started.err);
    REQUIRE(started.status == 0);
    const auto inspection_run = std::stoll(started.out);
    json legible;
    REQUIRE_MESSAGE(wait_until(
                        [&] {
                            auto doc = cli_full(d, dir, {"prompts", "--json"});
                            if (doc.status != 0) return false;
                            const auto list = json::parse(doc.out);
                            for (const auto& p : list["prompts"])
                                if (p["scenario"] == "INS-001") legible = p;
                            return legible.is_object();
                        },
                        30s),
                    d.log());
    CHECK(legible["run"] == inspection_run);
    CHECK(legible["message"] == "Is the receipt legible?");
    auto answered = cli_full(d, dir, {"answer", std::to_string(legible["id"].get<std::int64_t>()), "yes", "--by", "tom"});
    INFO(answered.err);
    CHECK(answered.status == 0);
    auto inspection = d.wait_for_run(inspection_run);
    CHECK(inspection["run"]["outcome"] == "pass");
    json cut_prompt;
    for (const auto& s : inspection["steps"])
        if (s["action"] == "prompt.choice") cut_prompt = s;
    REQUIRE(cut_prompt.is_object());
    CHECK(cut_prompt["outcome"] == "skipped");
    CHECK(text_contains(cut_prompt["reason"], "no answer from the technician within 1 s (on_timeout: skip)"));
    auto prompts = d.get("/v1/prompts?status=all&run=" + std::to_string(inspection_run))["prompts"];
    REQUIRE(prompts.size() == 2);
    CHECK(prompts[0]["status"] == "timed_out");  // newest first: INS-002's
    CHECK(prompts[1]["status"] == "answered");
    CHECK(prompts[1]["answered_by"] == "tom");
    cert = d.get(href);
    for (const auto& s : inspected) {
        CAPTURE(s);
        CHECK(plan_entry(cert, s)["status"] == "passed");
        CHECK(plan_entry(cert, s)["evidence"]["run"] == inspection_run);
    }

    // Passed is not certified: the gate waits for sign-off and says so.
    auto early = cli_full(d, dir, {"phase", id, "certified"});
    CHECK(early.status == 3);
    CHECK(early.err.find("409") != std::string::npos);
    CHECK(early.err.find("cannot enter certified: required scenario INS-001 (A printed receipt is legible) is passed "
                         "in run " + std::to_string(inspection_run) + ", awaiting sign-off") != std::string::npos);
    CHECK(early.err.find("required scenario PRN-001 (Printer is online and reports no error) "
                         "is passed in run " + std::to_string(run_id) + ", awaiting sign-off") != std::string::npos);

    for (const auto& s : whole_plan) {
        auto r = cli_full(d, dir, {"certify", id, s, "--by", "eve"});
        CAPTURE(s);
        CHECK(r.status == 0);
        CHECK(r.out.find(s + " certified by eve") != std::string::npos);
    }
    cert = d.get(href);
    for (const auto& s : whole_plan) {
        CHECK(plan_entry(cert, s)["status"] == "certified");
        CHECK(plan_entry(cert, s)["signoff"]["by"] == "eve");
    }
    CHECK(cert["next_phase"]["allowed"] == true);
    auto to_certified = cli_full(d, dir, {"phase", id, "certified", "--by", "eve"});
    INFO(to_certified.err);
    CHECK(to_certified.status == 0);
    CHECK(to_certified.out.find("lab -> certified") != std::string::npos);
    auto show = cli_full(d, dir, {"cert", "show", id});
    CHECK(show.status == 0);
    CHECK(show.out.find("phase certified") != std::string::npos);
    CHECK(show.out.find("8 of 8 certified") != std::string::npos);

    // Pilot gate: 5 to 10 merchants (acceptance 4: three are refused).
    for (const char* m : {"Joe's Diner", "Taco Loco", "Bean There"})
        CHECK(cli_full(d, dir, {"merchant", "add", id, m, "--location", "Austin"}).status == 0);
    auto pilot3 = cli_full(d, dir, {"phase", id, "pilot"});
    CHECK(pilot3.status == 3);
    CHECK(pilot3.err.find("cannot enter pilot: 3 merchants are recorded; a pilot needs 5 to 10 (record 2 more)") !=
          std::string::npos);
    CHECK(d.get(href)["certification"]["phase"] == "certified");
    for (const char* m : {"Slice Co", "Noodle Bar"}) CHECK(cli_full(d, dir, {"merchant", "add", id, m}).status == 0);
    CHECK(cli_full(d, dir, {"phase", id, "pilot"}).status == 0);

    // GA waits for the pilot's critical issues.
    auto added = cli_full(d, dir, {"issue", "add", id, "--title", "receipts cut short at Taco Loco", "--severity",
                                   "critical", "--next-steps", "replace the cutter blade"});
    REQUIRE(added.status == 0);
    auto issue_id = added.out.substr(0, added.out.find('\n'));
    auto ga = cli_full(d, dir, {"phase", id, "GA"});
    CHECK(ga.status == 3);
    CHECK(ga.err.find("cannot enter ga: critical issue " + issue_id + " (receipts cut short at Taco Loco, raised in "
                                                                      "pilot) is open") != std::string::npos);
    auto issues = cli_full(d, dir, {"issues", id});
    CHECK(issues.out.find("replace the cutter blade") != std::string::npos);
    CHECK(cli_full(d, dir, {"issue", "close", id, issue_id, "--resolution", "new blade, 200 receipts clean"}).status == 0);
    CHECK(cli_full(d, dir, {"phase", id, "ga"}).status == 0);
    cert = d.get(href);
    CHECK(cert["certification"]["phase"] == "ga");
    CHECK(cert["next_phase"].is_null());
    std::vector<std::string> phases;
    for (const auto& c : cert["phases"]) phases.push_back(c["to"]);
    CHECK(phases == std::vector<std::string>{"intake", "lab", "certified", "pilot", "ga"});

    // The list shows it.
    auto list = json::parse(cli_full(d, dir, {"cert", "list", "--json"}).out);
    REQUIRE(list["certifications"].size() == 1);
    CHECK(list["certifications"][0]["scenarios_certified"] == 8);
}

TEST_CASE("certification: a failing required scenario becomes an outstanding issue and blocks certified by name") {
    TempDir dir;
    auto sim = start_printer(Link::tcp, {"--paper-out"});
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    const auto id = intake(d, dir);
    const std::string href = "/v1/certifications/" + id;

    auto runr = cli_full(d, dir, {"run", "start", "--device", "p", "--suite", "receipt-printer", "--certification", id,
                                  "--wait", "--poll", "0.2"});
    CHECK(runr.status == 1);  // the run failed
    auto run_id = last_run(d);
    auto run = d.wait_for_run(run_id);
    REQUIRE(scenario_of(run, "PRN-003")["outcome"] == "fail");
    REQUIRE(scenario_of(run, "PRN-007")["outcome"] == "fail");  // not planned: must raise no issue

    // One issue per failed planned scenario, with next steps from the failure.
    auto cert = d.get(href);
    std::set<std::string> failed_planned;
    for (const auto& s : run["scenarios"])
        if (s["outcome"] == "fail" && std::find(planned.begin(), planned.end(), s["id"]) != planned.end())
            failed_planned.insert(s["id"].get<std::string>());
    std::set<std::string> issue_scenarios;
    json prn003;
    for (const auto& i : cert["issues"]) {
        CHECK(i["source"] == "failure");
        CHECK(i["status"] == "open");
        CHECK(i["run"] == run_id);
        issue_scenarios.insert(i["scenario"].get<std::string>());
        if (i["scenario"] == "PRN-003") prn003 = i;
    }
    CHECK(issue_scenarios == failed_planned);
    CHECK(cert["issues"].size() == failed_planned.size());
    REQUIRE(prn003.is_object());
    INFO(prn003.dump(2));
    CHECK(text_contains(prn003["next_steps"], "paper out"));
    CHECK(text_contains(prn003["next_steps"],
                        "certlab run start --device p --suite receipt-printer --certification " + id));
    CHECK(plan_entry(cert, "PRN-003")["status"] == "failed");
    auto issues_cli = cli_full(d, dir, {"issues", id});
    CHECK(issues_cli.out.find("PRN-003 (Prints and cuts a 40-line receipt) failed in run " + std::to_string(run_id)) !=
          std::string::npos);

    // Certifying the failing scenario is refused, naming it.
    auto certify = cli_full(d, dir, {"certify", id, "PRN-003", "--by", "eve"});
    CHECK(certify.status == 3);
    CHECK(certify.err.find("cannot certify: PRN-003 (Prints and cuts a 40-line receipt) is failed (run " +
                           std::to_string(run_id)) != std::string::npos);

    // Sign off everything that passed; certified is still refused, naming the failure.
    for (const auto& s : planned)
        if (plan_entry(cert, s)["status"] == "passed") CHECK(cli_full(d, dir, {"certify", id, s, "--by", "eve"}).status == 0);
    auto gate = cli_full(d, dir, {"phase", id, "certified"});
    CHECK(gate.status == 3);
    INFO(gate.err);
    CHECK(gate.err.find("409 Conflict: cannot enter certified: required scenario ") != std::string::npos);
    CHECK(gate.err.find("required scenario PRN-003 (Prints and cuts a 40-line receipt) is failed (run " +
                        std::to_string(run_id) + ": step 1 printer.print") != std::string::npos);
    // Only what blocks is named: the scenarios signed off above are not.
    CHECK(gate.err.find("PRN-002") == std::string::npos);
    CHECK(gate.err.find("paper out") != std::string::npos);
    auto api = http("POST", d.port(), href + "/phase", R"({"to": "certified"})");
    CHECK(api.status == 409);
    CHECK(text_contains(json::parse(api.body)["detail"], "required scenario PRN-003"));
    CHECK(d.get(href)["certification"]["phase"] == "lab");

    // Reading again, or restarting the daemon, never duplicates an issue.
    const auto count = d.get(href)["issues"].size();
    CHECK(d.get(href)["issues"].size() == count);
    d.process().signal(SIGTERM);
    REQUIRE(d.process().wait(15s));
    Daemon again(dir, "");
    CHECK(again.get(href)["issues"].size() == count);
    CHECK(again.get(href)["certification"]["phase"] == "lab");
}

TEST_CASE("certification: refusals are clear problem documents with the right status") {
    TempDir dir;
    auto sim = start_printer(Link::tcp);
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto post = [&](const std::string& target, const std::string& body) {
        auto r = http("POST", d.port(), target, body);
        return std::make_pair(r.status, json::parse(r.body, nullptr, false));
    };
    const std::string good = R"("partner": "Acme", "integration": "POS", "device_model": "M", "serial_number": "S",
                               "device": "p")";

    auto [s1, missing] = post("/v1/certifications", "{" + good + R"(, "permissions": ["orders.print"]})");
    CHECK(s1 == 400);
    CHECK(missing["detail"] == "missing field 'firmware'");
    auto [s2, unknown] =
        post("/v1/certifications", "{" + good + R"(, "firmware": "1.00", "permissions": ["order.print"]})");
    CHECK(s2 == 422);
    CHECK(text_contains(unknown["detail"], "permission 'order.print' is required by no suite"));
    auto [s3, nodev] = post("/v1/certifications", R"({"partner": "A", "integration": "I", "device_model": "M",
        "serial_number": "S", "firmware": "F", "device": "nope", "permissions": ["orders.print"]})");
    CHECK(s3 == 404);
    CHECK(nodev["detail"] == "no device 'nope'");
    CHECK(http_get(d.port(), "/v1/certifications/99").status == 404);
    CHECK(http_get(d.port(), "/v1/certifications/abc").status == 400);
    CHECK(d.get("/v1/certifications")["certifications"].empty());

    // Taken in for firmware 2.00, the device reports 1.00: its runs would not be evidence.
    auto id = intake(d, dir, "2.00");
    auto run = http("POST", d.port(), "/v1/runs",
                    R"({"device": "p", "suite": "receipt-printer", "certification": )" + id + "}");
    CHECK(run.status == 409);
    CHECK(text_contains(json::parse(run.body)["detail"], "reports firmware 1.00 but certification " + id +
                                                             " was taken in for firmware 2.00"));
    CHECK(http("POST", d.port(), "/v1/runs", R"({"device": "p", "suite": "receipt-printer", "certification": 99})")
              .status == 404);
    // The refused run left the device free and the record without a run.
    CHECK(d.get("/v1/runs")["runs"].empty());

    auto [s4, bad_phase] = post("/v1/certifications/" + id + "/phase", R"({"to": "released"})");
    CHECK(s4 == 422);
    CHECK(text_contains(bad_phase["detail"], "phase must be intake, lab, certified, pilot or ga"));
    auto [s5, skip] = post("/v1/certifications/" + id + "/phase", R"({"to": "certified"})");
    CHECK(s5 == 409);
    CHECK(text_contains(skip["detail"], "cannot go from intake to certified"));
    auto [s6, no_by] = post("/v1/certifications/" + id + "/scenarios/PRN-001/certify", "{}");
    CHECK(s6 == 400);
    auto [s7, not_planned] = post("/v1/certifications/" + id + "/scenarios/PRN-007/certify", R"({"by": "eve"})");
    CHECK(s7 == 404);
    CHECK(text_contains(not_planned["detail"], "scenario PRN-007 is not in the plan"));
    auto [s8, severity] = post("/v1/certifications/" + id + "/issues", R"({"title": "x", "severity": "urgent"})");
    CHECK(s8 == 422);
    auto [s9, issue] = post("/v1/certifications/" + id + "/issues", R"({"title": "label smudges", "severity": "minor"})");
    CHECK(s9 == 201);
    CHECK(issue["status"] == "open");
    CHECK(issue["source"] == "manual");
    CHECK(issue["phase"] == "intake");
    auto [s10, closed] = post("/v1/certifications/" + id + "/issues/" + std::to_string(issue["id"].get<int>()) + "/close",
                              R"({"resolution": "new ribbon"})");
    CHECK(s10 == 200);
    CHECK(closed["status"] == "closed");
    CHECK(closed["resolution"] == "new ribbon");
}
