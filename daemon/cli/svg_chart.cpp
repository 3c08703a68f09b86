#include "cli/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cli/export_text.hpp"

namespace certlab::cli::svg {

namespace {

using exporting::xml_attr;
using exporting::xml_text;

/// Pixel coordinates with one decimal: enough for any screen, short paths.
std::string px(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

/// A tick label with as many decimals as the tick step needs (0.25 -> "0.25", 20 -> "20").
std::string tick_label(double v, double step) {
    int decimals = step > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9))) : 0;
    if (step > 0 && std::fabs(std::round(step * std::pow(10.0, decimals)) - step * std::pow(10.0, decimals)) > 1e-6)
        ++decimals;  // a step of 2.5 needs one more digit than its magnitude says
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 6), std::fabs(v) < step * 1e-9 ? 0.0 : v);
    return buf;
}

std::string axis_title(const Axis& a) { return a.unit.empty() ? a.label : a.label + " [" + a.unit + "]"; }

struct Range {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    [[nodiscard]] bool empty() const { return lo > hi; }
};

/// The ticks of an axis: its fixed bounds where given, else the data's, rounded out.
std::vector<double> axis_ticks(const Axis& axis, Range data, int intervals) {
    if (axis.min) data.lo = *axis.min;
    if (axis.max) data.hi = *axis.max;
    if (data.empty()) data = {0, 1};
    if (data.lo > data.hi) std::swap(data.lo, data.hi);
    return nice_ticks(data.lo, data.hi, intervals);
}

}  // namespace

double Scale::operator()(double v) const {
    if (d1_ == d0_) return (r0_ + r1_) / 2;
    return r0_ + (v - d0_) / (d1_ - d0_) * (r1_ - r0_);
}

std::vector<double> nice_ticks(double lo, double hi, int max_intervals) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
    if (hi < lo) std::swap(lo, hi);
    if (hi == lo) {
        // One value: a band around it, so it sits inside the axis rather than on an edge.
        double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    max_intervals = std::max(1, max_intervals);
    double raw = (hi - lo) / max_intervals;
    double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double norm = raw / magnitude;
    double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
    auto first = static_cast<long long>(std::floor(lo / step + 1e-9));
    auto last = static_cast<long long>(std::ceil(hi / step - 1e-9));
    std::vector<double> ticks;
    for (long long k = first; k <= last; ++k) ticks.push_back(static_cast<double>(k) * step);
    return ticks;
}

std::string render(const Chart& c) {
    // Room for the title above, tick labels and the axis titles left and below.
    const double left = 64, right = 18, top = 40, bottom = 48;
    const double w = c.width, h = c.height;
    const double x0 = left, x1 = w - right, y0 = h - bottom, y1 = top;

    Range xs, ys;
    bool any_point = false;
    for (const auto& s : c.series)
        for (const auto& p : s.points) {
            xs.add(p.x);
            ys.add(p.y);
            any_point = true;
        }
    const auto xt = axis_ticks(c.x, xs, 6);
    const auto yt = axis_ticks(c.y, ys, 5);
    const Scale sx(xt.front(), xt.back(), x0, x1);
    const Scale sy(yt.front(), yt.back(), y0, y1);
    const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1, ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;

    std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 " + px(w) + " " + px(h) +
                      "\" role=\"img\" aria-label=\"" + xml_attr(c.title) + "\">\n";
    out += "<title>" + xml_text(c.title) + "</title>\n";
    out += "<text class=\"chart-title\" x=\"" + px(x0) + "\" y=\"15\" font-size=\"13\" font-weight=\"600\" "
           "fill=\"#1d2733\">" + xml_text(c.title) + "</text>\n";

    // Grid and tick labels.
    out += "<g class=\"grid\" stroke=\"#e3e7ec\" stroke-width=\"1\">\n";
    for (double t : yt) out += "<line x1=\"" + px(x0) + "\" x2=\"" + px(x1) + "\" y1=\"" + px(sy(t)) + "\" y2=\"" + px(sy(t)) + "\"/>\n";
    for (double t : xt) out += "<line x1=\"" + px(sx(t)) + "\" x2=\"" + px(sx(t)) + "\" y1=\"" + px(y0) + "\" y2=\"" + px(y1) + "\"/>\n";
    out += "</g>\n<g class=\"ticks\" font-size=\"11\" fill=\"#4a5562\">\n";
    for (double t : yt)
        out += "<text x=\"" + px(x0 - 6) + "\" y=\"" + px(sy(t) + 4) + "\" text-anchor=\"end\">" + tick_label(t, ystep) +
               "</text>\n";
    for (double t : xt)
        out += "<text x=\"" + px(sx(t)) + "\" y=\"" + px(y0 + 16) + "\" text-anchor=\"middle\">" + tick_label(t, xstep) +
               "</text>\n";
    out += "</g>\n";

    // Axes and their titles.
    out += "<path class=\"axes\" d=\"M" + px(x0) + " " + px(y1) + "V" + px(y0) + "H" + px(x1) +
           "\" fill=\"none\" stroke=\"#8a96a3\" stroke-width=\"1\"/>\n";
    out += "<text class=\"x-label\" x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px(h - 8) +
           "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#1d2733\">" + xml_text(axis_title(c.x)) + "</text>\n";
    out += "<text class=\"y-label\" transform=\"translate(14 " + px((y0 + y1) / 2) +
           ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"#1d2733\">" + xml_text(axis_title(c.y)) +
           "</text>\n";

    if (!any_point) {
        out += "<text class=\"no-data\" x=\"" + px((x0 + x1) / 2) + "\" y=\"" + px((y0 + y1) / 2) +
               "\" text-anchor=\"middle\" font-size=\"13\" fill=\"#8a96a3\">no data</text>\n";
    }
    for (const auto& s : c.series) {
        if (s.points.empty()) continue;
        std::string d;
        for (const auto& p : s.points) {
            if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
            d += (d.empty() ? "M" : "L") + px(sx(p.x)) + " " + px(sy(p.y));
        }
        if (d.empty()) continue;
        out += "<path class=\"series\" data-series=\"" + xml_attr(s.name) + "\" d=\"" + d + "\" fill=\"none\" stroke=\"" +
               xml_attr(s.color) + "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n";
        // Markers where the line alone would be hard to read: a lone point, or few.
        if (s.points.size() <= 40)
            for (const auto& p : s.points)
                if (std::isfinite(p.x) && std::isfinite(p.y))
                    out += "<circle class=\"marker\" cx=\"" + px(sx(p.x)) + "\" cy=\"" + px(sy(p.y)) + "\" r=\"" +
                           (s.points.size() == 1 ? "4" : "2.5") + "\" fill=\"" + xml_attr(s.color) + "\"/>\n";
    }

    // Legend, when there is more than one line to tell apart: below the title, right-aligned.
    if (c.series.size() > 1) {
        double lx = x1;
        for (auto it = c.series.rbegin(); it != c.series.rend(); ++it) {
            lx -= 14 + 7.0 * static_cast<double>(it->name.size()) + 16;
            out += "<g class=\"legend\"><rect x=\"" + px(lx) + "\" y=\"24\" width=\"12\" height=\"4\" fill=\"" +
                   xml_attr(it->color) + "\"/><text x=\"" + px(lx + 16) + "\" y=\"30\" font-size=\"11\" fill=\"#4a5562\">" +
                   xml_text(it->name) + "</text></g>\n";
        }
    }
    out += "</svg>\n";
    return out;
}

}  // namespace certlab::cli::svg
