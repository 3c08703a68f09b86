// The certification report (daemon/cli/export_html, export_soak): the soak's windows
// recounted from its steps, and a self-contained page with every planned scenario,
// the verdict and the charts.
#include <doctest/doctest.h>

#include <regex>

#include "cli/export_soak.hpp"
#include "export_fixture.hpp"

using namespace certlab;
using cli::Json;
namespace fx = certlab::test::export_fixture;

namespace {

const Json& soak_scenario(const Json& doc) { return doc["runs"][1]["scenarios"][0]; }

int count(const std::string& text, const std::string& part) {
    int n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("export report: a soak's pass rate and latency per window of iterations") {
    auto doc = cli::build_export(fx::source());
    auto windows = cli::exporting::soak_windows(soak_scenario(doc), 10);
    REQUIRE(windows.size() == 10);
    for (std::size_t i = 0; i < windows.size(); ++i) {
        INFO("window " << i);
        CHECK(windows[i].iterations == 2);
        CHECK(windows[i].first_iteration == static_cast<std::int64_t>(2 * i));
        // Iterations 12 and 13 failed: window 6 alone.
        CHECK(windows[i].pass_rate == doctest::Approx(i == 6 ? 0.0 : 1.0));
        // Iteration k's call took 2 + 0.05 k ms and ended 1 s after the last one started.
        CHECK(windows[i].latency_p50_ms.value_or(-1) == doctest::Approx(2.0 + 0.05 * (2 * i)));
        CHECK(windows[i].latency_p95_ms.value_or(-1) == doctest::Approx(2.0 + 0.05 * (2 * i + 1)));
        CHECK(windows[i].elapsed_s == doctest::Approx(static_cast<double>(2 * i + 1) + (2.0 + 0.05 * (2 * i + 1)) / 1000)
                                          .epsilon(0.001));
    }
    // Fewer iterations than windows: one window per iteration.
    CHECK(cli::exporting::soak_windows(soak_scenario(doc), 50).size() == 20);
    // No steps: no windows.
    CHECK(cli::exporting::soak_windows(Json{{"steps", Json::array()}}).empty());
}

TEST_CASE("export report: a retried attempt does not fail its iteration") {
    Json scenario{{"steps", Json::array()}};
    auto failed_try = fx::step(1, 40, 0, "timeout", 1000, 5000);
    failed_try["retried"] = true;
    scenario["steps"].push_back(failed_try);
    scenario["steps"].push_back(fx::step(2, 40, 0, "pass", 7000, 1000));
    scenario["steps"].push_back(fx::step(3, 40, 1, "error", 9000, 1000));
    auto windows = cli::exporting::soak_windows(scenario, 1);
    REQUIRE(windows.size() == 1);
    CHECK(windows[0].iterations == 2);
    CHECK(windows[0].passed == 1);
    // Only answered calls count for latency: the pass; not the timeout, not the error.
    CHECK(windows[0].latency_p95_ms.value_or(-1) == doctest::Approx(1.0));
}

TEST_CASE("export report: one self-contained page with the verdict, every planned scenario and the charts") {
    auto html = cli::render_html(cli::build_export(fx::source()));
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find(" src=") == std::string::npos);
    CHECK(html.find(" href=") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
    CHECK(html.find("@media print") != std::string::npos);

    CHECK(html.find("Not certified — 2 required scenarios failed") != std::string::npos);
    CHECK(html.find("Acme &amp; Sons") != std::string::npos);
    CHECK(html.find("Acme &lt;POS&gt;") != std::string::npos);
    for (const char* row : {"<tr data-scenario=\"PRN-001\" data-status=\"certified\">",
                            "<tr data-scenario=\"PRN-002\" data-status=\"failed\">",
                            "<tr data-scenario=\"SOAK-1\" data-status=\"failed\">",
                            "<tr data-scenario=\"PRN-009\" data-status=\"not_run\">"})
        CHECK_MESSAGE(html.find(row) != std::string::npos, row);
    CHECK(html.find("latency 1.2 ms") != std::string::npos);  // PRN-001's measurement
    CHECK(html.find("1. Check the sensor.\n2. Run again.") != std::string::npos);
    CHECK(html.find("cannot enter certified: PRN-002 is failed") != std::string::npos);
    // The soak: two charts, a pass-rate line and two latency lines.
    CHECK(count(html, "<svg") == 2);
    CHECK(count(html, "class=\"series\"") == 3);
    CHECK(html.find("Pass rate [%]") != std::string::npos);
    CHECK(html.find("Latency [ms]") != std::string::npos);
    CHECK(html.find("Elapsed time [s]") != std::string::npos);
}

TEST_CASE("export report: without soak there is no chart section, and an all-certified plan says so") {
    auto src = fx::source();
    src.runs.pop_back();
    for (auto& p : src.detail["plan"]) {
        p["status"] = "certified";
    }
    auto html = cli::render_html(cli::build_export(src));
    CHECK(html.find("<svg") == std::string::npos);
    CHECK(html.find("id=\"soak\"") == std::string::npos);
    CHECK(html.find("Every required scenario certified") != std::string::npos);
}
