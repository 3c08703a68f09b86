// `certlab export --format json` (daemon/cli/export_json): the document validates
// against the contract's CertificationExport, round-trips, and holds what the API said.
#include <doctest/doctest.h>

#include "cli/export_text.hpp"
#include "contract.hpp"
#include "export_fixture.hpp"

using namespace certlab;
using cli::Json;
namespace fx = certlab::test::export_fixture;

namespace {

std::string violations(const Json& doc) {
    auto errors = record_server::Contract::builtin().validate(nlohmann::json::parse(doc.dump()), "CertificationExport");
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
}

const Json& run_entry(const Json& doc, int id) {
    for (const auto& r : doc["runs"])
        if (r["run"]["id"] == id) return r;
    FAIL("no run " << id);
    static const Json none;
    return none;
}

}  // namespace

TEST_CASE("export json: the document validates against the contract's CertificationExport") {
    auto doc = cli::build_export(fx::source());
    CHECK(violations(doc) == "");
    // The schema does check: a status the contract does not know, a run without
    // provenance, a transcript that is not base64 are each refused.
    auto bad = doc;
    bad["plan"][0]["status"] = "maybe";
    CHECK(violations(bad) != "");
    bad = doc;
    bad["runs"][0]["run"].erase("provenance");
    CHECK(violations(bad) != "");
    bad = doc;
    bad["runs"][0]["scenarios"][0]["steps"][0]["transcript"][0]["data"] = "not base64!";
    CHECK(violations(bad) != "");
}

TEST_CASE("export json: it round-trips and holds exactly what the API said") {
    const auto src = fx::source();
    const auto doc = cli::build_export(src);
    const auto back = Json::parse(doc.dump(2));
    CHECK(back == doc);

    CHECK(back["format"] == "certlab.certification-export/1");
    CHECK(back["station"] == "bench-3");
    CHECK(back["certification"]["partner"] == "Acme & Sons");
    CHECK(back["certification"]["plan"].size() == 4);
    CHECK(back["summary"]["certified"] == 1);
    CHECK(back["summary"]["failed"] == 2);
    CHECK(back["summary"]["not_run"] == 1);
    CHECK(back["summary"]["open_issues"] == 1);
    CHECK(back["summary"]["next_phase"]["blocked_by"] == "cannot enter certified: PRN-002 is failed");
    CHECK(back["sign_offs"].size() == 1);
    CHECK(back["sign_offs"][0]["by"] == "eve");
    CHECK(back["plan"][0]["sign_off"] == back["sign_offs"][0]);
    CHECK(back["plan"][3]["evidence"].is_null());
    CHECK(back["issues"][0]["next_steps"] == "1. Check the sensor.\n2. Run again.");

    // Every run, scenario and step of the source, field for field.
    REQUIRE(back["runs"].size() == src.runs.size());
    for (std::size_t r = 0; r < src.runs.size(); ++r) {
        const auto& api_run = src.runs[r].run;
        const auto& got = back["runs"][r];
        CHECK(got["station"] == api_run["station_id"]);
        CHECK(got["run"]["id"] == api_run["id"]);
        CHECK(got["run"]["provenance"]["driver"] == api_run["driver"]);
        CHECK(got["run"]["provenance"]["firmware"] == api_run["firmware"]);
        CHECK(got["run"]["provenance"]["roles"]["psu"]["firmware"] == "1.00");
        REQUIRE(got["scenarios"].size() == src.runs[r].scenarios.size());
        std::size_t steps = 0;
        for (std::size_t s = 0; s < got["scenarios"].size(); ++s) {
            const auto& api_s = src.runs[r].scenarios[s];
            const auto& sc = got["scenarios"][s];
            CHECK(sc["scenario"] == api_s["id"]);
            CHECK(sc["outcome"] == api_s["outcome"]);
            CHECK(sc["stats"] == api_s["stats"]);
            for (const auto& st : sc["steps"]) {
                const auto& api_step = src.runs[r].steps[steps++];
                CHECK(st["seq"] == api_step["seq"]);
                CHECK(api_step["scenario_result_id"] == sc["result_id"]);
                CHECK(st["measurements"] == api_step["measurements"]);
                CHECK(st["values"] == api_step["values"]);
                const auto& entries = api_step["transcript"]["entries"];
                REQUIRE(st["transcript"].size() == entries.size());
                for (std::size_t e = 0; e < entries.size(); ++e) {
                    auto bytes = cli::exporting::base64_decode(st["transcript"][e]["data"].get<std::string>());
                    REQUIRE(bytes.has_value());
                    if (entries[e]["dir"] == "note") CHECK(*bytes == entries[e]["text"].get<std::string>());
                    else CHECK(*bytes == *cli::exporting::hex_decode(entries[e]["hex"].get<std::string>()));
                }
            }
        }
        CHECK(steps == src.runs[r].steps.size());
    }
    CHECK(run_entry(back, 7)["suite_file"] == "suites/receipt-printer.yaml");
    CHECK(run_entry(back, 8)["suite_file"] == "suites/printer-soak.yaml");
}

TEST_CASE("export json: attachments are referenced by the station's API path") {
    auto doc = cli::build_export(fx::source());
    const auto& scenarios = run_entry(doc, 7)["scenarios"];
    const auto& a = scenarios[0]["attachments"];
    REQUIRE(a.size() == 1);
    CHECK(a[0]["name"] == "receipt.JPG");
    CHECK(a[0]["media_type"] == "image/jpeg");
    CHECK(a[0]["size"] == 1234);
    CHECK(a[0]["prompt"] == 9);
    CHECK(a[0]["href"] == "/v1/prompts/9/attachment");
    CHECK(scenarios[1]["attachments"].empty());  // its prompt has no attachment
}
