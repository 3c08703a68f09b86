// The http family end to end: the kds-display profile defines its actions (requests,
// JSON body templates, JSON pointers); certlabd runs the kitchen-display suite through
// the generic http driver against certlab-sim kds, over plain TCP and over TLS with a
// CA the test makes, healthy and with injected faults.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "support/pki.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

const std::string quick = "    settings: { response_timeout: 400ms }\n";

SuiteRun run_kds(const TempDir& dir, const Sim& sim, const std::string& extra = quick) {
    return run_profiled_suite(dir, "kds-display", sim, "kitchen-display", extra);
}

/// The simulator's TCP address as a tls: address trusting `ca`.
Sim over_tls(Sim sim, const std::filesystem::path& ca, const std::string& server_name = "localhost") {
    REQUIRE(sim.address.rfind("tcp:", 0) == 0);
    sim.address = "tls:" + sim.address.substr(4) + "?ca=" + ca.string() + "&server_name=" + server_name;
    return sim;
}

Sim start_tls_kds(const Pki& pki, std::vector<std::string> options = {}) {
    options.insert(options.end(), {"--tls-cert", pki.server_cert.string(), "--tls-key", pki.server_key.string()});
    return start_sim("kds", Link::tcp, options);
}

const json* step_of(const json& run, const std::string& action) {
    for (const auto& s : run["steps"])
        if (s["action"] == action) return &s;
    return nullptr;
}

}  // namespace

TEST_CASE("http: kitchen-display suite passes over TCP, with typed values, units and the bytes sent") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--temperature", "38.5"});
    auto r = run_kds(dir, sim, "");
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "pass");
    CHECK(r.run["scenarios"].size() == 5);
    CHECK(r.first_bad_step.is_null());

    const json* status = step_of(r.run, "kds.status");
    REQUIRE(status);
    CHECK((*status)["values"]["temperature"]["value"] == 38.5);
    CHECK((*status)["values"]["temperature"]["unit"] == "°C");
    CHECK((*status)["values"]["brightness"]["value"] == 80);
    CHECK((*status)["values"]["brightness"]["unit"] == "%");
    CHECK((*status)["values"]["display_on"]["value"] == true);
    CHECK(step_transcript_has(*status, "tx", "GET /api/status HTTP/1.1"));
    CHECK(step_transcript_has(*status, "tx", "X-KDS-Client: certlab"));
    CHECK(step_transcript_has(*status, "rx", "HTTP/1.1 200 OK"));

    bool saw_full_order = false, saw_optional_left_out = false;
    for (const auto& step : r.run["steps"]) {
        if (step["action"] != "kds.show_order") continue;
        saw_full_order |= step_transcript_has(step, "tx", R"({"id":"A-1001","station":"grill","items":3})");
        saw_optional_left_out |= step_transcript_has(step, "tx", R"({"id":"R-1","station":"fry"})");
        CHECK(step_transcript_has(step, "rx", "HTTP/1.1 201 Created"));
    }
    CHECK(saw_full_order);
    CHECK(saw_optional_left_out);
    const json* bump = step_of(r.run, "kds.bump");
    REQUIRE(bump);
    CHECK(step_transcript_has(*bump, "tx", "POST /api/orders/A-1001/bump HTTP/1.1"));
}

TEST_CASE("http: identify reads the version endpoint through the profile's JSON pointers") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--serial", "KDS-0042", "--firmware", "5.0.3", "--model", "GRILL-22"});
    Daemon d(dir, station_yaml_profiled({{"kds-display", {"kds", sim.address, ""}}}, dir / "s.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"kds"}, "ready"), d.log());
    auto dev = d.get("/v1/devices")["devices"][0];
    CHECK(dev["driver"] == "http 1.0");
    CHECK(dev["identity"]["manufacturer"] == "CERTLAB");
    CHECK(dev["identity"]["model"] == "GRILL-22");
    CHECK(dev["identity"]["serial_number"] == "KDS-0042");
    CHECK(dev["identity"]["firmware"] == "5.0.3");
}

TEST_CASE("http: the suite passes over TLS, verified against a CA the test made") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    auto sim = over_tls(start_tls_kds(pki, {"--serial", "KDS-TLS-1"}), pki.ca);
    auto r = run_kds(dir, sim, "");
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "pass");
    CHECK(r.run["scenarios"].size() == 5);
    const json* status = step_of(r.run, "kds.status");
    REQUIRE(status);
    // The transcript shows the plaintext: TLS is the transport's business.
    CHECK(step_transcript_has(*status, "tx", "GET /api/status HTTP/1.1<0D><0A>Host: localhost:"));
    CHECK(step_transcript_has(*status, "rx", "HTTP/1.1 200 OK"));
}

TEST_CASE("http: the CA file and server name may come from device settings instead of the address") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    auto sim = start_tls_kds(pki);
    sim.address = "tls:" + sim.address.substr(4);  // no query
    const std::string extra = "    settings: { tls_ca: " + pki.ca.string() + ", tls_server_name: localhost }\n";
    Daemon d(dir, station_yaml_profiled({{"kds-display", {"kds", sim.address, extra}}}, dir / "s.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"kds"}, "ready"), d.log());
    CHECK(d.get("/v1/devices")["devices"][0]["identity"]["serial_number"] == "KDS0001");
}

TEST_CASE("http: a server certificate from another CA is refused before any request, as the station's error") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    auto sim = over_tls(start_tls_kds(pki), pki.other_ca);
    Daemon d(dir, station_yaml_profiled({{"kds-display", {"kds", sim.address, quick}}}, dir / "s.db"));
    REQUIRE(wait_until(
        [&] { return text_contains(d.get("/v1/devices")["devices"][0]["state_reason"], "certificate verification failed"); },
        10s));
    auto dev = d.get("/v1/devices")["devices"][0];
    INFO(dev.dump());
    CHECK(dev["state"] == "lost");  // a link fault, not a device failure
    CHECK(text_contains(dev["state_reason"], "certificate verification failed: unable to get local issuer certificate"));
    CHECK(text_contains(dev["state_reason"], pki.other_ca.string()));
    CHECK((dev["identity"].is_null() || dev["identity"].empty()));
    // A run on it waits lost_wait for it, then ends in error saying why.
    auto id = d.start_run("kds", "kitchen-display");
    REQUIRE(id > 0);
    auto run = d.wait_for_run(id, 20s);
    CHECK(run["run"]["outcome"] == "error");
    CHECK(text_contains(run["run"]["reason"], "certificate verification failed"));
    CHECK(d.process().running());
}

TEST_CASE("http: a certificate for another name is refused, naming the name expected") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    auto sim = over_tls(start_tls_kds(pki), pki.ca, "kds.example");
    Daemon d(dir, station_yaml_profiled({{"kds-display", {"kds", sim.address, quick}}}, dir / "s.db"));
    REQUIRE(wait_until(
        [&] { return text_contains(d.get("/v1/devices")["devices"][0]["state_reason"], "hostname mismatch"); }, 10s));
    auto dev = d.get("/v1/devices")["devices"][0];
    CHECK(dev["state"] == "lost");
    CHECK(text_contains(dev["state_reason"], "expecting server name kds.example"));
}

TEST_CASE("http: chunked bodies and a server that closes after every response still pass") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--chunked", "--close"});
    auto r = run_kds(dir, sim, "");
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "pass");
    const json* status = step_of(r.run, "kds.status");
    REQUIRE(status);
    CHECK(step_transcript_has(*status, "rx", "Transfer-Encoding: chunked"));
    // It said Connection: close, so the driver connected again before the next request.
    CHECK(step_transcript_has(*status, "note", "new connection"));
    CHECK((*status)["values"]["brightness"]["value"] == 80);
}

TEST_CASE("http: a 500 from the device fails the step, naming the status and the body") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--http-500"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(r.first_bad_step["action"] == "kds.status");
    CHECK(text_contains(r.first_bad_step["reason"], "GET /api/status: HTTP 500 Internal Server Error (expected 2xx)"));
    CHECK(text_contains(r.first_bad_step["reason"], "display service crashed"));
    CHECK(scenario_of(r.run, "KDS-001")["outcome"] == "pass");  // /health is not /api
    for (const char* id : {"KDS-002", "KDS-003", "KDS-004", "KDS-005"})
        CHECK_MESSAGE(scenario_of(r.run, id)["outcome"] == "fail", id);
}

TEST_CASE("http: a cut-off JSON body fails with the parser's reason") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--bad-json"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(r.first_bad_step["action"] == "kds.status");
    CHECK(text_contains(r.first_bad_step["reason"], "kds.status: GET /api/status: the body is not valid JSON"));
    CHECK(scenario_of(r.run, "KDS-001")["outcome"] == "pass");
}

TEST_CASE("http: a value of the wrong type fails naming the pointer and what was there") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--wrong-type"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(scenario_of(r.run, "KDS-002")["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["action"] == "kds.status");
    CHECK(text_contains(r.first_bad_step["reason"], "brightness: /display/brightness: expected integer, found string \"80\""));
    CHECK(scenario_of(r.run, "KDS-004")["outcome"] == "pass");  // PUT /api/display answers a number
}

TEST_CASE("http: garbage instead of a response fails at once, with the bytes in the transcript") {
    TempDir dir;
    // Bring-up is two requests (/health, /version); every answer after them is garbage.
    auto sim = start_sim("kds", Link::tcp, {"--garbage-after", "2"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "fail");
    CHECK(r.first_bad_step["action"] == "kds.health");
    CHECK(text_contains(r.first_bad_step["reason"], "not an HTTP response: expected HTTP/1.x in '<FF><FE>?#<80>"));
    CHECK(step_transcript_has(r.first_bad_step, "rx", "fffe", "hex"));
}

TEST_CASE("http: a stalled device gives timeout") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--stall-after", "3"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "timeout");
    CHECK(scenario_of(r.run, "KDS-001")["outcome"] == "pass");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "timeout");
    CHECK(r.first_bad_step["action"] == "kds.status");
    CHECK(text_contains(r.first_bad_step["reason"], "kds.status: GET /api/status"));
}

TEST_CASE("http: a device that drops the connection mid-run gives error, and the run carries on") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--disconnect-after", "3"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "error");
    REQUIRE(r.first_bad_step.is_object());
    CHECK(r.first_bad_step["outcome"] == "error");
    CHECK(r.first_bad_step["action"] == "kds.status");
    CHECK(text_contains(r.first_bad_step["reason"], "connection closed before a response"));
    // The device came back (once): the scenarios after the drop pass.
    CHECK(scenario_of(r.run, "KDS-003")["outcome"] == "pass");
    CHECK(scenario_of(r.run, "KDS-005")["outcome"] == "pass");
}

TEST_CASE("http: a failed display panel fails health, status and display, and nothing else") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--panel-fault"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    CHECK(scenario_of(r.run, "KDS-001")["outcome"] == "fail");  // status: degraded
    CHECK(scenario_of(r.run, "KDS-002")["outcome"] == "fail");  // display_on: false
    CHECK(scenario_of(r.run, "KDS-003")["outcome"] == "pass");
    CHECK(scenario_of(r.run, "KDS-004")["outcome"] == "fail");  // 503 from PUT /api/display
    CHECK(scenario_of(r.run, "KDS-005")["outcome"] == "pass");
    const json* health = step_of(r.run, "kds.health");
    REQUIRE(health);
    CHECK((*health)["values"]["status"]["value"] == "degraded");
    const json* display = step_of(r.run, "kds.display");
    REQUIRE(display);
    CHECK(text_contains((*display)["reason"], "HTTP 503 Service Unavailable (expected 2xx)"));
    CHECK(text_contains((*display)["reason"], "panel fault"));
}

TEST_CASE("http: the bearer token from token_file reaches the device and never the record or the log") {
    TempDir dir;
    const std::string token = "kds-T0ken-9f8e7d6c5b4a";
    write_file(dir / "kds.token", token + "\n");
    auto sim = start_sim("kds", Link::tcp, {"--token", token});
    const std::string extra = "    settings: { token_file: " + (dir / "kds.token").string() + " }\n";
    Daemon d(dir, station_yaml_profiled({{"kds-display", {"dut", sim.address, extra}}}, dir / "s.db"));
    REQUIRE_MESSAGE(d.wait_for_state({"dut"}, "ready"), d.log());
    auto id = d.start_run("dut", "kitchen-display");
    REQUIRE(id > 0);
    auto run = d.wait_for_run(id);
    INFO(run.dump(2).substr(0, 4000));
    CHECK(run["run"]["outcome"] == "pass");
    const json* status = step_of(run, "kds.status");
    REQUIRE(status);
    CHECK(step_transcript_has(*status, "note", "Authorization: Bearer <redacted>"));
    CHECK(run.dump().find(token) == std::string::npos);
    CHECK(d.log().find(token) == std::string::npos);
    for (const char* file : {"s.db", "s.db-wal"})
        if (std::filesystem::exists(dir / file)) CHECK_MESSAGE(read_file(dir / file).find(token) == std::string::npos, file);
}

TEST_CASE("http: without the token the device's 401 fails the API steps") {
    TempDir dir;
    auto sim = start_sim("kds", Link::tcp, {"--token", "secret"});
    auto r = run_kds(dir, sim);
    INFO(r.run.dump(2).substr(0, 4000));
    CHECK(r.run["run"]["outcome"] == "fail");
    CHECK(scenario_of(r.run, "KDS-001")["outcome"] == "pass");  // /health is open
    REQUIRE(r.first_bad_step.is_object());
    CHECK(text_contains(r.first_bad_step["reason"], "HTTP 401 Unauthorized (expected 2xx)"));
}

TEST_CASE("http: profile mistakes stop certlabd at start with file, line and column") {
    TempDir dir;
    std::filesystem::create_directories(dir / "profiles");
    write_file(dir / "profiles" / "bad-kds.yaml",
               "profile: bad-kds\ndriver: http\nactions:\n  badkds.status:\n    path: /api/status\n"
               "    body: '{\"a\": '\n");
    write_file(dir / "station.yaml", station_yaml_extended({{"bad-kds", {"kds", "tcp:127.0.0.1:9", ""}}}, dir / "s.db",
                                                           source("lab-config/suites"), {dir / "profiles"}));
    auto r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0"}, 20s,
                 dir / "stderr.txt");
    const auto err = read_file(dir / "stderr.txt");
    INFO(err);
    CHECK(r.status == 2);
    CHECK(err.find("bad-kds.yaml:6:11: badkds.status: body: not valid JSON") != std::string::npos);
}
