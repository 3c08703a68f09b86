#include "engine/soak.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace certlab::engine {

using record::Outcome;
using record::StepPhase;

void SoakStats::Series::add(double x, double y) {
    if (n == 0) first = min = max = y;
    last = y;
    min = std::min(min, y);
    max = std::max(max, y);
    ++n;
    const double dx = x - mean_x;
    mean_x += dx / static_cast<double>(n);
    mean_y += (y - mean_y) / static_cast<double>(n);
    m2_x += dx * (x - mean_x);
    c_xy += dx * (y - mean_y);
}

void SoakStats::add_step(const record::StepResult& step) {
    if (step.phase == StepPhase::power) {
        ++counts_.power_cycles;
        return;
    }
    if (step.phase != StepPhase::main) return;
    if (!step.warning.empty()) ++counts_.marginal;
    // Only answered calls: a timeout's duration is the timer's, not the device's.
    if (!step.action.empty() && (step.outcome == Outcome::pass || step.outcome == Outcome::fail))
        latency_us_[step.action].add(static_cast<std::uint32_t>(std::clamp<std::int64_t>(step.duration_us, 0, UINT32_MAX)));
    for (const auto& m : step.measurements) {
        if (!std::isfinite(m.value)) continue;  // garbage is in the step's outcome, not the trend
        auto& s = series_[m.name];
        s.unit = m.unit;
        s.add(step.iteration, m.value);
    }
}

void SoakStats::end_iteration(Outcome outcome) {
    ++counts_.iterations;
    switch (outcome) {
        case Outcome::pass: ++counts_.passed; break;
        case Outcome::fail: ++counts_.failed; break;
        case Outcome::timeout: ++counts_.timeouts; break;
        case Outcome::error: ++counts_.errors; break;
        default: break;  // aborted: the run was stopped; skipped never ends an iteration
    }
}

std::size_t LatencyCounts::bucket(std::uint32_t us) {
    if (us < 2048) return us;
    const int e = std::bit_width(us) - 11;  // us >> e is in [1024, 2047]
    return 2048 + static_cast<std::size_t>(e - 1) * 1024 + ((us >> e) - 1024);
}

std::uint32_t LatencyCounts::lower_bound(std::size_t b) {
    if (b < 2048) return static_cast<std::uint32_t>(b);
    const auto e = static_cast<int>((b - 2048) / 1024) + 1;
    return static_cast<std::uint32_t>(((b - 2048) % 1024 + 1024) << e);
}

void LatencyCounts::add(std::uint32_t us) {
    const auto b = bucket(us);
    if (b >= counts_.size()) counts_.resize(b + 1);
    ++counts_[b];
    ++total_;
    max_ = std::max(max_, us);
}

std::uint32_t LatencyCounts::quantile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < counts_.size(); ++b) {
        seen += counts_[b];
        if (seen >= rank) return lower_bound(b);
    }
    return max_;
}

record::SoakStats SoakStats::summary() const {
    record::SoakStats s = counts_;
    s.pass_rate = s.iterations ? static_cast<double>(s.passed) / static_cast<double>(s.iterations) : 0;
    for (const auto& [action, us] : latency_us_) {
        record::LatencyStats l;
        l.action = action;
        l.count = static_cast<std::int64_t>(us.total());
        l.p50_ms = us.quantile(0.50) / 1000.0;
        l.p95_ms = us.quantile(0.95) / 1000.0;
        l.p99_ms = us.quantile(0.99) / 1000.0;
        l.max_ms = us.max() / 1000.0;
        s.latency.push_back(std::move(l));
    }
    for (const auto& [name, x] : series_) {
        record::DriftStats d;
        d.name = name;
        d.unit = x.unit;
        d.count = x.n;
        d.first = x.first;
        d.last = x.last;
        d.min = x.min;
        d.max = x.max;
        d.mean = x.mean_y;
        // All values in one iteration: no slope to speak of.
        d.slope_per_1k = x.m2_x > 0 ? x.c_xy / x.m2_x * 1000.0 : 0.0;
        s.drift.push_back(std::move(d));
    }
    return s;
}

std::string bad_step_reason(const record::StepResult& step, int iterations_planned) {
    std::string out;
    if (iterations_planned > 1) out = "iteration " + std::to_string(step.iteration + 1) + ", ";
    if (step.phase == StepPhase::power) return out + "power cycle: " + step.reason;
    if (step.kind == interrupted_kind) return out + step.reason;
    std::string what = step.action.empty() ? step.kind : step.action;
    return out + "step " + std::to_string(step.index + 1) + " " + what + ": " + step.reason;
}

namespace {

bool ends_iteration(const record::StepResult& s) {
    return !s.retried && s.outcome != Outcome::pass && s.outcome != Outcome::skipped;
}

}  // namespace

Progress replay(const std::vector<record::StepResult>& steps, std::size_t steps_per_iteration,
                int iterations_planned) {
    Progress p;
    // The iteration under way (-1: none); its outcome is known only once it ends.
    int open = -1;
    int last_index = -1;
    auto end = [&](Outcome o, const std::string& reason, bool counts) {
        p.stats.end_iteration(o);
        ++p.iterations;
        if (o == Outcome::pass) {
            ++p.passed;
        } else {
            p.outcome = record::worst(p.outcome, o);
            if (p.first_reason.empty()) p.first_reason = reason;
            if (counts) ++p.failures;
        }
        p.next_iteration = open + 1;
        open = -1;
    };
    for (const auto& s : steps) {
        if (s.phase != StepPhase::main && s.phase != StepPhase::power) continue;
        if (open >= 0 && s.iteration != open) {
            // A later iteration began, so this one ended, though no step said how:
            // cannot happen with this runner; count it as passed, as its steps were.
            end(Outcome::pass, {}, false);
        }
        if (open < 0) {
            open = s.iteration;
            last_index = -1;
        }
        p.stats.add_step(s);
        if (s.phase == StepPhase::main) last_index = s.index;
        if (ends_iteration(s)) {
            // An iteration cut by a restart is the station's fault: it is an error in
            // the statistics, not a device failure toward the stop rules.
            end(s.outcome, bad_step_reason(s, iterations_planned), s.kind != interrupted_kind);
        } else if (s.phase == StepPhase::main && !s.retried &&
                   static_cast<std::size_t>(s.index) + 1 == steps_per_iteration) {
            end(Outcome::pass, {}, false);
        }
    }
    if (open >= 0) {
        p.cut_iteration = open;
        p.cut_index = last_index + 1;
    }
    return p;
}

}  // namespace certlab::engine
