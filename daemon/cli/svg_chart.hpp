// Line charts as inline SVG for the certification report (export_html.cpp): axes
// with round ticks, labels with units, one path per series. Pure text out; no script,
// no external resources, so the chart prints and renders anywhere.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace certlab::cli::svg {

struct Point {
    double x = 0;
    double y = 0;
};

struct Series {
    std::string name;
    std::string color = "#1f5fa8";  ///< CSS colour of the line and its markers
    std::vector<Point> points;      ///< in x order
};

struct Axis {
    std::string label;          ///< what it shows, e.g. "Pass rate"
    std::string unit;           ///< shown as "[unit]" after the label; may be empty
    std::optional<double> min;  ///< fixed bounds (e.g. 0..100 %); else from the data
    std::optional<double> max;
};

struct Chart {
    std::string title;
    Axis x;
    Axis y;
    std::vector<Series> series;
    int width = 560;   ///< [px] of the viewBox; the SVG scales to its container
    int height = 260;  ///< [px]
};

/// A linear map of the data interval [d0, d1] onto the pixel interval [r0, r1]. An
/// empty interval (d0 == d1) maps every value to the middle of the pixel interval.
class Scale {
public:
    Scale(double d0, double d1, double r0, double r1) : d0_(d0), d1_(d1), r0_(r0), r1_(r1) {}
    [[nodiscard]] double operator()(double v) const;

private:
    double d0_, d1_, r0_, r1_;
};

/// Round tick values (steps of 1, 2 or 5 times a power of ten) from at or below `lo`
/// to at or above `hi`, at most `max_intervals` intervals apart when the range allows.
/// A range of width zero is widened around its value so it still gets ticks.
[[nodiscard]] std::vector<double> nice_ticks(double lo, double hi, int max_intervals = 5);

/// The chart as an <svg> element. Each series with points is a `<path
/// class="series">` (a single point is also drawn as a marker); without any point
/// the frame says "no data".
[[nodiscard]] std::string render(const Chart& chart);

}  // namespace certlab::cli::svg
