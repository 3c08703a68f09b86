// The report's SVG line charts (daemon/cli/svg_chart): scales, ticks, empty data,
// a single point, labels with units.
#include <doctest/doctest.h>

#include <regex>

#include "cli/svg_chart.hpp"

using namespace certlab::cli::svg;

namespace {

int count(const std::string& text, const std::string& part) {
    int n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

/// The coordinates of a path's `d` ("M1 2L3 4" -> {1,2,3,4}).
std::vector<double> path_numbers(const std::string& svg) {
    std::smatch m;
    REQUIRE(std::regex_search(svg, m, std::regex("class=\"series\"[^>]* d=\"([^\"]*)\"")));
    std::vector<double> out;
    std::string d = m[1];
    std::regex num("-?[0-9]+(\\.[0-9]+)?");
    for (auto it = std::sregex_iterator(d.begin(), d.end(), num); it != std::sregex_iterator(); ++it)
        out.push_back(std::stod(it->str()));
    return out;
}

}  // namespace

TEST_CASE("svg chart: a scale maps the data interval onto the pixels, inverted axes too") {
    Scale x(0, 100, 64, 542);
    CHECK(x(0) == doctest::Approx(64));
    CHECK(x(100) == doctest::Approx(542));
    CHECK(x(50) == doctest::Approx(303));
    Scale y(0, 10, 212, 34);  // SVG's y grows downwards
    CHECK(y(0) == doctest::Approx(212));
    CHECK(y(10) == doctest::Approx(34));
    CHECK(y(2.5) == doctest::Approx(167.5));
    Scale flat(5, 5, 0, 100);
    CHECK(flat(5) == doctest::Approx(50));
    CHECK(flat(7) == doctest::Approx(50));
}

TEST_CASE("svg chart: ticks are round numbers that cover the data") {
    CHECK(nice_ticks(0, 100, 5) == std::vector<double>{0, 20, 40, 60, 80, 100});
    auto t = nice_ticks(0.3, 9.7, 5);
    REQUIRE(t.size() >= 2);
    CHECK(t.front() <= 0.3);
    CHECK(t.back() >= 9.7);
    CHECK(t[1] - t[0] == doctest::Approx(2));
    auto small = nice_ticks(1.02, 1.07, 4);
    CHECK(small.front() <= 1.02);
    CHECK(small.back() >= 1.07);
    CHECK(small.size() <= 6);
    // One value: a band around it, with the value inside.
    auto one = nice_ticks(3, 3, 4);
    CHECK(one.front() < 3);
    CHECK(one.back() > 3);
    auto zero = nice_ticks(0, 0, 4);
    CHECK(zero.front() < 0);
    CHECK(zero.back() > 0);
}

TEST_CASE("svg chart: without data the frame says so and draws no series") {
    Chart c{.title = "Pass rate", .x = {"Elapsed time", "s", 0.0, {}}, .y = {"Pass rate", "%", 0.0, 100.0}, .series = {}};
    c.series.push_back({"pass rate", "#1a7f37", {}});
    auto svg = render(c);
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("no data") != std::string::npos);
    CHECK(svg.find("class=\"series\"") == std::string::npos);
    CHECK(svg.find("Pass rate [%]") != std::string::npos);
    CHECK(svg.find("Elapsed time [s]") != std::string::npos);
    CHECK(count(svg, "<svg") == 1);
    CHECK(count(svg, "</svg>") == 1);
}

TEST_CASE("svg chart: a single point is drawn inside the plot, with a marker") {
    Chart c{.title = "Latency", .x = {"Elapsed time", "s", {}, {}}, .y = {"Latency", "ms", {}, {}}, .series = {}};
    c.series.push_back({"median", "#1f5fa8", {{12.0, 3.5}}});
    auto svg = render(c);
    CHECK(svg.find("no data") == std::string::npos);
    auto xy = path_numbers(svg);
    REQUIRE(xy.size() == 2);
    // The plot area is x 64..542, y 40..212 for the default 560 x 260.
    CHECK(xy[0] > 64);
    CHECK(xy[0] < 542);
    CHECK(xy[1] > 40);
    CHECK(xy[1] < 212);
    CHECK(count(svg, "class=\"marker\"") == 1);
}

TEST_CASE("svg chart: points map by the axis bounds, series get a legend, text is escaped") {
    Chart c{.title = "Rate <per> window & more", .x = {"Elapsed time", "min", 0.0, {}}, .y = {"Pass rate", "%", 0.0, 100.0},
            .series = {}};
    c.series.push_back({"pass rate", "#1a7f37", {{0, 100}, {5, 50}, {10, 0}}});
    c.series.push_back({"other", "#c77700", {{0, 0}, {10, 100}}});
    auto svg = render(c);
    CHECK(count(svg, "class=\"series\"") == 2);
    auto xy = path_numbers(svg);
    REQUIRE(xy.size() == 6);
    CHECK(xy[0] == doctest::Approx(64));    // x = 0 at the left edge
    CHECK(xy[1] == doctest::Approx(40));    // 100 % at the top
    CHECK(xy[4] == doctest::Approx(542));   // x = 10 at the right edge (ticks 0..10)
    CHECK(xy[5] == doctest::Approx(212));   // 0 % at the bottom
    CHECK(xy[3] == doctest::Approx(126));   // 50 % in the middle
    CHECK(svg.find("Rate &lt;per&gt; window &amp; more") != std::string::npos);
    CHECK(count(svg, "class=\"legend\"") == 2);
    CHECK(svg.find(">100<") != std::string::npos);  // a y tick label
}
