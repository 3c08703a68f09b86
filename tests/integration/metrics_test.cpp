// Issue 7, acceptance 3: `promtool check metrics` passes on a live /metrics during a
// run (and before and after it), and the numbers say what the station did: the printer
// busy during the run, as many steps counted as the run committed, its soak iterations.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>

#include "harness.hpp"

using namespace certlab::test;

namespace {

// 12 iterations with a 250 ms pause each: ~3 s, time to scrape while it runs.
const char* soak_yaml = R"(suite: metrics-soak
title: A short soak for the metrics test
requires: [printer]
scenarios:
  - id: M-1
    title: Status, print and a pause, 12 times
    iterations: 12
    steps:
      - call: printer.status
        expect: { online: true }
      - call: printer.print
        args: { lines: ["metrics test line"] }
        expect: { accepted: true }
      - wait: 250ms
  - id: M-2
    title: One more status
    steps:
      - call: printer.status
        expect: { online: true }
)";

std::optional<std::filesystem::path> find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        auto candidate = std::filesystem::path(dir) / name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

/// `promtool check metrics` on `text`: exit status and what it said. promtool reads
/// the page on its stdin only, so a shell redirects the file to it; the file name goes
/// in as "$1", never into the script.
RunResult promtool_check(const TempDir& dir, const std::string& text) {
    auto exe = find_on_path("promtool");
    // Never a silent pass: without promtool this acceptance test cannot be met.
    REQUIRE_MESSAGE(exe, "promtool not found on PATH: install the Debian package 'prometheus' "
                         "(scripts/lib.sh lists it)");
    const auto page = dir / "metrics.txt";
    const auto err = dir / "promtool.err";
    write_file(page, text);
    std::filesystem::remove(err);
    auto r = run({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", exe->string(), page.string()}, 30s, err);
    if (std::filesystem::exists(err)) r.out += read_file(err);
    return r;
}

/// The samples of a scrape: "name{labels}" as written -> value.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.rfind(' ');
        REQUIRE_MESSAGE(space != std::string::npos, line);
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

double value(const std::map<std::string, double>& s, const std::string& key) {
    auto it = s.find(key);
    REQUIRE_MESSAGE(it != s.end(), "no sample " << key);
    return it->second;
}

struct Scrape {
    std::string text;
    std::map<std::string, double> samples;
};

/// GET /metrics, checked by promtool.
Scrape scrape(const Daemon& d, const TempDir& dir) {
    auto res = http_get(d.port(), "/metrics");
    REQUIRE(res.status == 200);
    CHECK(res.content_type == "text/plain; version=0.0.4; charset=utf-8");
    auto check = promtool_check(dir, res.body);
    INFO("promtool said:\n" << check.out << "\non:\n" << res.body);
    CHECK(check.status == 0);
    return {res.body, samples(res.body)};
}

}  // namespace

TEST_CASE("metrics: promtool accepts /metrics before, during and after a run, and the numbers add up") {
    TempDir dir;
    Sim printer = start_printer(Link::pty);
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "metrics-soak.yaml", soak_yaml);
    Daemon d(dir, station_yaml({{"p1", printer.address, ""}}, dir / "s.db", dir / "suites"));
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());

    auto before = scrape(d, dir);
    CHECK(value(before.samples, "certlab_devices{state=\"ready\"}") == 1);
    CHECK(value(before.samples, "certlab_devices{state=\"busy\"}") == 0);
    CHECK(value(before.samples, "certlab_devices{state=\"quarantined\"}") == 0);
    CHECK(value(before.samples, "certlab_steps_total{outcome=\"pass\"}") == 0);
    CHECK(value(before.samples, "certlab_runs{status=\"running\"}") == 0);
    CHECK(value(before.samples, "certlab_prompts_waiting") == 0);
    CHECK(before.text.find("certlab_build_info{version=\"") != std::string::npos);
    CHECK(value(before.samples, "certlab_uptime_seconds") >= 0);

    const auto id = d.start_run("p1", "metrics-soak");
    REQUIRE_MESSAGE(id > 0, d.log());
    const auto run_path = "/v1/runs/" + std::to_string(id) + "?steps=0";
    // Into the second iteration: well before the end of a 3 s run.
    REQUIRE_MESSAGE(wait_until([&] { return d.get(run_path)["step_count"].get<int>() >= 4; }, 20s), d.log());

    auto during = scrape(d, dir);
    CHECK(value(during.samples, "certlab_devices{state=\"busy\"}") == 1);
    CHECK(value(during.samples, "certlab_devices{state=\"ready\"}") == 0);
    CHECK(value(during.samples, "certlab_runs{status=\"running\"}") == 1);
    CHECK(value(during.samples, "certlab_steps_total{outcome=\"pass\"}") >= 4);
    CHECK(value(during.samples, "certlab_soak_iterations_total") >= 1);
    CHECK(value(during.samples, "certlab_soak_iterations_total") < 12);
    CHECK(value(during.samples, "certlab_runs_ended_total{outcome=\"pass\"}") == 0);
    const auto still = d.get(run_path);
    REQUIRE_MESSAGE(still["run"]["status"] == "running", "the run ended before the scrape was checked");

    auto detail = d.wait_for_run(id, 30s);
    REQUIRE_MESSAGE(detail["run"]["outcome"] == "pass", detail.dump(1));
    const auto step_count = detail["step_count"].get<double>();
    REQUIRE(step_count == 12 * 3 + 1);
    // The device is put back to ready just after the run is closed in the store.
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready", 5s), d.log());

    auto after = scrape(d, dir);
    double steps = 0;
    for (const char* o : {"pass", "fail", "error", "timeout", "aborted", "skipped"})
        steps += value(after.samples, std::string("certlab_steps_total{outcome=\"") + o + "\"}");
    CHECK(steps == step_count);
    CHECK(value(after.samples, "certlab_steps_total{outcome=\"pass\"}") == step_count);
    CHECK(value(after.samples, "certlab_step_duration_seconds_count") == step_count);
    CHECK(value(after.samples, "certlab_step_duration_seconds_bucket{le=\"+Inf\"}") == step_count);
    // The 12 pauses take 250 ms each: none of them is under 100 ms, all under 1 s.
    CHECK(value(after.samples, "certlab_step_duration_seconds_bucket{le=\"0.1\"}") <= step_count - 12);
    CHECK(value(after.samples, "certlab_step_duration_seconds_bucket{le=\"1\"}") == step_count);
    CHECK(value(after.samples, "certlab_step_duration_seconds_sum") >= 12 * 0.25);
    CHECK(value(after.samples, "certlab_soak_iterations_total") == 12);
    CHECK(value(after.samples, "certlab_runs_ended_total{outcome=\"pass\"}") == 1);
    CHECK(value(after.samples, "certlab_runs{status=\"running\"}") == 0);
    CHECK(value(after.samples, "certlab_runs{status=\"queued\"}") == 0);
    CHECK(value(after.samples, "certlab_devices{state=\"busy\"}") == 0);
    CHECK(value(after.samples, "certlab_devices{state=\"ready\"}") == 1);
    CHECK(value(after.samples, "certlab_uptime_seconds") >= value(during.samples, "certlab_uptime_seconds"));
}
