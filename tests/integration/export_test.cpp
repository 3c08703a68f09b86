// `certlab export` end to end (issue 6, acceptance 3 and 4): a certification with a
// passing, a failing, a soak and a photographed scenario, run on a simulated printer
// and signed off; then exported as JSON (validated against the contract's
// CertificationExport with python3-jsonschema and compared with the API), as JUnit XML
// (validated against tests/schemas/junit.xsd with xmllint) and as the HTML report,
// rendered by headless Chromium, checked, and kept as a screenshot.
#include <doctest/doctest.h>

#include <map>

#include "harness.hpp"
#include "support/http.hpp"
#include "support/webdriver.hpp"

#ifndef CERTLAB_TEST_ARTIFACTS
#error "tests/CMakeLists.txt defines CERTLAB_TEST_ARTIFACTS for the integration tests"
#endif

using namespace certlab::test;
using nlohmann::json;

namespace {

const char* export_suite = R"(suite: export-demo
title: Receipt printer basics for the export
requires: [printer]
permissions: [orders.print]
defaults:
  step_timeout: 5s
scenarios:
  - id: EXP-001
    title: Printer is online and answers quickly
    steps:
      - call: printer.status
        expect: { online: true, error: false }
        measure:
          latency: { max: 250 ms }
  - id: EXP-002
    title: Paper-out is reported (the roll is full here, so this fails)
    steps:
      - call: printer.status
        expect: { paper_out: true }
  - id: EXP-003
    title: Status 60 times in a row
    iterations: 60
    interval: 5ms
    steps:
      - call: printer.status
        expect: { online: true }
        measure:
          latency: { max: 1 s }
  - id: EXP-004
    title: A photograph of the printed receipt
    steps:
      - call: printer.print
        args: { count: 3, title: "CERTLAB EXP-004" }
        expect: { accepted: true }
      - prompt: photo
        message: Photograph the receipt
        timeout: 60s
)";

const std::vector<std::string> planned{"EXP-001", "EXP-002", "EXP-003", "EXP-004"};

struct CliOut {
    int status = -1;
    std::string out;
    std::string err;
};

CliOut cli_full(const Daemon& d, const TempDir& dir, std::vector<std::string> args) {
    auto err = dir / "cli.err";
    std::filesystem::remove(err);
    std::vector<std::string> argv{bin("certlab").string(), "--station", d.station_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, 120s, err);
    return {r.status, r.out, std::filesystem::exists(err) ? read_file(err) : std::string()};
}

/// Standard base64 decoded here, apart from the exporter's own code.
std::string from_base64(const std::string& text) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned bits = 0;
    int nbits = 0;
    for (char c : text) {
        if (c == '=') break;
        auto v = alphabet.find(c);
        REQUIRE(v != std::string::npos);
        bits = bits << 6 | static_cast<unsigned>(v);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out += static_cast<char>(bits >> nbits & 0xFF);
        }
    }
    return out;
}

std::string from_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

json plan_entry(const json& doc, const std::string& scenario) {
    for (const auto& p : doc["plan"])
        if (p["scenario"] == scenario) return p;
    return json{{"status", "missing"}};
}

/// Answers the run's photo prompt through the CLI once it opens.
void answer_photo(const Daemon& d, const TempDir& dir, std::int64_t run_id) {
    json prompt;
    REQUIRE_MESSAGE(wait_until(
                        [&] {
                            auto list = d.get("/v1/prompts?run=" + std::to_string(run_id));
                            for (const auto& p : list["prompts"])
                                if (p["kind"] == "photo") prompt = p;
                            return prompt.is_object();
                        },
                        60s),
                    d.log());
    std::string photo = "\x89PNG\r\n\x1a\n";
    for (int i = 0; i < 3000; ++i) photo += static_cast<char>(i * 31 & 0xFF);
    write_file(dir / "receipt.png", photo);
    auto sent = cli_full(d, dir, {"answer", std::to_string(prompt["id"].get<std::int64_t>()), "--file",
                                  (dir / "receipt.png").string(), "--by", "tom"});
    INFO(sent.err);
    REQUIRE(sent.status == 0);
}

}  // namespace

TEST_CASE("export: a certification as contract JSON, valid JUnit XML and a report Chromium renders") {
    const std::filesystem::path artifacts = CERTLAB_TEST_ARTIFACTS;
    std::filesystem::create_directories(artifacts);
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "export-demo.yaml", export_suite);
    auto sim = start_printer(Link::tcp);
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db", dir / "suites"));
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());

    auto intake = cli_full(d, dir, {"intake", "--partner", "Acme & Sons", "--integration", "Acme <POS> 2", "--model",
                                    "CERTLAB-SIM-80", "--serial", "SIM0001", "--firmware", "1.00", "--permission",
                                    "orders.print", "--device", "p", "--by", "tom"});
    INFO(intake.err);
    REQUIRE(intake.status == 0);
    const std::string id = intake.out.substr(0, intake.out.find('\n'));
    const std::string href = "/v1/certifications/" + id;

    auto started = cli_full(d, dir, {"run", "start", "--device", "p", "--suite", "export-demo", "--certification", id});
    INFO(started.err);
    REQUIRE(started.status == 0);
    const auto run_id = std::stoll(started.out);
    answer_photo(d, dir, run_id);
    auto ended = d.wait_for_run(run_id, 120s);
    REQUIRE(ended["run"]["status"] == "completed");
    CHECK(ended["run"]["outcome"] == "fail");
    CHECK(cli_full(d, dir, {"certify", id, "EXP-001", "--by", "eve"}).status == 0);

    const auto cert = d.get(href);
    CHECK(plan_entry(cert, "EXP-001")["status"] == "certified");
    CHECK(plan_entry(cert, "EXP-002")["status"] == "failed");
    CHECK(plan_entry(cert, "EXP-003")["status"] == "passed");
    REQUIRE(cert["issues"].size() == 1);  // EXP-002's failure

    {  // json: validates against the contract and holds what the API says
        const auto file = dir / "cert.json";
        auto r = cli_full(d, dir, {"export", id, "--format", "json", "-o", file.string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(r.out.empty());  // -o: nothing on stdout
        auto v = run({"/usr/bin/python3", source("tests/schemas/validate_openapi_schema.py").string(),
                      source("docs/record-api.openapi.yaml").string(), "CertificationExport", file.string()},
                     60s, dir / "validate.err");
        INFO(v.out << read_file(dir / "validate.err"));
        CHECK(v.status == 0);
        CHECK(v.out == "valid\n");
        // The validator does reject: the same document with a status the contract lacks.
        auto doc = json::parse(read_file(file));
        auto broken = doc;
        broken["plan"][0]["status"] = "almost";
        write_file(dir / "broken.json", broken.dump());
        auto refused = run({"/usr/bin/python3", source("tests/schemas/validate_openapi_schema.py").string(),
                            source("docs/record-api.openapi.yaml").string(), "CertificationExport",
                            (dir / "broken.json").string()},
                           60s, dir / "validate.err");
        CHECK(refused.status == 1);
        CHECK(refused.out.find("$.plan[0].status") != std::string::npos);

        // Parsed back, it is the API's data.
        CHECK(doc["station"] == "test-bench");
        CHECK(doc["certification"]["partner"] == "Acme & Sons");
        CHECK(doc["certification"]["integration"] == "Acme <POS> 2");
        REQUIRE(doc["plan"].size() == planned.size());
        for (std::size_t i = 0; i < planned.size(); ++i) {
            CHECK(doc["plan"][i]["scenario"] == planned[i]);
            CHECK(doc["plan"][i]["status"] == plan_entry(cert, planned[i])["status"]);
            CHECK(doc["plan"][i]["evidence"]["run"] == run_id);
        }
        CHECK(doc["sign_offs"].size() == 1);
        CHECK(doc["sign_offs"][0]["scenario"] == "EXP-001");
        CHECK(doc["issues"][0]["id"] == cert["issues"][0]["id"]);
        CHECK(doc["issues"][0]["next_steps"] == cert["issues"][0]["next_steps"]);
        REQUIRE(doc["runs"].size() == 1);
        const auto& run_doc = doc["runs"][0];
        const auto api = d.get("/v1/runs/" + std::to_string(run_id) + "?steps=-1");
        CHECK(run_doc["station"] == api["run"]["station_id"]);
        CHECK(run_doc["suite_file"].get<std::string>().find("export-demo.yaml") != std::string::npos);
        CHECK(run_doc["run"]["suite_hash"] == api["run"]["suite_hash"]);
        CHECK(run_doc["run"]["provenance"]["driver"] == api["run"]["driver"]);
        CHECK(run_doc["run"]["provenance"]["firmware"] == api["run"]["firmware"]);
        CHECK(run_doc["run"]["provenance"]["certlab_version"] == api["run"]["certlab_version"]);
        REQUIRE(run_doc["scenarios"].size() == api["scenarios"].size());
        std::map<std::int64_t, json> api_steps;
        for (const auto& s : api["steps"]) api_steps[s["seq"].get<std::int64_t>()] = s;
        std::size_t exported_steps = 0;
        for (std::size_t i = 0; i < api["scenarios"].size(); ++i) {
            const auto& a = api["scenarios"][i];
            const auto& e = run_doc["scenarios"][i];
            CAPTURE(a["id"]);
            CHECK(e["scenario"] == a["id"]);
            CHECK(e["outcome"] == a["outcome"]);
            CHECK(e["reason"] == a["reason"]);
            CHECK(e["iterations"] == a["iterations"]);
            CHECK(e["stats"] == a["stats"]);
            for (const auto& st : e["steps"]) {
                ++exported_steps;
                const auto& as = api_steps[st["seq"].get<std::int64_t>()];
                CHECK(as["scenario_result_id"] == e["result_id"]);
                CHECK(st["outcome"] == as["outcome"]);
                CHECK(st["duration_us"] == as["duration_us"]);
                CHECK(st["measurements"] == as["measurements"]);
                CHECK(st["values"] == as["values"]);
                const auto& entries = as["transcript"]["entries"];
                REQUIRE(st["transcript"].size() == entries.size());
                for (std::size_t k = 0; k < entries.size(); ++k) {
                    const auto bytes = from_base64(st["transcript"][k]["data"]);
                    if (entries[k]["dir"] == "note") CHECK(bytes == entries[k]["text"].get<std::string>());
                    else CHECK(bytes == from_hex(entries[k]["hex"]));
                }
            }
        }
        CHECK(exported_steps == api["steps"].size());
        const auto& soak = run_doc["scenarios"][2];
        CHECK(soak["stats"]["iterations"] == 60);
        // The photo: referenced by the station's path, with the station's digest.
        const auto& attachments = run_doc["scenarios"][3]["attachments"];
        REQUIRE(attachments.size() == 1);
        CHECK(attachments[0]["name"] == "receipt.png");
        CHECK(attachments[0]["media_type"] == "image/png");
        const auto prompt = d.get("/v1/prompts/" + std::to_string(attachments[0]["prompt"].get<std::int64_t>()));
        CHECK(attachments[0]["sha256"] == prompt["attachment"]["sha256"]);
        CHECK(attachments[0]["size"] == 3008);
        auto bytes = http_get(d.port(), attachments[0]["href"].get<std::string>());
        CHECK(bytes.status == 200);
        CHECK(bytes.body.size() == 3008);

        // Without -o the same document goes to stdout.
        auto out = cli_full(d, dir, {"export", id});
        REQUIRE(out.status == 0);
        auto again = json::parse(out.out);
        CHECK(again["plan"] == doc["plan"]);
        CHECK(again["runs"] == doc["runs"]);
    }

    {  // junit: validates against the common JUnit schema, with the failure apart
        const auto file = dir / "cert.xml";
        auto r = cli_full(d, dir, {"export", id, "--format", "junit", "-o", file.string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto v = run({"/usr/bin/xmllint", "--noout", "--schema", source("tests/schemas/junit.xsd").string(), file.string()},
                     60s, dir / "xmllint.err");
        INFO(read_file(dir / "xmllint.err"));
        CHECK(v.status == 0);
        const auto xml = read_file(file);
        CHECK(xml.find("<testsuite name=\"export-demo\" id=\"" + std::to_string(run_id) +
                       "\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"0\"") != std::string::npos);
        CHECK(xml.find("hostname=\"test-bench\"") != std::string::npos);
        CHECK(xml.find("name=\"EXP-002 Paper-out is reported (the roll is full here, so this fails)\"") != std::string::npos);
        CHECK(xml.find("<failure message=\"") != std::string::npos);
        CHECK(xml.find("name=\"Acme &amp; Sons") == std::string::npos);  // partner is in the testsuites name only
        CHECK(xml.find("certification " + id + ": Acme &amp; Sons / Acme &lt;POS&gt; 2") != std::string::npos);
    }

    {  // html: Chromium renders every planned scenario and the soak's charts
        const auto file = dir / "report.html";
        auto r = cli_full(d, dir, {"export", id, "--format", "html", "-o", file.string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        std::filesystem::copy_file(file, artifacts / "export-report.html",
                                   std::filesystem::copy_options::overwrite_existing);
        BrowserOptions options;
        options.width = 1280;
        options.height = 2000;
        Browser b(options);
        b.navigate("file://" + file.string());
        REQUIRE(b.wait_for("#scenario-table", 20s));
        CHECK(b.title().find("Certification report") != std::string::npos);
        const auto rows = b.execute(R"(
return [...document.querySelectorAll('#scenario-table tbody tr')].map((tr) => ({
  scenario: tr.dataset.scenario, status: tr.dataset.status,
  text: tr.innerText, pill: tr.querySelector('.pill').textContent }));)");
        REQUIRE(rows.size() == planned.size());
        for (std::size_t i = 0; i < planned.size(); ++i) {
            CAPTURE(planned[i]);
            const auto status = plan_entry(cert, planned[i])["status"].get<std::string>();
            CHECK(rows[i]["scenario"] == planned[i]);
            CHECK(rows[i]["status"] == status);
            CHECK(rows[i]["pill"] == status);
            CHECK(rows[i]["text"].get<std::string>().find(planned[i]) != std::string::npos);
            CHECK(rows[i]["text"].get<std::string>().find("run " + std::to_string(run_id)) != std::string::npos);
        }
        const auto charts = b.execute(R"(
return [...document.querySelectorAll('#soak svg.chart')].map((svg) => ({
  label: svg.getAttribute('aria-label'),
  paths: [...svg.querySelectorAll('path.series')].map((p) => p.getAttribute('d').split('L').length),
  height: svg.getBoundingClientRect().height }));)");
        REQUIRE(charts.size() == 2);
        CHECK(charts[0]["label"] == "Pass rate per window of iterations");
        CHECK(charts[1]["label"] == "Call latency per window of iterations");
        REQUIRE(charts[0]["paths"].size() == 1);
        CHECK(charts[0]["paths"][0].get<int>() >= 10);  // 60 iterations in windows of at most 2
        CHECK(charts[1]["paths"].size() == 2);         // median and 95th percentile
        for (const auto& c : charts) CHECK(c["height"].get<double>() > 100);
        const auto verdict = b.text(*b.find(".verdict-text"));
        CHECK(verdict == "Not certified — 1 required scenario failed");
        CHECK(b.text(*b.find("#issues")).find(cert["issues"][0]["title"].get<std::string>()) != std::string::npos);
        b.save_screenshot(artifacts / "export-report.png");
        CHECK(std::filesystem::file_size(artifacts / "export-report.png") > 10000);
    }

    // An unknown certification is the daemon's 404, exit 3.
    auto missing = cli_full(d, dir, {"export", "999", "--format", "html", "-o", (dir / "none.html").string()});
    CHECK(missing.status == 3);
    CHECK(missing.err.find("404") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "none.html"));
}
