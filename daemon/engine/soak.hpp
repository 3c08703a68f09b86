// A scenario's progress as its committed steps tell it: running soak statistics
// (pass rate, call latency quantiles, drift of measured values) and, for a scenario
// cut by a restart, where to go on. The runner feeds it step by step; a resumed run
// replays the steps from the store through the same code, so the statistics after a
// restart are exactly those of an uncut run, and those of a recount.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "record/model.hpp"

namespace certlab::engine {

/// Call durations [us] as a log-linear histogram: exact below 2048 us, above it
/// 1024 buckets per power of two (a value is kept to within 0.1 %, rounded down).
/// At most 23,552 buckets whatever the soak's length, so memory is bounded.
class LatencyCounts {
public:
    void add(std::uint32_t us);
    [[nodiscard]] std::uint64_t total() const { return total_; }
    [[nodiscard]] std::uint32_t max() const { return max_; }
    /// Nearest-rank quantile (q in (0, 1]); 0 when empty.
    [[nodiscard]] std::uint32_t quantile(double q) const;
    /// The bucket a value falls in, and the value a bucket stands for (its lower bound).
    [[nodiscard]] static std::size_t bucket(std::uint32_t us);
    [[nodiscard]] static std::uint32_t lower_bound(std::size_t bucket);

private:
    std::vector<std::uint64_t> counts_;  ///< grown to the highest bucket seen
    std::uint64_t total_ = 0;
    std::uint32_t max_ = 0;
};

class SoakStats {
public:
    /// A committed step of an iteration (phase main or power); setup and teardown
    /// steps are not part of any iteration and are ignored.
    void add_step(const record::StepResult& step);
    /// One iteration ended with `outcome`.
    void end_iteration(record::Outcome outcome);
    [[nodiscard]] record::SoakStats summary() const;

private:
    /// Mean, extremes and a least-squares slope against the iteration, updated
    /// online (Welford), so a ten-million-iteration soak loses no precision.
    struct Series {
        std::string unit;
        std::int64_t n = 0;
        double first = 0, last = 0, min = 0, max = 0;
        double mean_x = 0, mean_y = 0, m2_x = 0, c_xy = 0;
        void add(double x, double y);
    };
    record::SoakStats counts_;                            ///< counters only
    std::map<std::string, LatencyCounts> latency_us_;  ///< by action
    std::map<std::string, Series> series_;                ///< by measurement name
};


/// Kind of the step a resumed run commits for the iteration a restart cut.
inline constexpr const char* interrupted_kind = "interrupted";

/// What the committed steps of a scenario result say about its progress.
struct Progress {
    SoakStats stats;
    int iterations = 0;         ///< iterations that ended
    int passed = 0;
    int failures = 0;           ///< bad iterations that count toward the stop rules
    record::Outcome outcome = record::Outcome::pass;  ///< worst iteration outcome so far
    std::string first_reason;   ///< of the first bad iteration, as the runner words it
    /// The iteration a restart cut (it has steps but did not end), and the index of
    /// its step that never ran.
    std::optional<int> cut_iteration;
    int cut_index = 0;
    int next_iteration = 0;     ///< where to go on
};

/// Replays a scenario's committed steps (in seq order) as the runner saw them. An
/// iteration's outcome is pass unless one of its steps that was not retried neither
/// passed nor was skipped: then it is that step's, and the iteration ended there.
/// Otherwise it ended with its last step (index steps_per_iteration - 1).
[[nodiscard]] Progress replay(const std::vector<record::StepResult>& steps, std::size_t steps_per_iteration,
                              int iterations_planned);

/// Why an iteration did not pass, from its bad step: "iteration 12, step 2
/// printer.print: <reason>" (the iteration only when there is more than one), or
/// "iteration 12, power cycle: <reason>".
[[nodiscard]] std::string bad_step_reason(const record::StepResult& step, int iterations_planned);

}  // namespace certlab::engine
