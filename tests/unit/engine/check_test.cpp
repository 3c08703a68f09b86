#include <doctest/doctest.h>

#include "engine/check.hpp"

using namespace certlab;
using engine::Check;

TEST_CASE("check: equals compares values, numbers across int and double") {
    Check c;
    c.key = "online";
    c.expected = true;
    CHECK(engine::evaluate(c, {{"online", true}}).ok);
    auto r = engine::evaluate(c, {{"online", false}});
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "online: expected true, got false");
    CHECK(engine::evaluate(c, {}).reason == "online: no value reported");

    Check n;
    n.key = "lines";
    n.expected = sdk::Value(std::int64_t{40});
    CHECK(engine::evaluate(n, {{"lines", sdk::Value(40.0)}}).ok);
    CHECK_FALSE(engine::evaluate(n, {{"lines", sdk::Value(std::int64_t{39})}}).ok);
}

TEST_CASE("check: regex searches the text form") {
    Check c;
    c.key = "firmware";
    c.kind = Check::Kind::regex;
    c.pattern = "^1\\.";
    c.re = std::regex(c.pattern);
    CHECK(engine::evaluate(c, {{"firmware", "1.04"}}).ok);
    auto r = engine::evaluate(c, {{"firmware", "0.9"}});
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "firmware: expected to match /^1\\./, got '0.9'");
}

TEST_CASE("check: ranges convert the reported unit and record measurements") {
    Check c;
    c.key = "latency";
    c.kind = Check::Kind::range;
    c.unit = "ms";
    c.max = 200;
    c.record = true;
    auto ok = engine::evaluate(c, {{"latency", sdk::Value(0.15, "s")}});
    CHECK(ok.ok);
    REQUIRE(ok.measurement);
    CHECK(ok.measurement->value == doctest::Approx(150));
    CHECK(ok.measurement->unit == "ms");
    CHECK(ok.measurement->within);
    auto high = engine::evaluate(c, {{"latency", sdk::Value(250.0, "ms")}});
    CHECK_FALSE(high.ok);
    CHECK(high.reason == "latency: 250 ms is above the limit of 200 ms");
    REQUIRE(high.measurement);
    CHECK_FALSE(high.measurement->within);
    c.min = 10;
    CHECK(engine::evaluate(c, {{"latency", sdk::Value(5.0, "ms")}}).reason ==
          "latency: 5 ms is below the limit of 10 ms");
    CHECK(engine::evaluate(c, {{"latency", sdk::Value(5.0, "V")}}).reason.find("cannot be compared") !=
          std::string::npos);
    CHECK(engine::evaluate(c, {{"latency", "fast"}}).reason == "latency: expected a number, got fast");
}
