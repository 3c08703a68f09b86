#include "cli/export_soak.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "cli/export_text.hpp"

namespace certlab::cli::exporting {

namespace {

struct Iteration {
    std::string outcome = "pass";
    std::int64_t end_ms = 0;  ///< when its last step ended
    std::vector<double> latency_ms;
};

}  // namespace

std::optional<double> quantile(std::vector<double> values, double q) {
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::vector<SoakWindow> soak_windows(const Json& scenario, std::size_t max_windows) {
    std::map<std::int64_t, Iteration> iterations;
    std::optional<std::int64_t> start_ms;
    for (const auto& step : list(scenario, "steps")) {
        if (step.value("phase", "") != "main") continue;
        auto started = parse_time_ms(step.value("started_at", ""));
        if (!started) continue;
        const double duration_ms = step.value("duration_us", 0.0) / 1000.0;
        auto& it = iterations[step.value("iteration", std::int64_t{0})];
        const auto outcome = step.value("outcome", "");
        if (it.outcome == "pass" && outcome != "pass" && outcome != "skipped" && !step.value("retried", false))
            it.outcome = outcome;
        if (step.value("kind", "") == "call" && (outcome == "pass" || outcome == "fail"))
            it.latency_ms.push_back(duration_ms);
        it.end_ms = std::max(it.end_ms, *started + static_cast<std::int64_t>(std::llround(duration_ms)));
        start_ms = start_ms ? std::min(*start_ms, *started) : *started;
    }
    std::vector<SoakWindow> windows;
    if (iterations.empty()) return windows;
    const std::size_t per = (iterations.size() + std::max<std::size_t>(max_windows, 1) - 1) / std::max<std::size_t>(max_windows, 1);
    std::vector<double> latency;
    SoakWindow w;
    std::size_t in_window = 0;
    for (auto i = iterations.begin(); i != iterations.end(); ++i) {
        if (in_window == 0) {
            w = SoakWindow{};
            w.first_iteration = i->first;
        }
        w.last_iteration = i->first;
        ++w.iterations;
        w.passed += i->second.outcome == "pass";
        w.elapsed_s = std::max(w.elapsed_s, static_cast<double>(i->second.end_ms - *start_ms) / 1000.0);
        latency.insert(latency.end(), i->second.latency_ms.begin(), i->second.latency_ms.end());
        if (++in_window == per || std::next(i) == iterations.end()) {
            w.pass_rate = static_cast<double>(w.passed) / static_cast<double>(w.iterations);
            w.latency_p50_ms = quantile(latency, 0.5);
            w.latency_p95_ms = quantile(latency, 0.95);
            windows.push_back(w);
            latency.clear();
            in_window = 0;
        }
    }
    return windows;
}

}  // namespace certlab::cli::exporting
