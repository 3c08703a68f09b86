// Access control on a real daemon: bearer tokens with roles, the refusal of an open
// bind, and HTTPS with the CLI as the client (docs/API.md, "Access").
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "harness.hpp"
#include "support/pki.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

// The tokens themselves: the station only ever sees their hashes (the lines below
// were made with `certlab token new`, which the last test case exercises).
struct Tokens {
    std::string viewer, operator_, admin;
    std::string file_text;
};

/// Makes three tokens through `certlab token new` and the tokens file of their lines.
Tokens make_tokens() {
    Tokens t;
    for (auto [name, role, out] : {std::tuple{"tom", "viewer", &t.viewer}, std::tuple{"ann", "operator", &t.operator_},
                                   std::tuple{"ops", "admin", &t.admin}}) {
        auto r = run({bin("certlab").string(), "token", "new", "--name", name, "--role", role}, 10s);
        REQUIRE(r.status == 0);
        // "token ...:\n  clt_...\nline ...:\n  NAME ROLE sha256:...\n"
        auto tok = r.out.find("\n  clt_");
        REQUIRE(tok != std::string::npos);
        *out = r.out.substr(tok + 3, r.out.find('\n', tok + 3) - tok - 3);
        auto line = r.out.find(std::string("\n  ") + name + " " + role + " sha256:");
        REQUIRE(line != std::string::npos);
        t.file_text += r.out.substr(line + 3, r.out.find('\n', line + 3) - line - 3) + "\n";
    }
    return t;
}

std::string with_api(std::string yaml, const std::string& api_lines) {
    const std::string plain = "api:\n  bind: 127.0.0.1\n  port: 0\n";
    auto at = yaml.find(plain);
    REQUIRE(at != std::string::npos);
    return yaml.replace(at, plain.size(), "api:\n  bind: 127.0.0.1\n  port: 0\n" + api_lines);
}

HttpHeaders bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

const char* prompt_suite = R"(suite: gate
title: One question for the technician
requires: [printer]
scenarios:
  - id: G-1
    title: Asks, then checks
    steps:
      - prompt: confirm
        message: Is the cover closed?
        timeout: 60s
      - call: printer.status
        expect: { online: true }
)";

}  // namespace

TEST_CASE("access: no token 401, viewer starting a run 403, operator answering a prompt 200, admin-only release") {
    TempDir dir;
    const auto tokens = make_tokens();
    write_file(dir / "api-tokens", tokens.file_text);
    ::chmod((dir / "api-tokens").c_str(), 0600);
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "gate.yaml", prompt_suite);
    auto sim = start_printer(Link::tcp);
    Daemon d(dir, with_api(station_yaml({{"p", sim.address, ""}}, dir / "store.db", dir / "suites"),
                           "  tokens: " + (dir / "api-tokens").string() + "\n"));
    const auto port = d.port();

    // Public: the health check (no station data).
    CHECK(http_get(port, "/v1/health").status == 200);

    // No token, a wrong token: 401 with the challenge, as problem+json.
    auto r = http_request("GET", port, "/v1/devices");
    CHECK(r.status == 401);
    CHECK(r.content_type == "application/problem+json");
    CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"certlab\"");
    CHECK(json::parse(r.body)["detail"] == "this station needs a bearer token: send `Authorization: Bearer <token>`");
    r = http_request("GET", port, "/v1/devices", {}, bearer("clt_not-a-token"));
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"certlab\", error=\"invalid_token\"");
    CHECK(http_get(port, "/metrics").status == 401);
    CHECK(http_get(port, "/v1/events").status == 401);

    // A viewer reads everything, and writes nothing.
    r = http_request("GET", port, "/v1/devices", {}, bearer(tokens.viewer));
    CHECK(r.status == 200);
    CHECK(http_request("GET", port, "/metrics", {}, bearer(tokens.viewer)).status == 200);
    const json start{{"device", "p"}, {"suite", "gate"}};
    r = http_request("POST", port, "/v1/runs", start.dump(), bearer(tokens.viewer));
    CHECK(r.status == 403);
    CHECK(json::parse(r.body)["detail"] == "role viewer may not POST /v1/runs: it needs operator");
    CHECK(json::parse(http_request("GET", port, "/v1/runs", {}, bearer(tokens.viewer)).body)["runs"].empty());

    // An operator starts the run and answers its prompt; a viewer may not answer.
    r = http_request("POST", port, "/v1/runs", start.dump(), bearer(tokens.operator_));
    REQUIRE_MESSAGE(r.status == 202, r.body);
    const auto run_id = json::parse(r.body)["id"].get<std::int64_t>();
    json prompt;
    REQUIRE(wait_until(
        [&] {
            auto list = http_request("GET", port, "/v1/prompts", {}, bearer(tokens.viewer));
            if (list.status != 200) return false;
            auto doc = json::parse(list.body);
            if (doc["prompts"].empty()) return false;
            prompt = doc["prompts"][0];
            return true;
        },
        20s));
    const auto answer_path = "/v1/prompts/" + std::to_string(prompt["id"].get<std::int64_t>()) + "/answer";
    const json yes{{"answer", "yes"}, {"by", "ann"}};
    CHECK(http_request("POST", port, answer_path, yes.dump(), bearer(tokens.viewer)).status == 403);
    r = http_request("POST", port, answer_path, yes.dump(), bearer(tokens.operator_));
    CHECK_MESSAGE(r.status == 200, r.body);
    json run;
    REQUIRE(wait_until(
        [&] {
            run = json::parse(http_request("GET", port, "/v1/runs/" + std::to_string(run_id), {}, bearer(tokens.viewer)).body);
            return run["run"]["status"] != "queued" && run["run"]["status"] != "running";
        },
        30s));
    CHECK(run["run"]["status"] == "completed");
    CHECK(run["run"]["outcome"] == "pass");

    // Releasing a quarantined device is an admin's call: the operator is refused;
    // the admin passes the gate and gets the station's own answer.
    CHECK(http_request("POST", port, "/v1/devices/p/release", "{}", bearer(tokens.operator_)).status == 403);
    r = http_request("POST", port, "/v1/devices/p/release", "{}", bearer(tokens.admin));
    CHECK(r.status != 401);
    CHECK(r.status != 403);

    // The CLI takes its token from a private file, never from argv.
    write_file(dir / "ann.token", tokens.operator_ + "\n");
    ::chmod((dir / "ann.token").c_str(), 0600);
    auto c = certlab_cli(dir, {"--station", d.station_url(), "status"});
    CHECK(c.status == 3);
    CHECK(c.err.find("bearer token") != std::string::npos);
    c = certlab_cli(dir, {"--station", d.station_url(), "--token-file", (dir / "ann.token").string(), "status"});
    CHECK_MESSAGE(c.status == 0, c.err);
    ::chmod((dir / "ann.token").c_str(), 0644);
    c = certlab_cli(dir, {"--station", d.station_url(), "--token-file", (dir / "ann.token").string(), "status"});
    CHECK(c.status == 3);
    CHECK(c.err.find("is readable by every user of the machine") != std::string::npos);

    // The log says who did what, and never holds a token.
    const auto log = d.log();
    CHECK(log.find("POST /v1/runs by ann") != std::string::npos);
    CHECK(log.find("refused (403): token of tom") != std::string::npos);
    for (const auto* t : {&tokens.viewer, &tokens.operator_, &tokens.admin}) CHECK(log.find(*t) == std::string::npos);
}

TEST_CASE("access: a non-loopback bind without TLS and tokens is refused at start, with where and why") {
    TempDir dir;
    auto yaml = station_yaml({}, dir / "store.db");
    auto at = yaml.find("  bind: 127.0.0.1\n");
    REQUIRE(at != std::string::npos);
    yaml.replace(at, 18, "  bind: 0.0.0.0\n");
    write_file(dir / "station.yaml", yaml);
    auto err = dir / "err.log";
    auto r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string()}, 20s, err);
    CHECK(r.status == 2);
    const auto text = read_file(err);
    CHECK_MESSAGE(text.find((dir / "station.yaml").string() + ":") != std::string::npos, text);
    CHECK(text.find("api.bind 0.0.0.0 is reachable from other machines, but the API has no TLS (api.tls) and tokens "
                    "(api.tokens)") != std::string::npos);

    // A tokens file others can read stops the start too: it names who holds which role.
    write_file(dir / "api-tokens", "tom viewer sha256:" + std::string(64, '0') + "\n");
    ::chmod((dir / "api-tokens").c_str(), 0644);
    write_file(dir / "station.yaml", with_api(station_yaml({}, dir / "store.db"),
                                              "  tokens: " + (dir / "api-tokens").string() + "\n"));
    r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string()}, 20s, err);
    CHECK(r.status == 2);
    CHECK(read_file(err).find("the API tokens file is open to every user of the machine (mode 0644)") !=
          std::string::npos);
}

TEST_CASE("access: HTTPS with tokens, the CLI verifying the station against its CA") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    const auto tokens = make_tokens();
    write_file(dir / "api-tokens", tokens.file_text);
    ::chmod((dir / "api-tokens").c_str(), 0600);
    write_file(dir / "tom.token", tokens.viewer);
    ::chmod((dir / "tom.token").c_str(), 0600);
    auto sim = start_printer(Link::tcp);
    const auto api = "  tokens: " + (dir / "api-tokens").string() + "\n  tls: { cert: " + pki.server_cert.string() +
                     ", key: " + pki.server_key.string() + " }\n";
    Daemon d(dir, with_api(station_yaml({{"p", sim.address, ""}}, dir / "store.db"), api));
    const auto https = "https://127.0.0.1:" + std::to_string(d.port());
    CHECK(d.log().find("API listening on https://127.0.0.1:") != std::string::npos);

    auto c = certlab_cli(dir, {"--station", https, "--ca", pki.ca.string(), "--token-file",
                               (dir / "tom.token").string(), "status", "--json"});
    REQUIRE_MESSAGE(c.status == 0, c.err);
    CHECK(json::parse(c.out)["devices"]["devices"][0]["id"] == "p");

    // A CA that did not sign the station's certificate: refused, and said so.
    c = certlab_cli(dir, {"--station", https, "--ca", pki.other_ca.string(), "--token-file",
                          (dir / "tom.token").string(), "status"});
    CHECK(c.status == 3);
    CHECK_MESSAGE(c.err.find("certificate verify failed") != std::string::npos, c.err);
    // Plain HTTP to the TLS port gets no answer to read, and the daemon goes on.
    CHECK(http_get(d.port(), "/v1/health").status == 0);
    c = certlab_cli(dir, {"--station", https, "--ca", pki.ca.string(), "status"});
    CHECK(c.status == 3);
    CHECK(c.err.find("bearer token") != std::string::npos);
    CHECK(d.process().running());
}

TEST_CASE("access: a certificate that does not match its key stops the start with a clear error") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    write_file(dir / "api-tokens", "tom viewer sha256:" + std::string(64, '0') + "\n");
    ::chmod((dir / "api-tokens").c_str(), 0600);
    std::filesystem::create_directory(dir / "other");
    auto other = make_pki(dir / "other");
    write_file(dir / "station.yaml",
               with_api(station_yaml({}, dir / "store.db"),
                        "  tokens: " + (dir / "api-tokens").string() + "\n  tls: { cert: " + pki.server_cert.string() +
                            ", key: " + other.server_key.string() + " }\n"));
    auto err = dir / "err.log";
    auto r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0"}, 20s, err);
    CHECK(r.status == 2);
    CHECK_MESSAGE(read_file(err).find("api.tls.key: cannot use the private key " + other.server_key.string()) !=
                      std::string::npos,
                  read_file(err));
}
