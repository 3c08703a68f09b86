// The metrics registry and its Prometheus text rendering.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "api/metrics.hpp"

using namespace certlab::api::metrics;

TEST_CASE("metrics: a counter family renders HELP, TYPE and one line per series") {
    Registry r;
    r.counter("x_total", "Things done.", {{"outcome", "pass"}}).inc();
    r.counter("x_total", "Things done.", {{"outcome", "pass"}}).inc(2);
    r.counter("x_total", "Things done.", {{"outcome", "fail"}});
    CHECK(r.render() ==
          "# HELP x_total Things done.\n"
          "# TYPE x_total counter\n"
          "x_total{outcome=\"pass\"} 3\n"
          "x_total{outcome=\"fail\"} 0\n");
}

TEST_CASE("metrics: a counter ignores a negative increment") {
    Counter c;
    c.inc(5);
    c.inc(-2);
    CHECK(c.value() == 5);
}

TEST_CASE("metrics: gauges without labels and families in first-use order") {
    Registry r;
    r.gauge("b_gauge", "B.").set(1.5);
    r.counter("a_total", "A.").inc();
    r.gauge("b_gauge", "B.").set(-2);
    CHECK(r.render() ==
          "# HELP b_gauge B.\n"
          "# TYPE b_gauge gauge\n"
          "b_gauge -2\n"
          "# HELP a_total A.\n"
          "# TYPE a_total counter\n"
          "a_total 1\n");
}

TEST_CASE("metrics: label values and HELP text are escaped") {
    Registry r;
    r.gauge("g", "Line one\nback\\slash \"quoted\"", {{"path", "C:\\dir\n\"x\""}, {"b", "plain"}}).set(1);
    CHECK(r.render() ==
          "# HELP g Line one\\nback\\\\slash \"quoted\"\n"
          "# TYPE g gauge\n"
          "g{path=\"C:\\\\dir\\n\\\"x\\\"\",b=\"plain\"} 1\n");
    CHECK(escape_label_value("a\"b") == "a\\\"b");
    CHECK(escape_help("a\"b") == "a\"b");  // quotes stay in HELP
}

TEST_CASE("metrics: a histogram renders cumulative buckets, +Inf, _sum and _count") {
    Registry r;
    // Binary fractions, so the sum is exact.
    auto& h = r.histogram("lat_seconds", "Latency.", {0.25, 1, 4});
    h.observe(0.125);
    h.observe(0.25);  // on a bound: in that bucket (le = less or equal)
    h.observe(2);
    h.observe(8);
    CHECK(h.cumulative() == std::vector<std::uint64_t>{2, 2, 3, 4});
    CHECK(r.render() ==
          "# HELP lat_seconds Latency.\n"
          "# TYPE lat_seconds histogram\n"
          "lat_seconds_bucket{le=\"0.25\"} 2\n"
          "lat_seconds_bucket{le=\"1\"} 2\n"
          "lat_seconds_bucket{le=\"4\"} 3\n"
          "lat_seconds_bucket{le=\"+Inf\"} 4\n"
          "lat_seconds_sum 10.375\n"
          "lat_seconds_count 4\n");
}

TEST_CASE("metrics: a labelled histogram puts le after its labels") {
    Registry r;
    r.histogram("h_seconds", "H.", {1}, {{"outcome", "pass"}}).observe(2);
    CHECK(r.render() ==
          "# HELP h_seconds H.\n"
          "# TYPE h_seconds histogram\n"
          "h_seconds_bucket{outcome=\"pass\",le=\"1\"} 0\n"
          "h_seconds_bucket{outcome=\"pass\",le=\"+Inf\"} 1\n"
          "h_seconds_sum{outcome=\"pass\"} 2\n"
          "h_seconds_count{outcome=\"pass\"} 1\n");
}

TEST_CASE("metrics: sample values in the format's spelling") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(42) == "42");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(0.001) == "0.001");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("metrics: misuse is refused") {
    Registry r;
    r.counter("c_total", "C.");
    CHECK_THROWS_AS(r.gauge("c_total", "C."), std::invalid_argument);
    CHECK_THROWS_AS(r.counter("1bad", "B."), std::invalid_argument);
    CHECK_THROWS_AS(r.counter("bad-name", "B."), std::invalid_argument);
    CHECK_THROWS_AS(r.counter("ok_total", "O.", {{"bad-label", "v"}}), std::invalid_argument);
    CHECK_THROWS_AS(r.counter("ok_total", "O.", {{"__reserved", "v"}}), std::invalid_argument);
    CHECK_THROWS_AS(r.histogram("h", "H.", {1}, {{"le", "1"}}), std::invalid_argument);
    CHECK_THROWS_AS(Histogram({1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(Histogram({2, 1}), std::invalid_argument);
    r.histogram("h2", "H.", {1, 2});
    CHECK_THROWS_AS(r.histogram("h2", "H.", {1, 3}), std::invalid_argument);
    CHECK_NOTHROW(r.counter("ns:ok_total", "Colons are allowed in metric names."));
}

TEST_CASE("metrics: series references stay valid as a family grows") {
    Registry r;
    auto& first = r.counter("n_total", "N.", {{"k", "0"}});
    for (int i = 1; i < 100; ++i) r.counter("n_total", "N.", {{"k", std::to_string(i)}});
    first.inc(7);
    CHECK(r.counter("n_total", "N.", {{"k", "0"}}).value() == 7);
}
