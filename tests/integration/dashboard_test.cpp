// Issue 7, acceptance 4: the dashboard in a real headless Chromium against a real
// certlabd and simulated printer. The page follows a soak live (its progress changes
// without a reload), shows the prompt the run waits on, and answers it with a click;
// the API confirms the answer and the run goes on to its end; the soak's charts hold
// one point per iteration; and a screenshot is kept under the build tree.
#include <doctest/doctest.h>

#include <set>

#include "harness.hpp"
#include "support/webdriver.hpp"

#ifndef CERTLAB_TEST_ARTIFACTS
#error "tests/CMakeLists.txt defines CERTLAB_TEST_ARTIFACTS for the integration tests"
#endif

using namespace certlab::test;
using nlohmann::json;

namespace {

constexpr int soak_iterations = 25;

// A soak long enough to watch (25 iterations, 250 ms apart: about 6 s), then a
// scenario that waits for the technician's judgement.
const char* dashboard_suite = R"(suite: dashboard-demo
title: Status soak, then the technician's look
requires: [printer]
defaults:
  step_timeout: 5s
scenarios:
  - id: DSH-1
    title: Status, 25 times
    iterations: 25
    interval: 250ms
    steps:
      - call: printer.status
        expect: { online: true }
        measure: { latency: { max: 1 s } }
  - id: DSH-2
    title: The cut, judged at the bench
    steps:
      - call: printer.print
        args: { count: 3, title: "DASHBOARD" }
        expect: { accepted: true }
      - prompt: choice
        message: How is the cut edge of the DASHBOARD receipt?
        choices: [clean, ragged, torn]
        fail_on: [torn]
        timeout: 90s
)";

// What the test reads of a run's card, in one round trip.
const char* read_run_card = R"(
const card = document.getElementById('run-' + arguments[0]);
if (!card) return null;
return {
  progress: card.querySelector('[role=progressbar]').getAttribute('aria-valuenow'),
  iteration: card.querySelector('.iteration').textContent,
  scenario: card.querySelector('.scenario').textContent,
  status: card.querySelector('.status').textContent,
};
)";

const char* read_charts = R"(
return [...document.querySelectorAll('#soaks svg.chart')].map((svg) => ({
  label: svg.getAttribute('aria-label'),
  points: svg.querySelectorAll('circle.pt').length,
  line: svg.querySelectorAll('polyline').length,
}));
)";

std::string diagnostics(Browser& b, const Daemon& d) {
    std::string out = "--- browser console:\n" + b.console_log().dump(1);
    out += "\n--- certlabd log (tail):\n";
    const auto log = d.log();
    out += log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
    return out;
}

}  // namespace

TEST_CASE("dashboard: a headless Chromium follows a soak live, answers its prompt and keeps a screenshot") {
    const std::filesystem::path artifacts = CERTLAB_TEST_ARTIFACTS;
    std::filesystem::create_directories(artifacts);

    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "dashboard.yaml", dashboard_suite);
    Sim sim = start_printer(Link::tcp);
    Daemon d(dir, station_yaml({{"printer-1", sim.address, ""}}, dir / "store.db", dir / "suites"));
    REQUIRE_MESSAGE(d.wait_for_state({"printer-1"}, "ready"), d.log());

    // The page as the server sends it: public, with its own caching and strict headers.
    auto page = http_request("GET", d.port(), "/");
    REQUIRE(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.header("Cache-Control") == "no-cache");
    CHECK(page.header("Content-Security-Policy").value_or("").find("default-src 'self'") == 0);
    CHECK(page.header("ETag").has_value());

    BrowserOptions options;
    options.width = 1400;
    options.height = 1500;
    Browser b(options);
    b.navigate(d.station_url() + "/");
    REQUIRE_MESSAGE(b.wait_for("#live[data-state=live]", 20s), diagnostics(b, d));
    REQUIRE_MESSAGE(b.wait_for("#device-printer-1[data-state=ready]", 20s), diagnostics(b, d));
    CHECK(wait_until([&] { return b.text(*b.find("#station")) == "test-bench"; }, 10s));  // from /v1/health
    // Survives only as long as the page is not reloaded: checked at the end.
    b.execute("window.__dashboardTestMarker = 1;");

    const auto run_id = d.start_run("printer-1", "dashboard-demo");
    REQUIRE(run_id > 0);

    // Live progress: the card's progress value changes at least twice while the run
    // goes, with no reload (the marker) and no polling of ours but the DOM.
    std::vector<double> seen;
    std::set<std::string> iterations;
    const bool moved = wait_until(
        [&] {
            auto card = b.execute(read_run_card, json::array({run_id}));
            if (!card.is_object() || card["status"] != "running") return false;
            const double progress = std::stod(card["progress"].get<std::string>());
            if (seen.empty() || progress != seen.back()) seen.push_back(progress);
            iterations.insert(card["iteration"].get<std::string>());
            return seen.size() >= 4;
        },
        40s);
    INFO("progress values seen: " << json(seen).dump() << ", iterations: " << json(iterations).dump());
    REQUIRE_MESSAGE(moved, diagnostics(b, d));
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] > seen[i - 1]);  // forward only
    CHECK(seen.back() < 100.0);
    CHECK(iterations.size() >= 2);  // "k of 25" counted along

    // The prompt appears on the page, as the API lists it.
    auto card = b.wait_for("#prompts .prompt[data-kind=choice]", 60s);
    REQUIRE_MESSAGE(card, diagnostics(b, d));
    const auto prompt_id = std::stoll(b.attribute(*card, "data-prompt").value_or("0"));
    auto listed = d.get("/v1/prompts?run=" + std::to_string(run_id))["prompts"];
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["id"] == prompt_id);
    CHECK(b.text(*b.find("#prompt-" + std::to_string(prompt_id) + " .message")) ==
          "How is the cut edge of the DASHBOARD receipt?");
    CHECK(b.find_all("#prompt-" + std::to_string(prompt_id) + " button[data-answer]").size() == 3);

    // The soak's charts are drawn by now (its scenario ended before the prompt opened).
    auto charts_ready = [&] {
        auto charts = b.execute(read_charts);
        if (!charts.is_array() || charts.size() != 2) return false;
        for (const auto& c : charts)
            if (c["points"] != soak_iterations) return false;
        return true;
    };
    CHECK_MESSAGE(wait_until(charts_ready, 20s), b.execute(read_charts).dump());
    b.save_screenshot(artifacts / "dashboard.png");

    // Answer it with a click, as a technician would.
    b.send_keys(*b.find("#by"), "dana");
    b.click(*b.find("#prompt-" + std::to_string(prompt_id) + " button[data-answer=ragged]"));
    auto answered = json();
    CHECK(wait_until(
        [&] {
            answered = d.get("/v1/prompts/" + std::to_string(prompt_id));
            return answered["status"] == "answered";
        },
        20s));
    CHECK(answered["answer"] == "ragged");
    CHECK(answered["answered_by"] == "dana");

    auto run = d.wait_for_run(run_id, 60s);
    CHECK(run["run"]["status"] == "completed");
    CHECK_MESSAGE(run["run"]["outcome"] == "pass", run["run"].dump());
    CHECK(scenario_of(run, "DSH-1")["iterations"] == soak_iterations);
    CHECK(scenario_of(run, "DSH-2")["outcome"] == "pass");

    // The page follows to the end: the prompt leaves, the run is listed as passed.
    CHECK(wait_until([&] { return !b.find("#prompts .prompt").has_value(); }, 20s));
    auto row = b.wait_for("#recent-" + std::to_string(run_id), 20s);
    REQUIRE_MESSAGE(row, diagnostics(b, d));
    CHECK(wait_until([&] { return b.text(*b.find("#recent-" + std::to_string(run_id))).find("pass") != std::string::npos; }, 10s));
    CHECK(wait_until(charts_ready, 10s));
    CHECK(b.execute("return window.__dashboardTestMarker;") == 1);  // never reloaded
    b.save_screenshot(artifacts / "dashboard-ended.png");

    // The screenshot is a real PNG of the page.
    const auto png = read_file(artifacts / "dashboard.png");
    CHECK(png.size() > 20'000);
    CHECK(png.rfind("\x89PNG\r\n\x1a\n", 0) == 0);

    // Nothing the page did was refused or failed (a CSP violation would be logged here).
    for (const auto& entry : b.console_log())
        CHECK_MESSAGE(entry.value("level", "") != "SEVERE", entry.dump());
}
