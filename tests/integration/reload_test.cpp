// Reloading the configuration of a running certlabd: SIGHUP and POST /v1/reload.
// A good config is applied (devices, suites, log level) without disturbing runs in
// flight; a bad one is refused with file:line:column and the old one keeps running.
#include <doctest/doctest.h>

#include <csignal>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

/// A suite of one quick scenario, for "a suite added by a reload runs".
const char* quick_suite = R"(suite: quick-status
title: Quick status
requires: [printer]
scenarios:
  - id: QS-001
    title: Printer reports online
    steps:
      - call: printer.status
        expect:
          online: true
)";

std::vector<std::string> device_ids(const Daemon& d) {
    std::vector<std::string> ids;
    const auto doc = d.get("/v1/devices");  // kept: a range-for over a temporary's member dangles
    for (const auto& dev : doc["devices"]) ids.push_back(dev["id"]);
    return ids;
}

bool has(const std::vector<std::string>& list, const std::string& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
}

/// Sends SIGHUP and waits until the log has one more line containing `marker`.
bool hangup_and_wait(Daemon& d, const std::string& marker) {
    auto count = [&] {
        auto log = d.log();
        std::size_t n = 0;
        for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) ++n;
        return n;
    };
    const auto before = count();
    d.process().signal(SIGHUP);
    return wait_until([&] { return count() > before; }, 10s);
}

}  // namespace

TEST_CASE("reload: SIGHUP adds a device, a broken config is refused with file:line:column and the old one stays") {
    TempDir dir;
    auto p1 = start_printer(Link::tcp);
    auto p2 = start_printer(Link::tcp);
    auto db = dir / "store.db";
    const auto one = station_yaml({{"p1", p1.address, ""}}, db);
    Daemon d(dir, one);
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());

    write_file(dir / "station.yaml", station_yaml({{"p1", p1.address, ""}, {"p2", p2.address, ""}}, db));
    REQUIRE_MESSAGE(hangup_and_wait(d, "reloaded "), d.log());
    CHECK(d.log().find("device p2 added") != std::string::npos);
    CHECK(d.wait_for_state({"p1", "p2"}, "ready"));

    // Broken: a device with a profile that does not exist (line 22, column 14).
    auto broken = station_yaml({{"p1", p1.address, ""}, {"p2", p2.address, ""}}, db) +
                  "  - id: p3\n    profile: no-such-profile\n    address: tcp:127.0.0.1:1\n";
    write_file(dir / "station.yaml", broken);
    const auto file = (dir / "station.yaml").string();
    REQUIRE_MESSAGE(hangup_and_wait(d, "reload refused"), d.log());
    auto log = d.log();
    INFO(log);
    CHECK(log.find(file + ":22:14: profile: expected a profile") != std::string::npos);
    CHECK(d.process().running());
    CHECK(http_get(d.port(), "/v1/health").status == 200);
    auto ids = device_ids(d);
    CHECK(ids.size() == 2);
    CHECK(has(ids, "p1"));
    CHECK(has(ids, "p2"));

    // YAML that does not even parse is refused the same way.
    write_file(dir / "station.yaml", one + "api: [\n");
    REQUIRE(hangup_and_wait(d, "reload refused"));
    CHECK(d.process().running());
    CHECK(device_ids(d).size() == 2);

    // Removing a device (idle) takes it away.
    write_file(dir / "station.yaml", one);
    REQUIRE(hangup_and_wait(d, "reloaded "));
    CHECK(d.log().find("device p2 removed") != std::string::npos);
    CHECK(device_ids(d) == std::vector<std::string>{"p1"});
    // And the daemon still runs suites on what is left.
    auto run = d.wait_for_run(d.start_run("p1", "receipt-printer"));
    CHECK(run["run"]["outcome"] == "pass");
}

TEST_CASE("reload: a run in flight during reloads completes normally, its device removed only after it") {
    TempDir dir;
    auto p1 = start_printer(Link::tcp);
    auto db = dir / "store.db";
    auto suites = dir / "suites";
    std::filesystem::create_directories(suites);
    std::filesystem::copy_file(source("lab-config/suites/receipt-printer.yaml"), suites / "receipt-printer.yaml");
    const auto with_p1 = station_yaml({{"p1", p1.address, ""}}, db, suites);
    Daemon d(dir, with_p1);
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());

    // The receipt-printer suite runs for seconds (a 200-iteration endurance scenario).
    auto id = d.start_run("p1", "receipt-printer");
    REQUIRE(id > 0);
    REQUIRE(wait_until([&] { return d.get("/v1/runs/" + std::to_string(id) + "?steps=0")["run"]["status"] == "running"; }, 10s));

    // The suite the run executes changes and a new one comes; the run's device goes.
    write_file(suites / "receipt-printer.yaml",
                     read_file(source("lab-config/suites/receipt-printer.yaml")) + "\n# edited while it runs\n");
    write_file(suites / "quick-status.yaml", quick_suite);
    write_file(dir / "station.yaml", station_yaml({}, db, suites));
    REQUIRE_MESSAGE(hangup_and_wait(d, "reloaded "), d.log());
    auto log = d.log();
    INFO(log);
    CHECK(log.find("device p1 removed but run " + std::to_string(id) + " uses it") != std::string::npos);
    CHECK(log.find("suite receipt-printer changed") != std::string::npos);
    CHECK(log.find("suite quick-status added") != std::string::npos);
    CHECK(has(device_ids(d), "p1"));

    auto run = d.wait_for_run(id);
    INFO(run.dump(2).substr(0, 3000));
    CHECK(run["run"]["status"] == "completed");
    CHECK(run["run"]["outcome"] == "pass");
    for (const auto& s : run["scenarios"]) CHECK(s["outcome"] == "pass");

    // After the run, the new suite runs on the device (still declared by the config
    // that kept it); the next reload removes it.
    auto quick = d.wait_for_run(d.start_run("p1", "quick-status"));
    CHECK(quick["run"]["outcome"] == "pass");
    REQUIRE(hangup_and_wait(d, "reloaded "));
    CHECK(d.log().find("device p1 removed\n") != std::string::npos);
    CHECK(device_ids(d).empty());
}

TEST_CASE("reload: POST /v1/reload answers what changed, or 422 with the config errors") {
    TempDir dir;
    auto db = dir / "store.db";
    const auto base = station_yaml({}, db);
    Daemon d(dir, base);

    auto r = http("POST", d.port(), "/v1/reload");
    REQUIRE(r.status == 200);
    auto body = json::parse(r.body);
    CHECK(body["reloaded"] == true);
    CHECK(body["changes"].empty());

    // A log level change applies at once: debug lines stop after it.
    write_file(dir / "station.yaml", base + "log:\n  level: warn\n");
    r = http("POST", d.port(), "/v1/reload");
    REQUIRE(r.status == 200);
    body = json::parse(r.body);
    // --log-level debug (the harness's) wins over the file: no change to report.
    CHECK(body["changes"].empty());

    write_file(dir / "station.yaml", base + "station:\n  id: [x\n");
    r = http("POST", d.port(), "/v1/reload");
    CHECK(r.status == 422);
    CHECK(r.content_type == "application/problem+json");
    body = json::parse(r.body);
    REQUIRE(body["errors"].size() == 1);
    CHECK(body["errors"][0].get<std::string>().rfind((dir / "station.yaml").string() + ":", 0) == 0);
    CHECK(body["detail"] == body["errors"][0]);
    CHECK(http_get(d.port(), "/v1/health").status == 200);
}

TEST_CASE("reload: log.level from the file applies to every logger at once") {
    TempDir dir;
    auto p1 = start_printer(Link::tcp);
    auto db = dir / "store.db";
    auto yaml = station_yaml({{"p1", p1.address, ""}}, db);
    write_file(dir / "station.yaml", yaml + "log:\n  level: debug\n");
    // Without --log-level, so the file's level counts: the harness's Daemon passes one.
    auto log_file = dir / "certlabd.log";
    auto port_file = dir / "api.port";
    auto p = Process::start({bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0",
                             "--port-file", port_file.string()},
                            log_file);
    REQUIRE_MESSAGE(wait_until([&] { return std::filesystem::exists(port_file); }, 10s), read_file(log_file));
    const auto port = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));
    // A device logs at debug while it comes up (its own logger, made before the reload).
    REQUIRE(wait_until([&] { return read_file(log_file).find(" device.p1 debug: ") != std::string::npos; }, 10s));

    write_file(dir / "station.yaml", yaml + "log:\n  level: warn\n");
    auto r = http("POST", port, "/v1/reload");
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body)["changes"] == json::array({"log level warn"}));
    const auto size = read_file(log_file).size();
    // Debug and info lines of the device and the API stop; a run would log plenty.
    auto run = http("POST", port, "/v1/runs", R"({"device":"p1","suite":"receipt-printer"})");
    REQUIRE(run.status == 202);
    REQUIRE(wait_until([&] { return http_get(port, "/v1/runs/1?steps=0").body.find("\"completed\"") != std::string::npos; }, 60s));
    auto after = read_file(log_file).substr(size);
    INFO(after);
    CHECK(after.find(" debug: ") == std::string::npos);
    CHECK(after.find(" info: ") == std::string::npos);
    p.signal(SIGTERM);
    CHECK(p.wait(20s).has_value());
}
