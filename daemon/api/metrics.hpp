// A small metrics registry and its rendering in the Prometheus text exposition
// format 0.0.4 (what `GET /metrics` serves; docs/API.md lists the families).
// No locks: like the rest of the API it lives on the station's executor thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certlab::api::metrics {

/// The Content-Type of the text exposition format.
inline constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Label name -> value, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    /// Adds `by`; a counter never goes down, so a negative `by` is ignored.
    void inc(double by = 1) {
        if (by > 0) value_ += by;
    }
    [[nodiscard]] double value() const { return value_; }

private:
    double value_ = 0;
};

class Gauge {
public:
    void set(double v) { value_ = v; }
    void inc(double by = 1) { value_ += by; }
    [[nodiscard]] double value() const { return value_; }

private:
    double value_ = 0;
};

class Histogram {
public:
    /// `bounds`: bucket upper bounds, finite and strictly ascending (+Inf is implied).
    /// Throws std::invalid_argument otherwise.
    explicit Histogram(std::vector<double> bounds = {});
    void observe(double v);
    [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }
    /// Observations <= bounds()[i], cumulative; the last entry (+Inf) equals count().
    [[nodiscard]] std::vector<std::uint64_t> cumulative() const;
    [[nodiscard]] double sum() const { return sum_; }
    [[nodiscard]] std::uint64_t count() const { return count_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> buckets_;  ///< per bucket, not cumulative; last: above every bound
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

/// Families of series, rendered in the order they were first asked for. Asking again
/// for the same name and labels returns the same series (references stay valid for
/// the registry's life). A name reused with another type, an invalid metric or label
/// name, or a histogram asked for with other bounds throws std::invalid_argument.
class Registry {
public:
    Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
    Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
    Histogram& histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                         const Labels& labels = {});

    /// Every family: HELP and TYPE lines, then its samples.
    [[nodiscard]] std::string render() const;

private:
    enum class Type { counter, gauge, histogram };
    struct Series {
        Labels labels;
        Counter counter;
        Gauge gauge;
        Histogram histogram;
    };
    struct Family {
        std::string name;
        std::string help;
        Type type;
        std::deque<Series> series;  ///< deque: growing it keeps references to the others
    };
    Series& series(std::string_view name, std::string_view help, Type type, const Labels& labels);

    std::deque<Family> families_;
};

/// Escapes a label value: backslash, double quote and newline.
[[nodiscard]] std::string escape_label_value(std::string_view v);
/// Escapes HELP text: backslash and newline.
[[nodiscard]] std::string escape_help(std::string_view v);
/// A sample value as the format writes it: integers plainly, +Inf, -Inf, NaN.
[[nodiscard]] std::string format_value(double v);

}  // namespace certlab::api::metrics
