// The certification record in the store (schema version 3), against a real SQLite file.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <string>

#include "record/schema.hpp"
#include "record/store.hpp"
#include "support/process.hpp"

using namespace certlab;
using namespace certlab::record;

namespace {

constexpr std::int64_t t0_ms = 1'795'923'941'123;  // 2026-11-29T03:45:41.123Z
TimePoint at(std::int64_t offset_ms) { return TimePoint{std::chrono::milliseconds{t0_ms + offset_ms}}; }

std::string scalar(const std::filesystem::path& db, const std::string& sql) {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(h);
    return out;
}

int exec(const std::filesystem::path& db, const std::string& sql) {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    sqlite3_exec(h, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
    int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(h);
    return rc;
}

Certification make_cert() {
    Certification c;
    c.partner = "Acme";
    c.integration = "Acme POS";
    c.device_model = "TM-T88VI";
    c.serial_number = "X5E1234";
    c.firmware = "30.01";
    c.device_id = "p1";
    c.permissions = {"orders.print", "payments.cash_drawer"};
    c.capabilities = {"printer", "cash_drawer"};
    c.taken_in_by = "tom";
    c.created_at = c.phase_since = at(0);
    c.plan = {{"PRN-001", "receipt-printer", "Online", {"orders.print"}, {}},
              {"PRN-006", "receipt-printer", "Drawer", {"payments.cash_drawer"}, {"psu"}}};
    return c;
}

/// A finished run for the certification with one scenario result; returns the result id.
std::int64_t add_result(Store& s, std::optional<std::int64_t> cert, const std::string& scenario, Outcome o,
                        std::int64_t* run_id = nullptr) {
    Run r;
    r.device_id = "p1";
    r.suite_id = "receipt-printer";
    r.status = RunStatus::running;
    r.started_at = at(1000);
    r.firmware = "30.01";
    r.certification_id = cert;
    s.begin_run(r);
    ScenarioResult sr;
    sr.run_id = r.id;
    sr.scenario_id = scenario;
    sr.title = "t";
    sr.started_at = at(1000);
    s.begin_scenario(sr);
    sr.outcome = o;
    sr.reason = o == Outcome::fail ? "paper out" : "";
    sr.ended_at = at(2000);
    s.end_scenario(sr);
    s.end_run(r.id, RunStatus::completed, o, "");
    if (run_id) *run_id = r.id;
    return sr.id;
}

}  // namespace

TEST_CASE("certification store: a version 2 database migrates to the current version and keeps its runs") {
    test::TempDir dir;
    auto db = dir / "s.db";
    {
        sqlite3* h = nullptr;
        REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
        for (int i = 0; i < 2; ++i)
            REQUIRE(sqlite3_exec(h, std::string(schema::migrations()[i].sql).c_str(), nullptr, nullptr, nullptr) ==
                    SQLITE_OK);
        REQUIRE(sqlite3_exec(h,
                             "PRAGMA user_version = 2;"
                             "INSERT INTO runs (device_id, suite_id, status, started_at) "
                             "VALUES ('p1', 'receipt-printer', 'completed', '2026-11-01T10:00:00.000Z')",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(h);
    }
    auto store = Store::open(db);
    CHECK(store->version() == Store::schema_version);
    auto run = store->get_run(1);
    REQUIRE(run);
    CHECK(run->firmware.empty());
    CHECK(run->resumed == 0);
    CHECK_FALSE(run->certification_id);  // made outside any certification
    CHECK(store->integrity_check() == "ok");
    for (const char* table :
         {"certifications", "certification_permissions", "plan_items", "signoffs", "issues", "merchants", "phase_changes"}) {
        CAPTURE(table);
        CHECK(scalar(db, std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '") + table +
                             "'") == "1");
    }
}

TEST_CASE("certification store: a certification round-trips with its permissions, plan and intake") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db");
    auto c = make_cert();
    store->create_certification(c);
    CHECK(c.id > 0);
    auto got = store->get_certification(c.id);
    REQUIRE(got);
    CHECK(got->partner == "Acme");
    CHECK(got->integration == "Acme POS");
    CHECK(got->device_model == "TM-T88VI");
    CHECK(got->serial_number == "X5E1234");
    CHECK(got->firmware == "30.01");
    CHECK(got->device_id == "p1");
    CHECK(got->permissions == c.permissions);
    CHECK(got->capabilities == c.capabilities);
    CHECK(got->taken_in_by == "tom");
    CHECK(got->phase == Phase::intake);
    CHECK(got->created_at == at(0));
    CHECK(got->plan == c.plan);
    CHECK_FALSE(store->get_certification(c.id + 1));
    auto rec = store->read_certification(c.id);
    REQUIRE(rec);
    REQUIRE(rec->history.size() == 1);
    CHECK_FALSE(rec->history[0].from);
    CHECK(rec->history[0].to == Phase::intake);

    auto second = make_cert();
    store->create_certification(second);
    CHECK(store->certification_ids() == std::vector<std::int64_t>{second.id, c.id});
}

TEST_CASE("certification store: runs carry firmware and certification, and only the certification's results count") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db");
    auto c = make_cert();
    store->create_certification(c);
    std::int64_t run_id = 0;
    auto rid = add_result(*store, c.id, "PRN-001", Outcome::fail, &run_id);
    add_result(*store, std::nullopt, "PRN-001", Outcome::pass);  // not for the certification
    auto run = store->get_run(run_id);
    REQUIRE(run);
    CHECK(run->firmware == "30.01");
    CHECK(run->certification_id == c.id);
    auto rec = store->read_certification(c.id);
    REQUIRE(rec->results.size() == 1);
    CHECK(rec->results[0].result_id == rid);
    CHECK(rec->results[0].run_id == run_id);
    CHECK(rec->results[0].outcome == Outcome::fail);
    CHECK(rec->results[0].reason == "paper out");
    CHECK(rec->results[0].firmware == "30.01");
    CHECK(rec->results[0].suite_id == "receipt-printer");
    // A run cannot name a certification that does not exist.
    Run orphan;
    orphan.device_id = "p1";
    orphan.suite_id = "s";
    orphan.started_at = at(0);
    orphan.certification_id = 999;
    CHECK_THROWS_AS(store->begin_run(orphan), StoreError);
}

TEST_CASE("certification store: failure issues are recorded once per run and scenario") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db");
    auto c = make_cert();
    store->create_certification(c);
    std::int64_t run_id = 0;
    auto rid = add_result(*store, c.id, "PRN-001", Outcome::fail, &run_id);
    Issue i;
    i.certification_id = c.id;
    i.title = "PRN-001 failed";
    i.source = IssueSource::failure;
    i.scenario_id = "PRN-001";
    i.run_id = run_id;
    i.scenario_result_id = rid;
    i.created_at = at(5);
    auto added = store->add_failure_issues({i});
    REQUIRE(added.size() == 1);
    CHECK(added[0].id > 0);
    CHECK(store->add_failure_issues({i, i}).empty());
    CHECK(store->read_certification(c.id)->issues.size() == 1);
    // Hand-written issues about the same scenario and run are not duplicates of it.
    auto manual = i;
    manual.source = IssueSource::manual;
    store->add_issue(manual);
    CHECK(store->read_certification(c.id)->issues.size() == 2);
}

TEST_CASE("certification store: certifying closes the scenario's failure issues, a rejection opens one") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db");
    auto c = make_cert();
    store->create_certification(c);
    std::int64_t run_id = 0;
    auto failed = add_result(*store, c.id, "PRN-001", Outcome::fail, &run_id);
    Issue fail_issue;
    fail_issue.certification_id = c.id;
    fail_issue.title = "PRN-001 failed";
    fail_issue.source = IssueSource::failure;
    fail_issue.scenario_id = "PRN-001";
    fail_issue.run_id = run_id;
    fail_issue.scenario_result_id = failed;
    auto added = store->add_failure_issues({fail_issue});
    REQUIRE(added.size() == 1);
    Issue other = fail_issue;  // a manual issue on the same scenario stays open
    other.source = IssueSource::manual;
    store->add_issue(other);

    auto passed = add_result(*store, c.id, "PRN-001", Outcome::pass);
    SignOff s{0, c.id, "PRN-001", Verdict::certified, "eve", "", at(10), passed};
    CHECK(store->record_signoff(s, nullptr, "resolved by run 2") == 1);
    CHECK(s.id > 0);
    auto rec = store->read_certification(c.id);
    REQUIRE(rec->signoffs.size() == 1);
    CHECK(rec->signoffs[0].by == "eve");
    CHECK(rec->signoffs[0].scenario_result_id == passed);
    REQUIRE(rec->issues.size() == 2);
    CHECK(rec->issues[0].status == IssueStatus::closed);
    CHECK(rec->issues[0].resolution == "resolved by run 2");
    CHECK(rec->issues[0].closed_at == at(10));
    CHECK(rec->issues[1].status == IssueStatus::open);

    SignOff r{0, c.id, "PRN-001", Verdict::rejected, "eve", "smudged", at(20), passed};
    Issue rejection;
    rejection.certification_id = c.id;
    rejection.title = "PRN-001 rejected";
    rejection.source = IssueSource::rejection;
    rejection.scenario_id = "PRN-001";
    rejection.created_at = at(20);
    CHECK(store->record_signoff(r, &rejection, {}) == 0);
    CHECK(rejection.id > 0);
    CHECK(store->read_certification(c.id)->issues.size() == 3);

    // The database refuses a verdict on a scenario the plan does not hold.
    SignOff stray{0, c.id, "PRN-999", Verdict::certified, "eve", "", at(30), passed};
    CHECK_THROWS_AS(store->record_signoff(stray, nullptr, {}), StoreError);
}

TEST_CASE("certification store: issues close once, merchants are unique, phases move only from where they are") {
    test::TempDir dir;
    auto db = dir / "s.db";
    auto store = Store::open(db);
    auto c = make_cert();
    store->create_certification(c);
    Issue i;
    i.certification_id = c.id;
    i.title = "drawer kick is weak";
    i.severity = Severity::critical;
    i.created_at = at(1);
    store->add_issue(i);
    CHECK(store->close_issue(c.id, i.id, "tom", "new solenoid", at(2)));
    CHECK_FALSE(store->close_issue(c.id, i.id, "tom", "again", at(3)));
    CHECK_FALSE(store->close_issue(c.id + 1, i.id, "tom", "wrong certification", at(3)));
    auto issue = store->read_certification(c.id)->issues.at(0);
    CHECK(issue.status == IssueStatus::closed);
    CHECK(issue.closed_by == "tom");
    CHECK(issue.severity == Severity::critical);

    Merchant m{0, c.id, "Joe's Diner", "Austin", "tom", at(4)};
    store->add_merchant(m);
    CHECK(m.id > 0);
    Merchant dup = m;
    CHECK_THROWS_AS(store->add_merchant(dup), StoreError);

    CHECK(store->change_phase({c.id, Phase::intake, Phase::lab, "certlab", "run 1 started", at(5)}));
    CHECK_FALSE(store->change_phase({c.id, Phase::intake, Phase::lab, "certlab", "again", at(6)}));
    auto rec = store->read_certification(c.id);
    CHECK(rec->cert.phase == Phase::lab);
    CHECK(rec->cert.phase_since == at(5));
    REQUIRE(rec->history.size() == 2);
    CHECK(rec->history[1].from == Phase::intake);
    CHECK(rec->history[1].note == "run 1 started");
    // The schema keeps phases and closed issues consistent for other writers too.
    CHECK(exec(db, "UPDATE certifications SET phase = 'released'") != SQLITE_OK);
    CHECK(exec(db, "UPDATE issues SET status = 'open'") != SQLITE_OK);  // closed_at is still set
}
