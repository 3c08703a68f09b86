// The report's soak section: a soak's statistics, and its pass rate and latency over
// time as SVG charts recounted from its steps (export_soak.hpp).
#include <cmath>

#include "cli/export_html.hpp"
#include "cli/export_soak.hpp"
#include "cli/export_text.hpp"
#include "cli/svg_chart.hpp"

namespace certlab::cli::report {

using exporting::list;
using exporting::member;

namespace {

using namespace exporting;

/// Elapsed time in the unit that keeps the axis readable, with its symbol.
std::pair<double, std::string> time_unit(double span_s) {
    if (span_s >= 3 * 3600) return {3600, "h"};
    if (span_s >= 3 * 60) return {60, "min"};
    return {1, "s"};
}

std::string stat(const std::string& label, const std::string& value) {
    return "<div class=\"stat\"><div class=\"stat-value\">" + value + "</div><div class=\"stat-label\">" + label +
           "</div></div>";
}

std::string soak_block(const Json& entry, const Json& scenario) {
    const auto& run = entry.value("run", Json::object());
    const auto& stats = scenario.value("stats", Json::object());
    const auto windows = soak_windows(scenario);
    const double span = windows.empty() ? 0 : windows.back().elapsed_s;
    const auto [divisor, unit] = time_unit(span);

    svg::Chart pass{.title = "Pass rate per window of iterations",
                    .x = {.label = "Elapsed time", .unit = unit, .min = 0.0, .max = std::nullopt},
                    .y = {.label = "Pass rate", .unit = "%", .min = 0.0, .max = 100.0},
                    .series = {}};
    svg::Series rate{.name = "pass rate", .color = "#1a7f37", .points = {}};
    svg::Chart latency{.title = "Call latency per window of iterations",
                       .x = {.label = "Elapsed time", .unit = unit, .min = 0.0, .max = std::nullopt},
                       .y = {.label = "Latency", .unit = "ms", .min = 0.0, .max = std::nullopt},
                       .series = {}};
    svg::Series p50{.name = "median", .color = "#1f5fa8", .points = {}};
    svg::Series p95{.name = "95th percentile", .color = "#c77700", .points = {}};
    for (const auto& w : windows) {
        const double x = w.elapsed_s / divisor;
        rate.points.push_back({x, w.pass_rate * 100});
        if (w.latency_p50_ms) p50.points.push_back({x, *w.latency_p50_ms});
        if (w.latency_p95_ms) p95.points.push_back({x, *w.latency_p95_ms});
    }
    pass.series.push_back(std::move(rate));
    latency.series.push_back(std::move(p50));
    latency.series.push_back(std::move(p95));

    std::string pass_rate = "—";
    if (stats.value("pass_rate", Json()).is_number()) pass_rate = number(stats["pass_rate"].get<double>() * 100, 4) + " %";
    std::string out = "<article class=\"soak\" data-scenario=\"" + xml_attr(str(scenario, "scenario")) + "\">\n";
    out += "<h3>" + cell(scenario, "scenario") + " · " + cell(scenario, "title") + " <span class=\"muted\">run " +
           cell(run, "id") + "</span> " + pill(str(scenario, "outcome").empty() ? "running" : str(scenario, "outcome")) +
           "</h3>\n<div class=\"stats\">";
    out += stat("iterations", cell(scenario, "iterations") + " <span class=\"muted\">of " +
                                  cell(scenario, "iterations_planned") + "</span>");
    out += stat("pass rate", pass_rate);
    out += stat("failed · errors · timeouts",
                cell(stats, "failed") + " · " + cell(stats, "errors") + " · " + cell(stats, "timeouts"));
    out += stat("power cycles", cell(stats, "power_cycles"));
    out += "</div>\n";
    if (const auto& lat = stats.value("latency", Json::array()); !lat.empty()) {
        out += "<table class=\"compact\"><thead><tr><th>Action</th><th class=\"num\">Calls</th><th class=\"num\">p50 "
               "[ms]</th><th class=\"num\">p95 [ms]</th><th class=\"num\">p99 [ms]</th><th class=\"num\">max "
               "[ms]</th></tr></thead><tbody>\n";
        for (const auto& l : lat)
            out += "<tr><td><code>" + cell(l, "action") + "</code></td><td class=\"num\">" + cell(l, "count") +
                   "</td><td class=\"num\">" + cell(l, "p50_ms") + "</td><td class=\"num\">" + cell(l, "p95_ms") +
                   "</td><td class=\"num\">" + cell(l, "p99_ms") + "</td><td class=\"num\">" + cell(l, "max_ms") +
                   "</td></tr>\n";
        out += "</tbody></table>\n";
    }
    const auto per = windows.empty() ? 0 : windows.front().iterations;
    out += "<div class=\"charts\">\n<figure>" + svg::render(pass) + "</figure>\n<figure>" + svg::render(latency) +
           "</figure>\n</div>\n<p class=\"note\">Recounted from the soak's " +
           std::to_string(list(scenario, "steps").size()) + " recorded steps in " +
           std::to_string(windows.size()) + " windows of " + std::to_string(per) +
           " iteration(s); latency is that of the calls the device answered.</p>\n</article>\n";
    return out;
}

}  // namespace

std::string soak_section(const Json& doc) {
    std::string blocks;
    for (const auto& entry : list(doc, "runs"))
        for (const auto& s : list(entry, "scenarios"))
            if (member(s, "stats").is_object()) blocks += soak_block(entry, s);
    if (blocks.empty()) return {};
    return "<section id=\"soak\">\n<h2>Soak results</h2>\n" + blocks + "</section>\n";
}

}  // namespace certlab::cli::report
