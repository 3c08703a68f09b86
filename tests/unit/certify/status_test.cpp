// Scenario status from results and sign-offs.
#include <doctest/doctest.h>

#include "certify/status.hpp"

using namespace certlab;
using certify::derive_statuses;
using certify::State;
using record::Outcome;

namespace {

const std::vector<record::PlanItem> plan{
    {"PRN-003", "receipt-printer", "Prints and cuts a receipt", {"orders.print"}, {}},
    {"PRN-004", "receipt-printer", "Paper-out is detected", {"orders.print"}, {}},
};

record::CertResult result(std::int64_t id, std::int64_t run, const std::string& scenario, Outcome o,
                          const std::string& reason = {}, const std::string& suite = "receipt-printer") {
    record::CertResult r;
    r.result_id = id;
    r.run_id = run;
    r.suite_id = suite;
    r.scenario_id = scenario;
    r.outcome = o;
    r.reason = reason;
    return r;
}

record::SignOff signoff(std::int64_t id, const std::string& scenario, std::int64_t result_id, record::Verdict v,
                        const std::string& feedback = {}) {
    record::SignOff s;
    s.id = id;
    s.scenario_id = scenario;
    s.scenario_result_id = result_id;
    s.verdict = v;
    s.by = "eve";
    s.feedback = feedback;
    return s;
}

State state_of(const std::vector<record::CertResult>& results, const std::vector<record::SignOff>& signoffs = {}) {
    return derive_statuses(plan, results, signoffs)[0].state;
}

}  // namespace

TEST_CASE("status: no result is not_run, and every plan item gets a status in plan order") {
    auto st = derive_statuses(plan, {}, {});
    REQUIRE(st.size() == 2);
    CHECK(st[0].item.scenario_id == "PRN-003");
    CHECK(st[1].item.scenario_id == "PRN-004");
    CHECK(st[0].state == State::not_run);
    CHECK(st[0].attempts == 0);
    CHECK_FALSE(st[0].evidence);
    CHECK(certify::describe(st[0]) ==
          "PRN-003 (Prints and cuts a receipt) is not run yet (run suite receipt-printer for this certification)");
}

TEST_CASE("status: the latest pass or fail decides, and awaits sign-off") {
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::pass)}) == State::passed);
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::fail, "paper out")}) == State::failed);
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::fail), result(5, 2, "PRN-003", Outcome::pass)}) == State::passed);
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::pass), result(5, 2, "PRN-003", Outcome::fail)}) == State::failed);
    auto st = derive_statuses(plan, {result(7, 3, "PRN-003", Outcome::fail, "step 1 printer.print: paper out")}, {});
    CHECK(certify::describe(st[0]) ==
          "PRN-003 (Prints and cuts a receipt) is failed (run 3: step 1 printer.print: paper out)");
}

TEST_CASE("status: station faults never count against the device nor hide earlier evidence") {
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::error)}) == State::inconclusive);
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::timeout), result(2, 2, "PRN-003", Outcome::aborted)}) ==
          State::inconclusive);
    auto st = derive_statuses(plan, {result(1, 1, "PRN-003", Outcome::pass), result(2, 2, "PRN-003", Outcome::error)},
                              {});
    CHECK(st[0].state == State::passed);
    CHECK(st[0].evidence->result_id == 1);
    CHECK(st[0].latest->result_id == 2);
    CHECK(st[0].attempts == 2);
}

TEST_CASE("status: results of other scenarios or other suites do not count") {
    CHECK(state_of({result(1, 1, "PRN-004", Outcome::fail)}) == State::not_run);
    CHECK(state_of({result(1, 1, "PRN-003", Outcome::pass, "", "other-suite")}) == State::not_run);
}

TEST_CASE("status: a sign-off counts for the result it judged, and a newer result supersedes it") {
    using record::Verdict;
    std::vector<record::CertResult> one{result(4, 2, "PRN-003", Outcome::pass)};
    CHECK(state_of(one, {signoff(1, "PRN-003", 4, Verdict::certified)}) == State::certified);
    CHECK(state_of(one, {signoff(1, "PRN-003", 4, Verdict::rejected, "illegible")}) == State::rejected);
    // The latest verdict on the same result wins (a certification revoked).
    auto st = derive_statuses(
        plan, one, {signoff(1, "PRN-003", 4, Verdict::certified), signoff(2, "PRN-003", 4, Verdict::rejected, "smudged")});
    CHECK(st[0].state == State::rejected);
    CHECK(st[0].signoff->id == 2);
    CHECK(certify::describe(st[0]) == "PRN-003 (Prints and cuts a receipt) is rejected by eve: smudged");

    // A new run after the verdict: its result needs a verdict of its own.
    auto later = one;
    later.push_back(result(9, 3, "PRN-003", Outcome::pass));
    CHECK(state_of(later, {signoff(1, "PRN-003", 4, Verdict::certified)}) == State::passed);
    later.push_back(result(11, 4, "PRN-003", Outcome::fail));
    CHECK(state_of(later, {signoff(1, "PRN-003", 4, Verdict::certified)}) == State::failed);
    // A sign-off on another scenario's result is not this one's.
    CHECK(state_of(one, {signoff(1, "PRN-004", 4, Verdict::certified)}) == State::passed);
}

TEST_CASE("status: a certified scenario stays certified when a later run ends in a station fault") {
    std::vector<record::CertResult> results{result(4, 2, "PRN-003", Outcome::pass),
                                            result(8, 3, "PRN-003", Outcome::error, "device-lost")};
    CHECK(state_of(results, {signoff(1, "PRN-003", 4, record::Verdict::certified)}) == State::certified);
}
