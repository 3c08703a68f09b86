// The outbox (schema version 6) and the documents made from it, against a real
// SQLite file and the certification record's own contract.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contract.hpp"
#include "record/store.hpp"
#include "support/process.hpp"
#include "upload/documents.hpp"
#include "upload/record_client.hpp"

using namespace certlab;
using namespace certlab::record;

namespace {

constexpr std::int64_t t0_ms = 1'795'923'941'123;  // 2026-11-29T03:45:41.123Z
TimePoint at(std::int64_t offset_ms) { return TimePoint{std::chrono::milliseconds{t0_ms + offset_ms}}; }

Certification make_cert() {
    Certification c;
    c.partner = "Acme";
    c.integration = "Acme POS";
    c.device_model = "TM-T88VI";
    c.serial_number = "X5E1234";
    c.firmware = "30.01";
    c.device_id = "p1";
    c.permissions = {"orders.print"};
    c.capabilities = {"printer", "cash_drawer"};
    c.taken_in_by = "tom";
    c.created_at = c.phase_since = at(0);
    c.plan = {{"PRN-001", "receipt-printer", "Online", {"orders.print"}, {}}};
    return c;
}

Run make_run(std::optional<std::int64_t> cert) {
    Run r;
    r.device_id = "p1";
    r.suite_id = "receipt-printer";
    r.suite_title = "Receipt printer";
    r.suite_hash = std::string(64, 'b');
    r.driver = "escpos 1.0";
    r.certlab_version = "0.1.0";
    r.status = RunStatus::running;
    r.started_at = at(1000);
    r.firmware = "30.01";
    r.certification_id = cert;
    r.roles["psu"] = {"psu-1", "scpi-psu 1.0", "2.1"};
    return r;
}

StepResult make_step(const Run& r, const ScenarioResult& sr, std::int64_t seq) {
    StepResult s;
    s.run_id = r.id;
    s.scenario_result_id = sr.id;
    s.seq = seq;
    s.iteration = static_cast<int>(seq - 1);
    s.kind = "call";
    s.action = "printer.status";
    s.args["n"] = sdk::Value(std::int64_t{4});
    s.values["online"] = sdk::Value(true);
    s.values["voltage"] = sdk::Value(24.1, "V");
    s.values["flags"] = sdk::Value(std::vector<std::string>{"drawer", "cover"});
    s.values["nan"] = sdk::Value(std::nan(""), "V");
    s.started_at = at(1000 + seq);
    s.duration_us = 1500;
    s.transcript.tx(std::string("\x10\x04\x01", 3));
    s.transcript.rx(std::string("\x16\xff\x00", 3));
    s.measurements.push_back({"latency", 1.5, "ms", std::nullopt, 250.0, true, false});
    return s;
}

/// Every outbox row, oldest first, as "kind parent ref".
std::vector<std::string> rows(Store& s) {
    std::vector<std::string> out;
    // Walks the outbox by taking its head and removing it, as acknowledgements would.
    while (auto head = s.outbox_head()) {
        out.push_back(std::string(to_string(head->kind)) + " " + std::to_string(head->parent) + " " +
                      std::to_string(head->ref));
        s.outbox_done(head->id);
    }
    return out;
}

}  // namespace

TEST_CASE("outbox: every commit adds its row in order, and unsent changes of one item are coalesced") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    int pokes = 0;
    store->enable_outbox([&] { ++pokes; });

    auto cert = make_cert();
    store->create_certification(cert);
    auto run = make_run(cert.id);
    store->begin_run(run);
    ScenarioResult sr;
    sr.run_id = run.id;
    sr.scenario_id = "PRN-001";
    sr.title = "Online";
    sr.started_at = at(1000);
    store->begin_scenario(sr);
    for (std::int64_t seq = 1; seq <= 3; ++seq) {
        auto step = make_step(run, sr, seq);
        store->commit_step(step);
        sr.iterations = static_cast<int>(seq);
        store->update_scenario_progress(sr);  // coalesced into the scenario's pending row
    }
    sr.outcome = Outcome::pass;
    sr.ended_at = at(2000);
    store->end_scenario(sr);
    store->end_run(run.id, RunStatus::completed, Outcome::pass, "");
    CHECK(pokes > 0);
    CHECK(store->outbox_stats().pending == 6);

    const auto r = std::to_string(run.id);
    const auto c = std::to_string(cert.id);
    CHECK(rows(*store) == std::vector<std::string>{"certification 0 " + c, "run 0 " + r,
                                                   "scenario " + r + " " + std::to_string(sr.id), "step " + r + " 1",
                                                   "step " + r + " 2", "step " + r + " 3"});
    // Once a row is gone (sent), the next change of its item is a new row at the end.
    store->update_run_status(run.id, RunStatus::completed);
    CHECK(rows(*store) == std::vector<std::string>{"run 0 " + r});
    CHECK(store->outbox_stats().pending == 0);
}

TEST_CASE("outbox: a frozen row keeps its request, and a later change of the item queues behind it") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    store->enable_outbox({});
    auto run = make_run(std::nullopt);
    store->begin_run(run);
    auto head = store->outbox_head();
    REQUIRE(head);
    CHECK_FALSE(head->request);
    auto request = upload::build_request(*store, "bench-3", *head);
    REQUIRE(request);
    CHECK(store->outbox_freeze(*head, *request));
    CHECK_FALSE(store->outbox_freeze(*head, *request));  // once only

    store->end_run(run.id, RunStatus::completed, Outcome::pass, "");
    CHECK(store->outbox_stats().pending == 2);
    store->outbox_failed(head->id, "the record answered 503");
    auto again = store->outbox_head();
    REQUIRE(again);
    CHECK(again->id == head->id);
    CHECK(again->attempts == 1);
    CHECK(again->last_error == "the record answered 503");
    REQUIRE(again->request);
    CHECK(again->request->idempotency_key == request->idempotency_key);
    CHECK(again->request->body == request->body);
    CHECK(nlohmann::json::parse(again->request->body)["status"] == "running");
}

TEST_CASE("outbox: ids are never reused, so idempotency keys never repeat") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    store->enable_outbox({});
    auto run = make_run(std::nullopt);
    store->begin_run(run);
    auto first = store->outbox_head();
    REQUIRE(first);
    store->outbox_done(first->id);
    store->end_run(run.id, RunStatus::completed, Outcome::pass, "");
    auto second = store->outbox_head();
    REQUIRE(second);
    CHECK(second->id > first->id);
}

TEST_CASE("outbox: enabling it the first time puts the existing record in, parents first, once") {
    test::TempDir dir;
    std::int64_t run_id = 0;
    {
        auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
        auto cert = make_cert();
        store->create_certification(cert);
        auto run = make_run(cert.id);
        store->begin_run(run);
        run_id = run.id;
        ScenarioResult sr;
        sr.run_id = run.id;
        sr.scenario_id = "PRN-001";
        sr.started_at = at(1000);
        store->begin_scenario(sr);
        auto step = make_step(run, sr, 1);
        store->commit_step(step);
        SignOff so;
        so.certification_id = cert.id;
        so.scenario_id = "PRN-001";
        so.by = "eve";
        so.at = at(3000);
        so.scenario_result_id = sr.id;
        Issue issue;
        issue.certification_id = cert.id;
        issue.title = "Drawer kick too weak";
        issue.created_at = at(3000);
        store->add_issue(issue);
        (void)store->record_signoff(so, nullptr, "certified");
        CHECK(store->outbox_stats().pending == 0);  // not enabled: nothing queued
    }
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    store->enable_outbox({});
    auto kinds = rows(*store);
    REQUIRE(kinds.size() == 6);
    CHECK(kinds[0].rfind("certification ", 0) == 0);
    CHECK(kinds[1] == "run 0 " + std::to_string(run_id));
    CHECK(kinds[2].rfind("scenario ", 0) == 0);
    CHECK(kinds[3] == "step " + std::to_string(run_id) + " 1");
    CHECK(kinds[4].rfind("sign_off ", 0) == 0);
    CHECK(kinds[5].rfind("issue ", 0) == 0);
    // A second start does not queue the history again.
    store.reset();
    store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    store->enable_outbox({});
    CHECK(store->outbox_stats().pending == 0);
}

TEST_CASE("upload documents: every kind conforms to the certification record's contract") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    store->enable_outbox({});
    auto cert = make_cert();
    store->create_certification(cert);
    auto run = make_run(cert.id);
    store->begin_run(run);
    ScenarioResult sr;
    sr.run_id = run.id;
    sr.scenario_id = "PRN-001";
    sr.title = "Online";
    sr.started_at = at(1000);
    sr.iterations_planned = 2;
    store->begin_scenario(sr);
    for (std::int64_t seq = 1; seq <= 2; ++seq) {
        auto step = make_step(run, sr, seq);
        store->commit_step(step);
    }
    SoakStats stats;
    stats.iterations = 2;
    stats.passed = 2;
    stats.pass_rate = 1;
    stats.latency.push_back({"printer.status", 2, 1.5, 1.5, 1.5, 1.5});
    sr.stats = stats;
    sr.outcome = Outcome::fail;
    sr.reason = "paper out";
    sr.ended_at = at(2000);
    store->end_scenario(sr);
    store->end_run(run.id, RunStatus::completed, Outcome::fail, "PRN-001 failed");
    Issue issue;
    issue.certification_id = cert.id;
    issue.title = "Paper out not reported";
    issue.source = IssueSource::failure;
    issue.scenario_id = "PRN-001";
    issue.run_id = run.id;
    issue.scenario_result_id = sr.id;
    issue.created_at = at(2500);
    store->add_issue(issue);
    SignOff so;
    so.certification_id = cert.id;
    so.scenario_id = "PRN-001";
    so.verdict = Verdict::rejected;
    so.by = "eve";
    so.feedback = "fix the paper sensor";
    so.at = at(3000);
    so.scenario_result_id = sr.id;
    (void)store->record_signoff(so, nullptr, "");

    const auto& contract = record_server::Contract::builtin();
    std::map<std::string, int> seen;
    while (auto head = store->outbox_head()) {
        auto request = upload::build_request(*store, "bench-3", *head);
        REQUIRE(request);
        const std::string kind(to_string(head->kind));
        INFO(kind << " " << request->path << " " << request->body);
        const std::map<std::string, std::string> schema{{"certification", "Certification"}, {"run", "Run"},
                                                        {"scenario", "ScenarioResult"},   {"step", "RunStep"},
                                                        {"sign_off", "SignOff"},          {"issue", "Issue"}};
        auto doc = nlohmann::json::parse(request->body);
        CHECK(contract.validate(doc, schema.at(kind)) == std::vector<std::string>{});
        CHECK(request->path.rfind("/v1/stations/bench-3/", 0) == 0);
        CHECK(request->idempotency_key.find(std::to_string(head->id) + "." + kind + ".") == 0);
        if (kind == "step") {
            CHECK(request->path == "/v1/stations/bench-3/runs/" + std::to_string(run.id) + "/steps/" +
                                       std::to_string(head->ref));
            CHECK(doc["step"]["transcript"][0]["data"] == "EAQB");  // 10 04 01
            CHECK(doc["step"]["values"]["voltage"] == nlohmann::json({{"value", 24.1}, {"unit", "V"}}));
            CHECK(doc["step"]["values"]["nan"]["value"].is_null());
            CHECK(doc["scenario"] == "PRN-001");
        }
        if (kind == "sign_off") CHECK(request->method == "POST");
        ++seen[kind];
        store->outbox_done(head->id);
    }
    CHECK(seen == std::map<std::string, int>{{"certification", 1}, {"run", 1}, {"scenario", 1}, {"step", 2},
                                             {"sign_off", 1}, {"issue", 1}});
}

TEST_CASE("upload documents: an item gone from the store has no request") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    OutboxItem ghost;
    ghost.kind = OutboxKind::run;
    ghost.ref = 42;
    CHECK_FALSE(upload::build_request(*store, "bench-3", ghost));
    ghost.kind = OutboxKind::step;
    ghost.parent = 42;
    ghost.ref = 1;
    CHECK_FALSE(upload::build_request(*store, "bench-3", ghost));
}

TEST_CASE("upload documents: base64 is RFC 4648 with padding") {
    CHECK(upload::encode_base64("") == "");
    CHECK(upload::encode_base64("f") == "Zg==");
    CHECK(upload::encode_base64("fo") == "Zm8=");
    CHECK(upload::encode_base64("foo") == "Zm9v");
    CHECK(upload::encode_base64(std::string("\x00\xff\x10", 3)) == "AP8Q");
}

TEST_CASE("upload: the record token file is refused when others can read it, and read trimmed otherwise") {
    test::TempDir dir;
    auto file = dir / "record-token";
    test::write_file(file, "  s3cret-token \n# not this line\n");
    REQUIRE(::chmod(file.c_str(), 0644) == 0);
    try {
        (void)upload::read_record_token(file);
        FAIL("a token others can read was accepted");
    } catch (const upload::DeliveryError& e) {
        const std::string msg = e.what();
        CHECK(msg.find("readable by others (mode 0644)") != std::string::npos);
        CHECK(msg.find("s3cret") == std::string::npos);
    }
    REQUIRE(::chmod(file.c_str(), 0600) == 0);
    CHECK(upload::read_record_token(file) == "s3cret-token");
    CHECK_THROWS_AS((void)upload::read_record_token(dir / "missing"), upload::DeliveryError);
    test::write_file(file, "\n");
    REQUIRE(::chmod(file.c_str(), 0600) == 0);
    CHECK_THROWS_AS((void)upload::read_record_token(file), upload::DeliveryError);
}

TEST_CASE("outbox: a change between reading an item and freezing its row is not lost") {
    test::TempDir dir;
    auto store = Store::open(dir / "s.db", {.sync = Store::Sync::normal});
    store->enable_outbox({});
    auto run = make_run(std::nullopt);
    store->begin_run(run);
    auto head = store->outbox_head();
    REQUIRE(head);
    auto stale = upload::build_request(*store, "bench-3", *head);  // the run as it was: running
    REQUIRE(stale);
    // The run ends now: coalesced into the same pending row, which counts the change.
    store->end_run(run.id, RunStatus::completed, Outcome::pass, "");
    CHECK(store->outbox_stats().pending == 1);
    CHECK_FALSE(store->outbox_freeze(*head, *stale));  // refused: it would miss the end
    auto again = store->outbox_head();
    REQUIRE(again);
    CHECK(again->id == head->id);
    CHECK(again->changes == head->changes + 1);
    CHECK_FALSE(again->request);
    auto fresh = upload::build_request(*store, "bench-3", *again);
    REQUIRE(fresh);
    CHECK(store->outbox_freeze(*again, *fresh));
    CHECK(nlohmann::json::parse(store->outbox_head()->request->body)["status"] == "completed");
}
