// A suite's permissions, and a scenario's narrowing of them.
#include <doctest/doctest.h>

#include <string>

#include "engine/suite.hpp"
#include "sdk/error.hpp"

using namespace certlab;

namespace {

const std::string suite_head = "suite: s\ntitle: S\nrequires: [printer]\npermissions: [orders.print, orders.kitchen_print]\n"
                               "scenarios:\n";
const std::string steps = "    steps:\n      - call: printer.status\n";

}  // namespace

TEST_CASE("suite permissions: a scenario may narrow the suite's permissions, else it has none of its own") {
    auto s = engine::parse_suite(suite_head + "  - id: A-1\n    title: a\n" + steps +
                                     "  - id: A-2\n    title: b\n    permissions: [orders.kitchen_print]\n" + steps,
                                 "s.yaml");
    CHECK(s.permissions == std::vector<std::string>{"orders.print", "orders.kitchen_print"});
    REQUIRE(s.scenarios.size() == 2);
    CHECK(s.scenarios[0].permissions.empty());  // the suite's
    CHECK(s.scenarios[1].permissions == std::vector<std::string>{"orders.kitchen_print"});
}

TEST_CASE("suite permissions: a scenario permission the suite does not list is refused with its place") {
    try {
        (void)engine::parse_suite(suite_head + "  - id: A-1\n    title: a\n    permissions: [orders.prnt]\n" + steps,
                                  "s.yaml");
        FAIL("expected a ConfigError");
    } catch (const sdk::ConfigError& e) {
        std::string msg = e.what();
        INFO(msg);
        CHECK(msg.rfind("s.yaml:8:", 0) == 0);
        CHECK(msg.find("permissions: 'orders.prnt' is not among the suite's permissions") != std::string::npos);
    }
}
