// The uploader against the reference record server (fixtures/record-server) over
// real HTTPS: nothing lost and nothing twice through every fault mode, an outage and
// a SIGKILL; credential and certificate problems reported, the outbox kept, and
// recovery once they are fixed.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <csignal>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "record_server.hpp"
#include "support/pki.hpp"

using namespace certlab::test;
using json = nlohmann::json;

namespace {

/// A suite of one status soak: `iterations` x (status, short wait) = 2 x iterations steps.
void write_soak_suite(const std::filesystem::path& dir, int iterations) {
    std::filesystem::create_directories(dir);
    write_file(dir / "upload-soak.yaml",
               "suite: upload-soak\n"
               "title: Upload soak\n"
               "version: \"1.0\"\n"
               "requires: [printer]\n"
               "defaults:\n"
               "  step_timeout: 5s\n"
               "scenarios:\n"
               "  - id: UP-001\n"
               "    title: Status and a pause\n"
               "    iterations: " + std::to_string(iterations) + "\n"
               "    timeout: 10min\n"
               "    steps:\n"
               "      - call: printer.status\n"
               "        expect: { online: true }\n"
               "      - wait: 4ms\n");
}

void write_token(const std::filesystem::path& file, const std::string& token, mode_t mode = 0600) {
    write_file(file, token + "\n");
    REQUIRE(::chmod(file.c_str(), mode) == 0);
}

/// station.yaml with one printer and `upload:` to the record at `port`.
std::string upload_yaml(const TempDir& dir, const Sim& sim, std::uint16_t port, const std::filesystem::path& ca,
                        const std::filesystem::path& suites = {}) {
    auto yaml = station_yaml({{"p", sim.address, ""}}, dir / "store.db", suites.empty() ? dir / "suites" : suites);
    yaml += "upload:\n  url: https://localhost:" + std::to_string(port) + "\n";
    yaml += "  ca: " + ca.string() + "\n";
    yaml += "  token_file: " + (dir / "record-token").string() + "\n";
    yaml += "  timeout: 1s\n  backoff: { initial: 50ms, max: 500ms }\n";
    return yaml;
}

std::int64_t pending(const Daemon& d) { return d.get("/v1/upload")["pending"].get<std::int64_t>(); }

/// Waits until the outbox is empty; fails with the uploader's state otherwise.
void wait_drained(const Daemon& d, std::chrono::milliseconds timeout) {
    const bool drained = wait_until([&] { return pending(d) == 0; }, timeout);
    REQUIRE_MESSAGE(drained, "outbox not drained: " << d.get("/v1/upload").dump());
}

/// The record's items by key.
std::map<std::string, json> record_items(const RecordServer& record) {
    std::map<std::string, json> out;
    const auto doc = record.admin("/items");  // kept: a range-for over a temporary's member would dangle
    for (const auto& i : doc["items"]) out[i["key"].get<std::string>()] = i;
    return out;
}

/// Sets a fault for `count` requests and waits until the record has applied it that often.
void fault_until_hit(const RecordServer& record, const std::string& mode, int count, json extra = json::object()) {
    const auto before = record.admin("/stats")["faults"].value(mode, 0);
    json doc = {{"mode", mode}, {"count", count}};
    doc.update(extra);
    record.fault(doc);
    const bool hit = wait_until([&] { return record.admin("/stats")["faults"].value(mode, 0) >= before + count; }, 30s);
    CHECK_MESSAGE(hit, "the uploader never met fault " << mode << ": " << record.admin("/stats").dump());
}

/// Every run, scenario result and step of the store is in the record once, as stored.
void check_record_matches_store(const std::filesystem::path& db, const RecordServer& record) {
    const auto items = record_items(record);
    const std::string station = "test-bench";
    std::size_t expected = 0;
    for (const auto& r : sql_rows(db, "SELECT id, status, outcome, ended_at FROM runs ORDER BY id")) {
        const std::string key = station + "/run/" + r[0];
        ++expected;
        REQUIRE_MESSAGE(items.count(key), key << " is not in the record of " << items.size() << " items, first "
                                              << (items.empty() ? std::string() : items.begin()->first));
        const auto& run = items.at(key)["item"];
        CHECK(run["status"] == r[1]);
        CHECK(run["outcome"] == (r[2].empty() ? json(nullptr) : json(r[2])));
        CHECK(run["ended_at"] == (r[3].empty() ? json(nullptr) : json(r[3])));
    }
    for (const auto& s : sql_rows(db, "SELECT run_id, scenario_id, id, outcome, iterations, passed_iterations "
                                      "FROM scenario_results ORDER BY id")) {
        const std::string key = station + "/run/" + s[0] + "/scenario/" + s[1];
        ++expected;
        REQUIRE_MESSAGE(items.count(key), key << " is not in the record");
        const auto& sc = items.at(key)["item"];
        CHECK(sc["result_id"] == std::stoll(s[2]));
        CHECK(sc["outcome"] == (s[3].empty() ? json(nullptr) : json(s[3])));
        CHECK(sc["iterations"] == std::stoll(s[4]));
        CHECK(sc["passed_iterations"] == std::stoll(s[5]));
    }
    std::size_t steps = 0;
    std::size_t mismatches = 0;
    for (const auto& st : sql_rows(db, "SELECT run_id, seq, scenario_result_id, iteration, action, outcome, reason, "
                                       "started_at, duration_us, json_array_length(transcript) "
                                       "FROM step_results ORDER BY run_id, seq")) {
        const std::string key = station + "/run/" + st[0] + "/step/" + st[1];
        ++steps;
        auto it = items.find(key);
        if (it == items.end()) {
            ++mismatches;
            FAIL_CHECK(key << " is not in the record");
            continue;
        }
        // One document per step: a retry was recognised, never stored as a second version.
        const auto& item = it->second;
        const auto& step = item["item"]["step"];
        const bool same = item["kind"] == "step" && item["revision"] == 1 &&
                          item["item"]["result_id"] == std::stoll(st[2]) && step["seq"] == std::stoll(st[1]) &&
                          step["iteration"] == std::stoll(st[3]) && step["action"] == st[4] &&
                          step["outcome"] == st[5] && step["reason"] == st[6] && step["started_at"] == st[7] &&
                          step["duration_us"] == std::stoll(st[8]) &&
                          step["transcript"].size() == std::stoul(st[9]);
        if (!same) {
            ++mismatches;
            FAIL_CHECK(key << " differs: store " << st[5] << " " << st[7] << " " << st[8] << "; record " << item.dump());
        }
    }
    CHECK(mismatches == 0);
    expected += steps;
    // Certifications, sign-offs and issues are compared by the test that makes them.
    for (const char* table : {"certifications", "signoffs", "issues"})
        expected += std::stoul(sql_value(db, std::string("SELECT count(*) FROM ") + table));
    // Nothing in the record that the store does not have.
    CHECK(items.size() == expected);
    CHECK(record.admin("/stats")["items"].value("step", 0) == static_cast<std::int64_t>(steps));
}

}  // namespace

TEST_CASE("upload: a 1000-step soak reaches the record exactly once through every fault, an outage and a SIGKILL") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer record(dir, pki);
    write_token(dir / "record-token", record_token);
    write_soak_suite(dir / "suites", 500);
    auto sim = start_printer(Link::pty);
    const auto yaml = upload_yaml(dir, sim, record.port(), pki.ca);
    const auto db = dir / "store.db";

    std::int64_t run_id = 0;
    {
        Daemon d(dir, yaml);
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
        run_id = d.start_run("p", "upload-soak");
        REQUIRE(run_id > 0);
        REQUIRE_MESSAGE(wait_until([&] { return record.items() >= 30; }, 30s), d.log());
        // Mid-upload: the record holds the next request for a second (and then stores
        // it) while the daemon is killed; the restarted daemon re-sends it.
        record.fault({{"mode", "slow"}, {"delay_ms", 1000}, {"count", 1}});
        std::this_thread::sleep_for(300ms);
        d.process().signal(SIGKILL);
        REQUIRE(d.process().wait(5s).has_value());
    }
    CHECK(std::stoll(sql_value(db, "SELECT count(*) FROM outbox")) > 0);
    // The request in flight (and the rest of its batch) was frozen: the restart sends
    // the same bytes under the same keys.
    CHECK(std::stoll(sql_value(db, "SELECT count(*) FROM outbox WHERE idem_key IS NOT NULL")) >= 1);
    // Let the slow answer land on the dead socket: the write is in the record, the ack lost.
    std::this_thread::sleep_for(1s);

    Daemon d(dir, yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    // Every fault mode while the resumed soak runs and its results upload.
    fault_until_hit(record, "5xx", 3);
    fault_until_hit(record, "reset", 3);
    fault_until_hit(record, "ack_lost", 3);
    fault_until_hit(record, "slow", 2, {{"delay_ms", 300}});
    fault_until_hit(record, "timeout", 1);
    // Down for a stretch: connections refused; the outbox only grows meanwhile.
    record.fault({{"mode", "down"}});
    std::this_thread::sleep_for(2s);
    auto during = d.get("/v1/upload");
    CHECK(during["state"] != "idle");
    CHECK(during["consecutive_failures"].get<int>() > 0);
    record.fault({{"mode", "none"}});

    auto run = d.wait_for_run(run_id, 120s);
    // Resumed to its end; an iteration the kill cut is an `error` of the station's, so
    // the outcome depends on where the kill fell and is not what this test is about.
    CHECK(run["run"]["status"] == "completed");
    CHECK(run["run"]["resumed"] == 1);
    wait_drained(d, 120s);
    CHECK(sql_value(db, "SELECT count(*) FROM outbox") == "0");
    CHECK(std::stoll(sql_value(db, "SELECT count(*) FROM step_results WHERE run_id = " + std::to_string(run_id))) >=
          1000);
    check_record_matches_store(db, record);
    // Each write whose answer was lost came back as a replay, not a second item.
    CHECK(record.admin("/stats")["replays"].get<int>() >= 3);
    const auto status = d.get("/v1/upload");
    CHECK(status["errors"].get<int>() >= 9);
    CHECK(status["state"] == "idle");
    CHECK(status["last_success_at"].is_string());
    CHECK(d.log().find(record_token) == std::string::npos);
}

TEST_CASE("upload: a wrong CA, a bad token, a token file others can read and an expired certificate are reported and recovered from") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    auto record = std::make_unique<RecordServer>(dir, pki);
    const auto port = record->port();
    write_token(dir / "record-token", record_token);
    write_soak_suite(dir / "suites", 3);
    auto sim = start_printer(Link::pty);
    // The station trusts the CA file at this path; the test swaps what is in it.
    const auto ca = dir / "record-ca.pem";
    write_file(ca, read_file(pki.other_ca));
    Daemon d(dir, upload_yaml(dir, sim, port, ca));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());

    // Runs the suite, waits until the uploader reports an error containing `what`,
    // and checks that nothing of the run left the outbox meanwhile.
    auto run_and_expect_error = [&](const std::string& what) {
        const auto items = record->items();
        const auto id = d.start_run("p", "upload-soak");
        REQUIRE(id > 0);
        CHECK(d.wait_for_run(id, 30s)["run"]["outcome"] == "pass");
        const bool reported = wait_until(
            [&] { return d.get("/v1/upload")["last_error"].get<std::string>().find(what) != std::string::npos; }, 15s);
        const auto status = d.get("/v1/upload");
        CHECK_MESSAGE(reported, "expected an error with '" << what << "': " << status.dump());
        CHECK(status["state"] != "idle");
        // Run, scenario and 6 steps at least, all still there.
        CHECK(status["pending"].get<int>() >= 8);
        CHECK(status["oldest_pending_age_s"].is_number());
        CHECK(record->items() == items);
        CHECK_MESSAGE(d.log().find(what) != std::string::npos, d.log());
        // And at the bench: `certlab status` says what is failing.
        const auto cli_status = cli(d, {"status"});
        CHECK(cli_status.status == 0);
        CHECK_MESSAGE(cli_status.out.find("failing since") != std::string::npos, cli_status.out);
        CHECK(cli_status.out.find(what) != std::string::npos);
    };

    {
        run_and_expect_error("certificate refused: unable to get local issuer certificate");
        write_file(ca, read_file(pki.ca));
        wait_drained(d, 20s);

        write_token(dir / "record-token", "not-the-record-token");
        run_and_expect_error("the record answered 401");
        write_token(dir / "record-token", record_token);
        wait_drained(d, 20s);

        write_token(dir / "record-token", record_token, 0644);
        run_and_expect_error("is readable by others (mode 0644)");
        REQUIRE(::chmod((dir / "record-token").c_str(), 0600) == 0);
        wait_drained(d, 20s);

        // The record comes back on its port with a certificate that has expired.
        record.reset();
        record = std::make_unique<RecordServer>(dir, pki, true, port);
        run_and_expect_error("certificate refused: certificate has expired");
        record.reset();
        record = std::make_unique<RecordServer>(dir, pki, false, port);
        wait_drained(d, 20s);

        check_record_matches_store(dir / "store.db", *record);
        CHECK(d.log().find(record_token) == std::string::npos);
        CHECK(d.log().find("not-the-record-token") == std::string::npos);
        CHECK(d.get("/v1/upload")["state"] == "idle");
        const auto cli_status = cli(d, {"status"});
        CHECK_MESSAGE(cli_status.out.find(": idle, 0 pending, ") != std::string::npos, cli_status.out);
    }
}

TEST_CASE("upload: a certification with its run, sign-offs and issues reaches the record, parents first") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    RecordServer record(dir, pki);
    write_token(dir / "record-token", record_token);
    auto sim = start_printer(Link::pty);
    Daemon d(dir, upload_yaml(dir, sim, record.port(), pki.ca, source("lab-config/suites")));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());

    auto intake = cli(d, {"intake", "--partner", "Acme", "--integration", "Acme POS", "--model", "CERTLAB-SIM-80",
                          "--serial", "SIM0001", "--firmware", "1.00", "--permission", "orders.print", "--device", "p",
                          "--by", "tom"});
    REQUIRE(intake.status == 0);
    const auto id = intake.out.substr(0, intake.out.find('\n'));
    auto run = cli(d, {"run", "start", "--device", "p", "--suite", "receipt-printer", "--certification", id, "--wait"});
    CHECK(run.status == 0);
    CHECK(cli(d, {"certify", id, "PRN-001", "--by", "eve"}).status == 0);
    CHECK(cli(d, {"reject", id, "PRN-002", "--feedback", "the identification string is truncated", "--by", "eve"})
              .status == 0);
    CHECK(cli(d, {"issue", "add", id, "--title", "Manual needs the DIP switch table", "--by", "tom"}).status == 0);
    wait_drained(d, 60s);

    const auto db = dir / "store.db";
    check_record_matches_store(db, record);
    const auto items = record_items(record);
    const std::string cert_key = "test-bench/certification/" + id;
    REQUIRE(items.count(cert_key));
    const auto& cert = items.at(cert_key)["item"];
    CHECK(cert["partner"] == "Acme");
    CHECK(cert["phase"] == sql_value(db, "SELECT phase FROM certifications WHERE id = " + id));
    CHECK(cert["plan"].size() == std::stoul(sql_value(db, "SELECT count(*) FROM plan_items WHERE certification_id = " + id)));
    CHECK(cert["phases"].size() ==
          std::stoul(sql_value(db, "SELECT count(*) FROM phase_changes WHERE certification_id = " + id)));
    for (const auto& so : sql_rows(db, "SELECT id, scenario_id, verdict, scenario_result_id FROM signoffs")) {
        const auto key = cert_key + "/sign-off/" + so[0];
        REQUIRE_MESSAGE(items.count(key), key);
        CHECK(items.at(key)["item"]["scenario"] == so[1]);
        CHECK(items.at(key)["item"]["verdict"] == so[2]);
        CHECK(items.at(key)["item"]["result_id"] == std::stoll(so[3]));
    }
    const auto issues = sql_rows(db, "SELECT id, title, status FROM issues");
    CHECK(issues.size() >= 2);  // the rejection's and the manual one, plus any failure
    for (const auto& is : issues) {
        const auto key = cert_key + "/issue/" + is[0];
        REQUIRE_MESSAGE(items.count(key), key);
        CHECK(items.at(key)["item"]["title"] == is[1]);
        CHECK(items.at(key)["item"]["status"] == is[2]);
    }
    const auto runs = sql_rows(db, "SELECT id FROM runs WHERE certification_id = " + id);
    REQUIRE(runs.size() == 1);
    CHECK(items.at("test-bench/run/" + runs[0][0])["item"]["certification"] == std::stoll(id));
    const auto stats = record.admin("/stats");
    CHECK(stats["items"]["certification"] == 1);
    CHECK(stats["items"]["sign_off"] == static_cast<std::int64_t>(
                                            std::stoll(sql_value(db, "SELECT count(*) FROM signoffs"))));
    // Nothing was refused for coming before its parent.
    CHECK(stats["by_status"].value("409", 0) == 0);
}
