#include <doctest/doctest.h>

#include "engine/units.hpp"

using namespace certlab::engine;

TEST_CASE("units: quantities parse with and without a space") {
    auto q = parse_quantity("250 ms");
    REQUIRE(q);
    CHECK(q->value == 250);
    CHECK(q->unit == "ms");
    CHECK(parse_quantity("3.3V")->unit == "V");
    CHECK(parse_quantity("-5")->unit.empty());
    CHECK(parse_quantity("1e3 Hz")->value == 1000);
    CHECK_FALSE(parse_quantity("fast"));
    CHECK_FALSE(parse_quantity("10 parsecs"));
    CHECK_FALSE(parse_quantity(""));
    CHECK_FALSE(parse_quantity("nan"));
}

TEST_CASE("units: conversion within a dimension, refusal across dimensions") {
    CHECK(*convert(0.25, "s", "ms") == doctest::Approx(250));
    CHECK(*convert(1500, "mV", "V") == doctest::Approx(1.5));
    CHECK(*convert(2, "kg", "g") == doctest::Approx(2000));
    CHECK(*convert(1, "lb", "g") == doctest::Approx(453.59237));
    CHECK(*convert(100, "us", "ms") == doctest::Approx(0.1));
    CHECK(*convert(7, "ms", "ms") == 7);
    CHECK_FALSE(convert(1, "ms", "V"));
    CHECK_FALSE(convert(1, "", "ms"));
    CHECK_FALSE(convert(1, "furlong", "m"));
    CHECK(known_unit(""));
    CHECK(known_unit("mA"));
    CHECK_FALSE(known_unit("MA"));
}
