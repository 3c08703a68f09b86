// The certification desk over a real store: intake to GA, and every refusal.
#include <doctest/doctest.h>

#include <string>

#include "certify/desk.hpp"
#include "record/store.hpp"
#include "support/process.hpp"

using namespace certlab;
using certify::Refusal;
using certify::State;
using record::Outcome;
using record::Phase;

namespace {

std::vector<certify::SuiteMeta> suites() {
    return {{"receipt-printer",
             "Receipt printer",
             {"printer", "cash_drawer"},
             {},
             {"orders.print", "payments.cash_drawer"},
             {{"PRN-003", "Prints a receipt", {"orders.print"}},
              {"PRN-004", "Paper-out is reported", {"orders.print"}},
              {"PRN-006", "Drawer opens", {"payments.cash_drawer"}}}},
            {"bench-supply", "Supply", {"power"}, {}, {}, {{"PSU-001", "Identifies", {}}}}};
}

struct Bench {
    test::TempDir dir;
    std::unique_ptr<record::Store> store = record::Store::open(dir / "s.db");
    certify::Desk desk{*store, suites()};

    std::int64_t intake() {
        certify::IntakeRequest r{"Acme", "Acme POS", "SIM-80", "SIM0001", "1.00", "p1",
                                 {"orders.print", "payments.cash_drawer"}, "tom"};
        return desk.intake(r, {"printer", "cash_drawer"}).id;
    }

    /// A run for the certification with these scenario outcomes; returns the run id.
    std::int64_t run(std::int64_t cert, std::vector<std::pair<std::string, Outcome>> outcomes,
                     const std::string& suite = "receipt-printer") {
        record::Run r;
        r.device_id = "p1";
        r.suite_id = suite;
        r.status = record::RunStatus::running;
        r.started_at = std::chrono::system_clock::now();
        r.certification_id = cert;
        r.firmware = "1.00";
        store->begin_run(r);
        desk.run_started(cert, r.id);
        for (const auto& [id, o] : outcomes) {
            record::ScenarioResult s;
            s.run_id = r.id;
            s.scenario_id = id;
            s.started_at = r.started_at;
            store->begin_scenario(s);
            s.outcome = o;
            s.reason = o == Outcome::fail ? "step 1 printer.print: accepted: expected true, got false" : "";
            s.ended_at = r.started_at;
            store->end_scenario(s);
        }
        store->end_run(r.id, record::RunStatus::completed, Outcome::pass, "");
        return r.id;
    }

    State state(std::int64_t cert, const std::string& scenario) {
        for (const auto& s : desk.view(cert).statuses)
            if (s.item.scenario_id == scenario) return s.state;
        FAIL("no such scenario " << scenario);
        return State::not_run;
    }
};

/// The refusal a call throws, as "<kind>: <message>"; "" when it does not throw.
template <class F>
std::string refusal(F&& f) {
    try {
        f();
    } catch (const Refusal& e) {
        const char* kind = e.kind() == Refusal::Kind::not_found ? "not_found"
                           : e.kind() == Refusal::Kind::invalid ? "invalid"
                                                                : "conflict";
        return std::string(kind) + ": " + e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("desk: intake records the certification and the plan its permissions require") {
    Bench b;
    auto id = b.intake();
    auto v = b.desk.view(id);
    CHECK(v.record.cert.phase == Phase::intake);
    CHECK(v.record.cert.permissions == std::vector<std::string>{"orders.print", "payments.cash_drawer"});
    REQUIRE(v.statuses.size() == 3);
    for (const auto& s : v.statuses) CHECK(s.state == State::not_run);
    CHECK(v.next == Phase::lab);
    CHECK_FALSE(v.next_blocked_by);
    CHECK(b.desk.list().size() == 1);

    certify::IntakeRequest bad{"Acme", "POS", "M", "S", "F", "p1", {"order.print"}, ""};
    auto r = refusal([&] { (void)b.desk.intake(bad, {"printer", "cash_drawer"}); });
    CHECK(r.rfind("invalid: no plan for this intake: permission 'order.print' is required by no suite", 0) == 0);
    bad.permissions = {"orders.print"};
    bad.partner = " ";
    CHECK(refusal([&] { (void)b.desk.intake(bad, {"printer"}); }) == "invalid: partner must not be empty");
    CHECK(refusal([&] { (void)b.desk.view(99); }) == "not_found: no certification 99");
}

TEST_CASE("desk: from intake to GA through every gate") {
    Bench b;
    auto id = b.intake();
    CHECK(b.desk.view(id).record.cert.phase == Phase::intake);

    // The first run takes it into the lab; a failure becomes an issue once.
    auto run1 = b.run(id, {{"PRN-003", Outcome::pass}, {"PRN-004", Outcome::fail}, {"PRN-006", Outcome::pass}});
    CHECK(b.desk.view(id).record.cert.phase == Phase::lab);
    auto raised = b.desk.sync_issues(id);
    REQUIRE(raised.size() == 1);
    CHECK(raised[0].scenario_id == "PRN-004");
    CHECK(raised[0].run_id == run1);
    CHECK(b.desk.sync_issues(id).empty());
    CHECK(b.desk.sync_all() == 0);
    CHECK(b.desk.view(id).record.issues.size() == 1);

    // Gate: certified needs every required scenario certified.
    auto blocked = refusal([&] { (void)b.desk.change_phase(id, Phase::certified, "eve", ""); });
    INFO(blocked);
    CHECK(blocked.find("conflict: cannot enter certified: required scenario PRN-003 (Prints a receipt) is passed") == 0);
    CHECK(blocked.find("required scenario PRN-004 (Paper-out is reported) is failed (run " + std::to_string(run1)) !=
          std::string::npos);

    // A failed scenario cannot be certified, nor rejected (its failure is already an issue).
    auto not_passed = refusal([&] { (void)b.desk.certify(id, "PRN-004", "eve"); });
    CHECK(not_passed.find("conflict: cannot certify: PRN-004 (Paper-out is reported) is failed") == 0);
    CHECK(refusal([&] { (void)b.desk.reject(id, "PRN-004", "eve", "no"); }).find("already an issue") !=
          std::string::npos);
    CHECK(refusal([&] { (void)b.desk.certify(id, "PRN-999", "eve"); }) ==
          "not_found: scenario PRN-999 is not in the plan of certification 1 (plan: PRN-003, PRN-004, PRN-006)");

    b.desk.certify(id, "PRN-003", "eve");
    CHECK(b.state(id, "PRN-003") == State::certified);
    // Rejection: feedback becomes an issue; the scenario needs a new result.
    auto [rejected, issue] = b.desk.reject(id, "PRN-006", "eve", "drawer opened only on the second kick");
    CHECK(rejected.verdict == record::Verdict::rejected);
    CHECK(issue.source == record::IssueSource::rejection);
    CHECK(issue.next_steps.find("drawer opened only on the second kick") != std::string::npos);
    CHECK(b.state(id, "PRN-006") == State::rejected);
    CHECK(refusal([&] { (void)b.desk.certify(id, "PRN-006", "eve"); }).find("run it again") != std::string::npos);

    // The fix: a new run passes; certifying closes the failure and rejection issues.
    b.run(id, {{"PRN-003", Outcome::pass}, {"PRN-004", Outcome::pass}, {"PRN-006", Outcome::pass}});
    CHECK(b.state(id, "PRN-003") == State::passed);  // a new result needs a new verdict
    for (const char* s : {"PRN-003", "PRN-004", "PRN-006"}) b.desk.certify(id, s, "eve");
    auto v = b.desk.view(id);
    for (const auto& i : v.record.issues) CHECK(i.status == record::IssueStatus::closed);
    CHECK_FALSE(v.next_blocked_by);
    auto change = b.desk.change_phase(id, Phase::certified, "eve", "all certified");
    CHECK(change.from == Phase::lab);
    CHECK(b.desk.view(id).record.cert.phase == Phase::certified);

    // No more runs or sign-offs in certified: the evidence is frozen.
    CHECK(refusal([&] { b.desk.check_run(id, "p1", "receipt-printer", "1.00"); }).find("conflict: certification 1 is in "
                                                                                     "phase certified") == 0);
    CHECK(refusal([&] { (void)b.desk.reject(id, "PRN-003", "eve", "x"); }).find("sign-offs change only in lab") !=
          std::string::npos);

    // Pilot: 5 to 10 merchants.
    for (int i = 1; i <= 3; ++i) b.desk.add_merchant(id, "merchant " + std::to_string(i), "", "tom");
    CHECK(refusal([&] { (void)b.desk.change_phase(id, Phase::pilot, "tom", ""); }) ==
          "conflict: cannot enter pilot: 3 merchants are recorded; a pilot needs 5 to 10 (record 2 more)");
    CHECK(refusal([&] { (void)b.desk.add_merchant(id, "merchant 1", "", "tom"); }) ==
          "conflict: merchant 'merchant 1' is already recorded for certification 1");
    for (int i = 4; i <= 5; ++i) b.desk.add_merchant(id, "merchant " + std::to_string(i), "", "tom");
    b.desk.change_phase(id, Phase::pilot, "tom", "");

    // GA: not while a critical issue is open.
    record::Issue draft;
    draft.title = "receipts cut short at merchant 2";
    draft.severity = record::Severity::critical;
    auto critical = b.desk.add_issue(id, draft);
    CHECK(critical.phase == Phase::pilot);
    CHECK(refusal([&] { (void)b.desk.change_phase(id, Phase::ga, "tom", ""); }) ==
          "conflict: cannot enter ga: critical issue " + std::to_string(critical.id) +
              " (receipts cut short at merchant 2, raised in pilot) is open");
    CHECK(refusal([&] { (void)b.desk.close_issue(id, critical.id, "tom", ""); }) == "invalid: resolution must not be empty");
    b.desk.close_issue(id, critical.id, "tom", "cutter firmware 1.01");
    CHECK(refusal([&] { (void)b.desk.close_issue(id, critical.id, "tom", "again"); })
              .find("conflict: issue " + std::to_string(critical.id) + " is already closed") == 0);
    b.desk.change_phase(id, Phase::ga, "tom", "");
    auto done = b.desk.view(id);
    CHECK(done.record.cert.phase == Phase::ga);
    CHECK_FALSE(done.next);
    CHECK(done.record.history.size() == 5);  // intake, lab, certified, pilot, ga
}

TEST_CASE("desk: runs are checked against the certification") {
    Bench b;
    auto id = b.intake();
    CHECK(refusal([&] { b.desk.check_run(id, "p1", "receipt-printer", "1.00"); }).empty());
    CHECK(refusal([&] { b.desk.check_run(id, "p1", "receipt-printer", ""); }).empty());  // device does not say
    CHECK(refusal([&] { b.desk.check_run(99, "p1", "receipt-printer", ""); }) == "not_found: no certification 99");
    CHECK(refusal([&] { b.desk.check_run(id, "p2", "receipt-printer", ""); }) ==
          "invalid: certification 1 is for device 'p1', not 'p2'");
    CHECK(refusal([&] { b.desk.check_run(id, "p1", "bench-supply", ""); }) ==
          "invalid: suite 'bench-supply' has no scenario in the plan of certification 1 (its suites: receipt-printer)");
    CHECK(refusal([&] { b.desk.check_run(id, "p1", "receipt-printer", "2.00"); }) ==
          "conflict: device 'p1' reports firmware 2.00 but certification 1 was taken in for firmware 1.00; take in a "
          "certification for the firmware on the device");
}

TEST_CASE("desk: a pilot has at most 10 merchants, and sign-off waits for the lab") {
    Bench b;
    auto id = b.intake();
    CHECK(refusal([&] { (void)b.desk.certify(id, "PRN-003", "eve"); }).find("is in phase intake; run its plan first") !=
          std::string::npos);
    for (int i = 1; i <= 10; ++i) b.desk.add_merchant(id, "m" + std::to_string(i), "", "");
    CHECK(refusal([&] { (void)b.desk.add_merchant(id, "m11", "", ""); }) ==
          "conflict: certification 1 already has 10 merchants; a pilot has at most 10");
    record::Issue draft;
    draft.title = "x";
    draft.scenario_id = "PRN-404";
    CHECK(refusal([&] { (void)b.desk.add_issue(id, draft); }) ==
          "not_found: scenario PRN-404 is not in the plan of certification 1");
}
