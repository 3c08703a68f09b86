// A soak's course over time for the report's charts, recounted from its steps (the
// export's ScenarioResult shape): pass rate and call latency per window of iterations.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cli/format.hpp"

namespace certlab::cli::exporting {

struct SoakWindow {
    std::int64_t first_iteration = 0;  ///< 0-based, inclusive
    std::int64_t last_iteration = 0;   ///< inclusive
    std::int64_t iterations = 0;
    std::int64_t passed = 0;
    double pass_rate = 0;                ///< passed / iterations, 0..1
    double elapsed_s = 0;                ///< [s] from the soak's first step to this window's end
    std::optional<double> latency_p50_ms;  ///< [ms] of the calls answered in the window; none without any
    std::optional<double> latency_p95_ms;  ///< [ms]
};

/// The windows of a scenario's `main` steps: consecutive iterations in groups of
/// ceil(iterations / max_windows). An iteration passes unless a step of it that was
/// not retried ended other than pass or skipped (the engine's rule for soak stats).
/// Latency counts `call` steps that got an answer (pass or fail).
[[nodiscard]] std::vector<SoakWindow> soak_windows(const Json& scenario, std::size_t max_windows = 50);

/// Nearest-rank quantile `q` (0..1) of `values`; nullopt when empty.
[[nodiscard]] std::optional<double> quantile(std::vector<double> values, double q);

}  // namespace certlab::cli::exporting
