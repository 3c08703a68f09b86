// Phase gates: what may move where, and the messages that say what blocks.
#include <doctest/doctest.h>

#include "certify/gates.hpp"

using namespace certlab;
using certify::GateFacts;
using certify::refuse_phase_change;
using certify::State;
using record::Phase;

namespace {

certify::ScenarioStatus status(const std::string& id, const std::string& title, State state) {
    certify::ScenarioStatus s;
    s.item = {id, "receipt-printer", title, {"orders.print"}, {}};
    s.state = state;
    if (state != State::not_run) {
        record::CertResult r;
        r.result_id = 10;
        r.run_id = 3;
        r.outcome = state == State::failed ? record::Outcome::fail : record::Outcome::pass;
        r.reason = state == State::failed ? "paper out" : "";
        s.evidence = s.latest = r;
    }
    if (state == State::certified || state == State::rejected) {
        record::SignOff so;
        so.by = "eve";
        so.verdict = state == State::certified ? record::Verdict::certified : record::Verdict::rejected;
        s.signoff = so;
    }
    return s;
}

record::Issue issue(std::int64_t id, record::Severity sev, record::IssueStatus st, Phase raised) {
    record::Issue i;
    i.id = id;
    i.title = "receipt cut is ragged";
    i.severity = sev;
    i.status = st;
    i.phase = raised;
    return i;
}

GateFacts facts(Phase phase, std::vector<certify::ScenarioStatus> statuses = {}) {
    GateFacts f;
    f.phase = phase;
    f.statuses = std::move(statuses);
    return f;
}

}  // namespace

TEST_CASE("gates: certified needs every required scenario certified, and names each that is not") {
    auto f = facts(Phase::lab, {status("PRN-003", "Prints a receipt", State::certified),
                                status("PRN-004", "Paper-out is reported", State::failed),
                                status("PRN-006", "Drawer opens", State::passed)});
    auto refused = refuse_phase_change(f, Phase::certified);
    REQUIRE(refused);
    INFO(*refused);
    CHECK(refused->rfind("cannot enter certified: required scenario PRN-004 (Paper-out is reported) is failed (run 3: "
                         "paper out)",
                         0) == 0);
    CHECK(refused->find("required scenario PRN-006 (Drawer opens) is passed in run 3, awaiting sign-off") !=
          std::string::npos);
    CHECK(refused->find("PRN-003") == std::string::npos);

    f.statuses[1] = status("PRN-004", "Paper-out is reported", State::certified);
    f.statuses[2] = status("PRN-006", "Drawer opens", State::certified);
    CHECK_FALSE(refuse_phase_change(f, Phase::certified));
}

TEST_CASE("gates: rejected and not-run scenarios block certified too") {
    auto f = facts(Phase::lab, {status("PRN-003", "Prints", State::rejected), status("PRN-004", "Paper", State::not_run)});
    auto refused = refuse_phase_change(f, Phase::certified);
    REQUIRE(refused);
    CHECK(refused->find("PRN-003 (Prints) is rejected by eve") != std::string::npos);
    CHECK(refused->find("PRN-004 (Paper) is not run yet") != std::string::npos);
    CHECK(refuse_phase_change(facts(Phase::lab), Phase::certified) ==
          std::optional<std::string>("cannot enter certified: the plan requires no scenario"));
}

TEST_CASE("gates: a pilot needs 5 to 10 merchants") {
    auto f = facts(Phase::certified);
    for (std::size_t n : {0u, 1u, 3u, 4u, 11u}) {
        f.merchants = n;
        CAPTURE(n);
        CHECK(refuse_phase_change(f, Phase::pilot));
    }
    f.merchants = 3;
    CHECK(*refuse_phase_change(f, Phase::pilot) ==
          "cannot enter pilot: 3 merchants are recorded; a pilot needs 5 to 10 (record 2 more)");
    f.merchants = 11;
    CHECK(*refuse_phase_change(f, Phase::pilot) == "cannot enter pilot: 11 merchants are recorded; a pilot needs 5 to 10");
    for (std::size_t n : {5u, 7u, 10u}) {
        f.merchants = n;
        CAPTURE(n);
        CHECK_FALSE(refuse_phase_change(f, Phase::pilot));
    }
}

TEST_CASE("gates: GA waits until no critical issue is open") {
    using record::IssueStatus;
    using record::Severity;
    auto f = facts(Phase::pilot);
    f.issues = {issue(4, Severity::critical, IssueStatus::open, Phase::pilot),
                issue(5, Severity::major, IssueStatus::open, Phase::pilot),
                issue(6, Severity::critical, IssueStatus::closed, Phase::pilot)};
    auto refused = refuse_phase_change(f, Phase::ga);
    REQUIRE(refused);
    CHECK(*refused == "cannot enter ga: critical issue 4 (receipt cut is ragged, raised in pilot) is open");
    f.issues[0].status = IssueStatus::closed;
    CHECK_FALSE(refuse_phase_change(f, Phase::ga));  // a major issue does not hold GA back
}

TEST_CASE("gates: one phase at a time, or back to lab to test again") {
    CHECK_FALSE(refuse_phase_change(facts(Phase::intake, {status("A", "a", State::not_run)}), Phase::lab));
    auto skip = refuse_phase_change(facts(Phase::lab), Phase::pilot);
    REQUIRE(skip);
    CHECK(*skip == "cannot go from lab to pilot: phases go intake, lab, certified, pilot, ga, one at a time "
                   "(next is certified)");
    CHECK(refuse_phase_change(facts(Phase::intake), Phase::ga));
    CHECK(*refuse_phase_change(facts(Phase::lab), Phase::lab) == "the certification is already in phase lab");
    CHECK_FALSE(refuse_phase_change(facts(Phase::certified), Phase::lab));
    CHECK_FALSE(refuse_phase_change(facts(Phase::pilot), Phase::lab));
    CHECK(refuse_phase_change(facts(Phase::ga), Phase::lab));
    CHECK(refuse_phase_change(facts(Phase::lab), Phase::intake));
    CHECK(certify::next_phase(Phase::pilot) == Phase::ga);
    CHECK_FALSE(certify::next_phase(Phase::ga));
}
