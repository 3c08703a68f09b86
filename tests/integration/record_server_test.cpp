// certlab-record-server (fixtures/record-server) over real HTTPS: auth, idempotency,
// order rules, contract validation, and every fault mode switched from its admin port.
#include <doctest/doctest.h>

#include <csignal>
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "record_server.hpp"
#include "support/http.hpp"
#include "support/https_client.hpp"
#include "support/pki.hpp"
#include "support/process.hpp"

namespace certlab::test {
namespace {

using json = nlohmann::json;

constexpr const char* token = record_token;

const std::string hash(64, 'a');

json certification_doc(std::int64_t id) {
    return {{"id", id},
            {"partner", "Acme Payments"},
            {"integration", "acme-pos"},
            {"device_model", "TM-T88VI"},
            {"serial_number", "X3Q0012345"},
            {"firmware", "30.12"},
            {"device", "printer-1"},
            {"permissions", {"print.receipt"}},
            {"capabilities", {"print", "status"}},
            {"taken_in_by", "ana"},
            {"phase", "lab"},
            {"phase_since", "2026-11-29T10:00:00.000Z"},
            {"created_at", "2026-11-28T09:00:00.000Z"},
            {"plan", {{{"scenario", "PRN-003"}, {"suite", "printer-basic"}, {"title", "Paper out"},
                       {"permissions", {"print.receipt"}}, {"roles", json::array()}}}},
            {"merchants", json::array()},
            {"phases", {{{"from", nullptr}, {"to", "intake"}, {"by", "ana"}, {"note", ""}, {"at", "2026-11-28T09:00:00.000Z"}},
                        {{"from", "intake"}, {"to", "lab"}, {"by", "ana"}, {"note", "plan ok"}, {"at", "2026-11-29T10:00:00.000Z"}}}}};
}

json run_doc(std::int64_t id, const json& certification = nullptr) {
    return {{"id", id},
            {"certification", certification},
            {"device", "printer-1"},
            {"suite", "printer-basic"},
            {"suite_title", "Printer basics"},
            {"suite_hash", hash},
            {"status", "running"},
            {"outcome", nullptr},
            {"reason", ""},
            {"started_at", "2026-11-29T10:05:00.000Z"},
            {"ended_at", nullptr},
            {"scenarios_total", 3},
            {"resumed", 0},
            {"provenance", {{"certlab_version", "0.1.0"}, {"driver", "escpos 1.0"}, {"firmware", "30.12"},
                            {"roles", {{"psu", {{"device", "psu-1"}, {"driver", "scpi-psu 1.0"}, {"firmware", "2.1"}}}}}}}};
}

json scenario_doc(const std::string& scenario) {
    json step = {{"seq", 1}, {"iteration", 0}, {"index", 0}, {"phase", "main"}, {"attempt", 1}, {"retried", false},
                 {"kind", "call"}, {"action", "printer.status"}, {"role", "dut"},
                 {"args", json::object()}, {"values", {{"paper", {{"value", "ok"}}}, {"voltage", {{"value", 24.1}, {"unit", "V"}}}}},
                 {"outcome", "pass"}, {"reason", ""}, {"warning", ""}, {"started_at", "2026-11-29T10:05:01.000Z"},
                 {"duration_us", 1520},
                 {"measurements", {{{"name", "voltage"}, {"value", 24.1}, {"unit", "V"}, {"low", 23.0}, {"high", nullptr},
                                    {"within", true}, {"marginal", false}}}},
                 {"transcript", {{{"dir", "tx"}, {"offset_us", 0}, {"data", "EAQB"}},
                                 {{"dir", "rx"}, {"offset_us", 900}, {"data", "Fg=="}}}}};
    return {{"scenario", scenario}, {"result_id", 11}, {"title", "Paper out"}, {"outcome", "pass"}, {"reason", ""},
            {"iterations", 1}, {"iterations_planned", 1}, {"passed_iterations", 1},
            {"started_at", "2026-11-29T10:05:01.000Z"}, {"ended_at", "2026-11-29T10:05:02.000Z"}, {"stats", nullptr},
            {"steps", {step}},
            // "hello", with its real size and SHA-256.
            {"attachments", {{{"name", "receipt.txt"}, {"media_type", "text/plain"}, {"size", 5},
                              {"sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
                              {"content", "aGVsbG8="}}}}};
}

json signoff_doc(std::int64_t id) {
    return {{"id", id}, {"scenario", "PRN-003"}, {"verdict", "rejected"}, {"by", "eva"},
            {"feedback", "cutter jams"}, {"at", "2026-11-29T11:00:00.000Z"}, {"result_id", 11}};
}

json issue_doc(std::int64_t id, const std::string& status) {
    return {{"id", id}, {"title", "Cutter jams on PRN-003"}, {"next_steps", "partner ships firmware 30.13"},
            {"severity", "major"}, {"source", "rejection"}, {"scenario", "PRN-003"}, {"run", 42}, {"result_id", 11},
            {"status", status}, {"phase", "lab"}, {"raised_by", "eva"}, {"created_at", "2026-11-29T11:00:00.000Z"},
            {"closed_at", status == "closed" ? json("2026-11-30T08:00:00.000Z") : json(nullptr)},
            {"closed_by", status == "closed" ? "eva" : ""}, {"resolution", ""}};
}

const std::string run_42 = "/v1/stations/bench-3/runs/42";
const std::string cert_7 = "/v1/stations/bench-3/certifications/7";

void require_problem(const HttpsResponse& r, int status) {
    CHECK_MESSAGE(r.status == status, r.error << " " << r.body);
    CHECK(r.header("Content-Type") == "application/problem+json");
    const auto doc = json::parse(r.body);
    CHECK(doc["status"] == status);
    CHECK(doc["title"].is_string());
    CHECK(doc["type"].is_string());
}

TEST_CASE("record server: no token or a wrong one is refused with 401 and a Bearer challenge") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);

    auto none = server.client().request("PUT", run_42, run_doc(42).dump(), {{"Idempotency-Key", "k1"}});
    require_problem(none, 401);
    CHECK(none.header("WWW-Authenticate").rfind("Bearer", 0) == 0);

    auto wrong = server.client().request("PUT", run_42, run_doc(42).dump(),
                                         {{"Authorization", "Bearer not-the-token"}, {"Idempotency-Key", "k1"}});
    require_problem(wrong, 401);
    CHECK(wrong.header("WWW-Authenticate").find("invalid_token") != std::string::npos);

    // Either listed token is accepted; nothing was stored by the refusals.
    CHECK(server.items() == 0);
    auto other = server.client().request("GET", run_42, {}, {{"Authorization", "Bearer another-token"}});
    CHECK(other.status == 404);
    CHECK(server.log().find("not-the-token") == std::string::npos);
}

TEST_CASE("record server: the TLS certificate is verified by the client") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    {
        RecordServer server(dir, pki);
        auto untrusted = HttpsClient(server.port(), {pki.other_ca, "localhost", 5s}).request("GET", run_42);
        CHECK(untrusted.failure == HttpsFailure::tls);
        CHECK(untrusted.status == 0);
    }
    TempDir dir2;
    RecordServer expired(dir2, pki, true);
    auto r = expired.get(run_42);
    CHECK(r.failure == HttpsFailure::tls);
    CHECK_MESSAGE(r.error.find("expired") != std::string::npos, r.error);
}

TEST_CASE("record server: a replayed PUT answers the same and stores once") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);

    auto first = server.write("PUT", run_42, run_doc(42), "run-42-a");
    REQUIRE_MESSAGE(first.status == 201, first.error << first.body);
    CHECK(first.header("Idempotent-Replayed").empty());
    const auto stored = json::parse(first.body);
    CHECK(stored["key"] == "bench-3/run/42");
    CHECK(stored["kind"] == "run");
    CHECK(stored["revision"] == 1);
    CHECK(stored["item"] == run_doc(42));

    // Keys in another order are the same document: still a replay.
    auto again = server.write("PUT", run_42, json::parse(run_doc(42).dump()), "run-42-a");
    CHECK(again.status == 201);
    CHECK(again.header("Idempotent-Replayed") == "true");
    CHECK(again.body == first.body);
    CHECK(server.items() == 1);
    CHECK(server.admin("/stats")["replays"] == 1);

    json other = run_doc(42);
    other["status"] = "aborted";
    require_problem(server.write("PUT", run_42, other, "run-42-a"), 422);

    // The same state under a new key changes nothing; a new state is revision 2.
    auto same = server.write("PUT", run_42, run_doc(42), "run-42-b");
    CHECK(same.status == 200);
    CHECK(json::parse(same.body)["revision"] == 1);
    json done = run_doc(42);
    done["status"] = "completed";
    done["outcome"] = "pass";
    done["ended_at"] = "2026-11-29T10:09:00.000Z";
    auto changed = server.write("PUT", run_42, done, "run-42-c");
    CHECK(changed.status == 200);
    CHECK(json::parse(changed.body)["revision"] == 2);
    auto read = server.get(run_42);
    CHECK(read.status == 200);
    CHECK(json::parse(read.body)["item"] == done);
    CHECK(server.items() == 1);
}

TEST_CASE("record server: a scenario result before its run is refused with 409") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    const std::string target = run_42 + "/scenarios/PRN-003";

    auto early = server.write("PUT", target, scenario_doc("PRN-003"), "sc-1");
    require_problem(early, 409);
    CHECK(server.items() == 0);

    REQUIRE(server.write("PUT", run_42, run_doc(42), "run-1").status == 201);
    // The refusal did not consume the key: the retry is stored, not replayed.
    auto retry = server.write("PUT", target, scenario_doc("PRN-003"), "sc-1");
    CHECK(retry.status == 201);
    CHECK(retry.header("Idempotent-Replayed").empty());
    auto list = server.get(run_42 + "/scenarios");
    REQUIRE(list.status == 200);
    const auto items = json::parse(list.body)["items"];
    REQUIRE(items.size() == 1);
    CHECK(items[0]["key"] == "bench-3/run/42/scenario/PRN-003");
    CHECK(items[0]["item"] == scenario_doc("PRN-003"));

    // A run that names a certification the record has not seen waits for it too.
    require_problem(server.write("PUT", "/v1/stations/bench-3/runs/43", run_doc(43, 7), "run-43"), 409);
}

TEST_CASE("record server: malformed and schema-violating bodies are refused with problem details") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    const std::string auth = std::string("Bearer ") + token;

    auto not_json = server.client().request("PUT", run_42, "{\"id\": 42,", {{"Authorization", auth}, {"Idempotency-Key", "x1"}});
    require_problem(not_json, 400);

    auto no_key = server.client().request("PUT", run_42, run_doc(42).dump(), {{"Authorization", auth}});
    require_problem(no_key, 400);
    CHECK(json::parse(no_key.body)["detail"].get<std::string>().find("Idempotency-Key") != std::string::npos);

    json bad = run_doc(42);
    bad.erase("suite");
    bad["scenarios_total"] = "three";
    bad["colour"] = "blue";
    bad["provenance"]["roles"]["psu"].erase("device");
    auto violating = server.write("PUT", run_42, bad, "x2");
    require_problem(violating, 422);
    const auto errors = json::parse(violating.body)["errors"];
    REQUIRE(errors.is_array());
    const std::string all = errors.dump();
    CHECK(all.find("$: missing required field \\\"suite\\\"") != std::string::npos);
    CHECK(all.find("$.scenarios_total: expected integer") != std::string::npos);
    CHECK(all.find("$.colour: unknown field") != std::string::npos);
    CHECK(all.find("$.provenance.roles.psu: missing required field") != std::string::npos);

    require_problem(server.write("PUT", run_42, run_doc(41), "x3"), 422);  // body id is not the path's
    json wrong_digest = scenario_doc("PRN-003");
    wrong_digest["attachments"][0]["content"] = "aGVsbG8h";  // "hello!": size and digest no longer match
    REQUIRE(server.write("PUT", run_42, run_doc(42), "x4").status == 201);
    require_problem(server.write("PUT", run_42 + "/scenarios/PRN-003", wrong_digest, "x5"), 422);
    json bad_base64 = scenario_doc("PRN-003");
    bad_base64["steps"][0]["transcript"][0]["data"] = "EAQ";
    require_problem(server.write("PUT", run_42 + "/scenarios/PRN-003", bad_base64, "x6"), 422);
    CHECK(server.items() == 1);
}

TEST_CASE("record server: sign-offs and issues need their certification and are recorded once") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);

    require_problem(server.write("POST", cert_7 + "/sign-offs", signoff_doc(3), "so-3"), 409);
    REQUIRE(server.write("PUT", cert_7, certification_doc(7), "cert-7").status == 201);
    auto signoff = server.write("POST", cert_7 + "/sign-offs", signoff_doc(3), "so-3");
    CHECK(signoff.status == 201);
    CHECK(server.write("POST", cert_7 + "/sign-offs", signoff_doc(3), "so-3").header("Idempotent-Replayed") == "true");
    // The same sign-off under another key would be a duplicate: refused.
    require_problem(server.write("POST", cert_7 + "/sign-offs", signoff_doc(3), "so-3-again"), 409);

    CHECK(server.write("POST", cert_7 + "/issues", issue_doc(5, "open"), "issue-5-open").status == 201);
    auto closed = server.write("POST", cert_7 + "/issues", issue_doc(5, "closed"), "issue-5-closed");
    CHECK(closed.status == 201);
    CHECK(json::parse(closed.body)["revision"] == 2);
    const auto issues = json::parse(server.get(cert_7 + "/issues").body)["items"];
    REQUIRE(issues.size() == 1);
    CHECK(issues[0]["item"]["status"] == "closed");
    CHECK(json::parse(server.get(cert_7 + "/sign-offs").body)["items"].size() == 1);

    const auto items = server.admin("/items")["items"];
    REQUIRE(items.size() == 3);
    CHECK(items[0]["key"] == "bench-3/certification/7");
    CHECK(items[1]["key"] == "bench-3/certification/7/issue/5");
    CHECK(items[2]["key"] == "bench-3/certification/7/sign-off/3");
}

TEST_CASE("record server: 5xx answers 503 without storing, and count ends the fault") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    server.fault({{"mode", "5xx"}, {"count", 2}});
    require_problem(server.write("PUT", run_42, run_doc(42), "k"), 503);
    require_problem(server.write("PUT", run_42, run_doc(42), "k"), 503);
    CHECK(server.items() == 0);
    CHECK(server.admin("/faults")["mode"] == "none");
    auto ok = server.write("PUT", run_42, run_doc(42), "k");
    CHECK(ok.status == 201);
    CHECK(ok.header("Idempotent-Replayed").empty());
    const auto stats = server.admin("/stats");
    CHECK(stats["by_status"]["503"] == 2);
    CHECK(stats["faults"]["5xx"] == 2);

    // Probability 0: the mode is set but hits nothing.
    server.fault({{"mode", "5xx"}, {"probability", 0.0}});
    CHECK(server.write("PUT", run_42, run_doc(42), "k2").status == 200);
}

TEST_CASE("record server: ack_lost stores the write, drops the answer, and the retry replays") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    server.fault({{"mode", "ack_lost"}, {"count", 1}});
    auto lost = server.write("PUT", run_42, run_doc(42), "k");
    CHECK(lost.status == 0);
    CHECK_MESSAGE(lost.failure == HttpsFailure::reset, lost.error);
    CHECK(server.items() == 1);
    auto retry = server.write("PUT", run_42, run_doc(42), "k");
    CHECK(retry.status == 201);
    CHECK(retry.header("Idempotent-Replayed") == "true");
    CHECK(server.items() == 1);
    CHECK(json::parse(retry.body)["revision"] == 1);
}

TEST_CASE("record server: an answer lost to a crash is replayed after a restart") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    {
        RecordServer server(dir, pki);
        server.fault({{"mode", "ack_lost"}});
        CHECK(server.write("PUT", run_42, run_doc(42), "k").failure == HttpsFailure::reset);
        server.kill();
    }
    RecordServer again(dir, pki);  // the same database file
    CHECK(again.admin("/faults")["mode"] == "none");
    auto retry = again.write("PUT", run_42, run_doc(42), "k");
    CHECK(retry.status == 201);
    CHECK(retry.header("Idempotent-Replayed") == "true");
    CHECK(again.items() == 1);
}

TEST_CASE("record server: reset drops the connection before anything is stored") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    server.fault({{"mode", "reset"}, {"count", 1}});
    auto r = server.write("PUT", run_42, run_doc(42), "k");
    CHECK(r.status == 0);
    CHECK_MESSAGE(r.failure == HttpsFailure::reset, r.error);
    CHECK(server.items() == 0);
    auto retry = server.write("PUT", run_42, run_doc(42), "k");
    CHECK(retry.status == 201);
    CHECK(retry.header("Idempotent-Replayed").empty());
}

TEST_CASE("record server: timeout never answers and slow answers late") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    server.fault({{"mode", "timeout"}, {"count", 1}});
    auto r = server.write("PUT", run_42, run_doc(42), "k", 700ms);
    CHECK(r.status == 0);
    CHECK_MESSAGE(r.failure == HttpsFailure::timeout, r.error);
    CHECK(server.items() == 0);

    server.fault({{"mode", "slow"}, {"delay_ms", 400}, {"count", 1}});
    const auto start = std::chrono::steady_clock::now();
    auto late = server.write("PUT", run_42, run_doc(42), "k");
    CHECK(late.status == 201);
    // The answer cannot come before the injected delay (a lower bound, not a speed check).
    CHECK(std::chrono::steady_clock::now() - start >= 400ms);
    CHECK(server.admin("/stats")["faults"]["slow"] == 1);
}

TEST_CASE("record server: down refuses connections until the mode changes") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer server(dir, pki);
    REQUIRE(server.write("PUT", run_42, run_doc(42), "k1").status == 201);
    server.fault({{"mode", "down"}});
    auto r = server.write("PUT", run_42, run_doc(42), "k2");
    CHECK(r.status == 0);
    CHECK_MESSAGE(r.failure == HttpsFailure::refused, r.error);
    server.fault({{"mode", "none"}});
    auto back = server.write("PUT", run_42, run_doc(42), "k2");
    CHECK(back.status == 200);
    CHECK(server.items() == 1);
}

}  // namespace
}  // namespace certlab::test
