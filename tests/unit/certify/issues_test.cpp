// Issues raised from failures and rejections, with next steps.
#include <doctest/doctest.h>

#include "certify/issues.hpp"

using namespace certlab;
using record::Outcome;

namespace {

record::Certification cert() {
    record::Certification c;
    c.id = 3;
    c.device_id = "p1";
    c.phase = record::Phase::lab;
    c.plan = {{"PRN-003", "receipt-printer", "Prints and cuts a receipt", {"orders.print"}, {}},
              {"PRN-006", "receipt-printer", "Drawer opens", {"payments.cash_drawer"}, {}}};
    return c;
}

record::CertResult failed(std::int64_t id, std::int64_t run, const std::string& scenario, const std::string& reason,
                          Outcome o = Outcome::fail) {
    record::CertResult r;
    r.result_id = id;
    r.run_id = run;
    r.suite_id = "receipt-printer";
    r.scenario_id = scenario;
    r.outcome = o;
    r.reason = reason;
    r.device_id = "p1";
    r.firmware = "1.00";
    return r;
}

}  // namespace

TEST_CASE("issues: a failed required scenario becomes a major issue with next steps from its reason") {
    auto c = cert();
    const record::TimePoint now{std::chrono::seconds(1'800'000'000)};
    auto i = certify::failure_issue(
        c, c.plan[0], failed(31, 12, "PRN-003", "step 1 printer.print: accepted: expected true, got false (device: paper out)"),
        now);
    CHECK(i.certification_id == 3);
    CHECK(i.title == "PRN-003 (Prints and cuts a receipt) failed in run 12");
    CHECK(i.severity == record::Severity::major);
    CHECK(i.source == record::IssueSource::failure);
    CHECK(i.status == record::IssueStatus::open);
    CHECK(i.scenario_id == "PRN-003");
    CHECK(i.run_id == 12);
    CHECK(i.scenario_result_id == 31);
    CHECK(i.phase == record::Phase::lab);
    CHECK(i.created_at == now);
    INFO(i.next_steps);
    CHECK(i.next_steps.find("PRN-003 failed in run 12 on device p1 (firmware 1.00): step 1 printer.print: accepted: "
                            "expected true, got false (device: paper out)") != std::string::npos);
    // The device said why: that hint, not the generic one for an unexpected value.
    CHECK(i.next_steps.find("The device said why it refused") != std::string::npos);
    CHECK(i.next_steps.find("certlab run start --device p1 --suite receipt-printer --certification 3") !=
          std::string::npos);
    CHECK(i.next_steps.find("certlab certify 3 PRN-003") != std::string::npos);
}

TEST_CASE("issues: the hint follows the kind of failure") {
    auto c = cert();
    auto steps = [&](const std::string& reason) {
        return certify::failure_next_steps(c, c.plan[0], failed(1, 1, "PRN-003", reason));
    };
    CHECK(steps("3 of 200 iterations did not pass; first: ...").find("intermittently") != std::string::npos);
    CHECK(steps("step 1 printer.status: malformed response: bad byte").find("cannot decode") != std::string::npos);
    CHECK(steps("step 1 printer.status: latency: 300 ms is above the limit of 250 ms").find("over its limit") !=
          std::string::npos);
    CHECK(steps("step 1 printer.status: online: expected true, got false").find("other than the scenario expects") !=
          std::string::npos);
    CHECK(steps("").find("no reason recorded") != std::string::npos);
}

TEST_CASE("issues: only failed results of planned scenarios become issues") {
    record::CertificationRecord rec;
    rec.cert = cert();
    rec.results = {failed(1, 7, "PRN-003", "paper out"), failed(2, 7, "PRN-006", "", Outcome::pass),
                   failed(3, 7, "PRN-007", "not planned"), failed(4, 7, "PRN-006", "device-lost", Outcome::error),
                   failed(5, 8, "PRN-003", "paper out again")};
    auto issues = certify::failure_issues(rec, {});
    REQUIRE(issues.size() == 2);
    CHECK(issues[0].run_id == 7);
    CHECK(issues[1].run_id == 8);
    CHECK(issues[1].scenario_id == "PRN-003");
}

TEST_CASE("issues: a rejection becomes an issue whose next steps start with the feedback") {
    auto c = cert();
    record::SignOff s;
    s.scenario_id = "PRN-003";
    s.verdict = record::Verdict::rejected;
    s.by = "eve";
    s.feedback = "the receipt is illegible in the last 5 lines";
    s.scenario_result_id = 31;
    auto i = certify::rejection_issue(c, c.plan[0], s);
    CHECK(i.source == record::IssueSource::rejection);
    CHECK(i.title == "PRN-003 (Prints and cuts a receipt) rejected by eve");
    CHECK(i.next_steps.rfind("1. Evaluator feedback: the receipt is illegible in the last 5 lines", 0) == 0);
    CHECK(i.raised_by == "eve");
}
