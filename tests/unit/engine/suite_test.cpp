#include <doctest/doctest.h>

#include <string>

#include "engine/suite.hpp"
#include "sdk/error.hpp"

using namespace certlab;
using engine::parse_suite;

namespace {

const std::string head = "suite: s\ntitle: S\nrequires: [printer, cash_drawer]\nscenarios:\n";

/// The ConfigError message for a suite text, or "" if it loaded.
std::string error_of(const std::string& text) {
    try {
        (void)parse_suite(text, "s.yaml");
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("suite: a valid suite loads with typed args, checks and limits in the result's unit") {
    auto s = parse_suite(head +
                             "  - id: A-1\n    title: t\n    iterations: 5\n    interval: 10ms\n    steps:\n"
                             "      - call: printer.print\n        args: { count: 40, title: hello }\n"
                             "        expect: { accepted: true, lines: 40 }\n"
                             "        measure:\n          latency: { min: 1 us, max: 2 s }\n"
                             "      - wait: 50ms\n"
                             "      - call: printer.identify\n        expect:\n          firmware: { regex: \"^1\\\\.\" }\n",
                         "s.yaml");
    REQUIRE(s.scenarios.size() == 1);
    const auto& sc = s.scenarios[0];
    CHECK(sc.iterations == 5);
    CHECK(sc.interval == std::chrono::milliseconds(10));
    REQUIRE(sc.steps.size() == 3);
    CHECK(sc.steps[0].action->qualified() == "printer.print");
    CHECK(std::get<std::int64_t>(sc.steps[0].args.at("count").data) == 40);
    CHECK(std::get<std::string>(sc.steps[0].args.at("title").data) == "hello");
    REQUIRE(sc.steps[0].checks.size() == 3);
    const auto& lat = sc.steps[0].checks[2];
    CHECK(lat.record);
    CHECK(lat.unit == "ms");
    CHECK(*lat.min == doctest::Approx(0.001));  // 1 us in ms
    CHECK(*lat.max == doctest::Approx(2000));   // 2 s in ms
    CHECK(sc.steps[1].kind == engine::Step::Kind::wait);
    CHECK(sc.steps[1].wait == std::chrono::milliseconds(50));
    CHECK(sc.steps[2].checks[0].kind == engine::Check::Kind::regex);
    CHECK(s.hash.size() == 64);
}

TEST_CASE("suite: loader errors name the line, column and what was expected") {
    auto step = [](const std::string& body) {
        return head + "  - id: A-1\n    title: t\n    steps:\n" + body;
    };
    // Line 8 is the first step line in these texts.
    CHECK(error_of(step("      - call: printer.explode\n")).find("s.yaml:8:15: call: unknown action 'printer.explode'") == 0);
    CHECK(error_of(step("      - call: printer.print\n        args: { copies: 2 }\n"))
              .find("s.yaml:9:17: 'copies' is not a parameter of printer.print") == 0);
    CHECK(error_of(step("      - call: printer.print\n        args: { count: many }\n"))
              .find("s.yaml:9:24: argument count: expected an integer, got 'many'") == 0);
    CHECK(error_of(step("      - call: printer.status\n        expect: { onlin: true }\n"))
              .find("s.yaml:9:19: 'onlin' is not a result of printer.status") == 0);
    CHECK(error_of(step("      - call: printer.status\n        expect: { online: maybe }\n"))
              .find("expected true or false, got 'maybe'") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        measure:\n          latency: { max: 2 V }\n"))
              .find("unit 'V' cannot be compared with the result's unit 'ms'") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        measure:\n          latency: { max: soon }\n"))
              .find("expected a number with an optional unit") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        measure:\n          latency: { min: 5, max: 1 }\n"))
              .find("min is greater than max") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        measure:\n          online: { max: 1 }\n"))
              .find("'online' is not numeric") != std::string::npos);
    CHECK(error_of(step("      - call: printer.identify\n        expect: { model: { regex: \"(\" } }\n"))
              .find("regex: expected a valid regular expression") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        timeout: 0s\n"))
              .find("timeout: expected a duration above zero") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        when: { nothing.online: true }\n"))
              .find("when: expected <save>.<result>") != std::string::npos);
    CHECK(error_of(step("      - sing: loudly\n")).find("step: expected 'call', 'wait' or 'prompt'") != std::string::npos);
    CHECK(error_of(step("      - call: printer.status\n        colour: red\n")).find("unknown key 'colour'") !=
          std::string::npos);
}

TEST_CASE("suite: scenario and suite level errors") {
    CHECK(error_of("title: x\nscenarios: []\n").find("missing required key 'suite'") != std::string::npos);
    CHECK(error_of(head + "  - id: A\n    title: t\n    steps: []\n").find("expected at least one step") !=
          std::string::npos);
    CHECK(error_of(head + "  - id: A\n    title: t\n    steps:\n      - wait: 1ms\n"
                          "  - id: A\n    title: u\n    steps:\n      - wait: 1ms\n")
              .find("scenario 'A' appears twice") != std::string::npos);
    CHECK(error_of("suite: s\ntitle: S\nrequires: [printer]\nscenarios:\n  - id: A\n    title: t\n    steps:\n"
                   "      - call: cash_drawer.open\n")
              .find("capability 'cash_drawer' is not in the suite's 'requires' list") != std::string::npos);
    CHECK(error_of("suite: s\ntitle: S\nrequires: [teleporter]\nscenarios: []\n")
              .find("capability 'teleporter' is neither built in nor defined by a loaded device profile") != std::string::npos);
    CHECK(error_of(head + "  - id: A\n    title: t\n    iterations: 0\n    steps:\n      - wait: 1ms\n")
              .find("iterations: expected an integer from 1") != std::string::npos);
    CHECK(error_of("suite: [oops\n").find("YAML syntax error") != std::string::npos);
}

TEST_CASE("suite: the shipped receipt-printer suite loads") {
    auto s = engine::load_suite(std::string(CERTLAB_SOURCE_DIR) + "/lab-config/suites/receipt-printer.yaml");
    CHECK(s.id == "receipt-printer");
    CHECK(s.scenarios.size() >= 6);
    bool soak = false;
    for (const auto& sc : s.scenarios) soak = soak || sc.iterations == 200;
    CHECK(soak);
}

TEST_CASE("suite: roles name other devices of a run and bound what their steps may call") {
    const std::string roles_head =
        "suite: s\ntitle: S\nrequires: [printer]\nroles:\n  drawer: [cash_drawer]\nscenarios:\n";
    auto s = parse_suite(roles_head + "  - id: A\n    title: t\n    steps:\n"
                                      "      - call: printer.status\n"
                                      "      - call: cash_drawer.open\n        role: drawer\n",
                         "s.yaml");
    REQUIRE(s.roles.size() == 2);
    CHECK(s.roles.at("dut") == std::vector<std::string>{"printer"});
    CHECK(s.roles.at("drawer") == std::vector<std::string>{"cash_drawer"});
    CHECK(s.scenarios[0].steps[0].role == "dut");
    CHECK(s.scenarios[0].steps[1].role == "drawer");

    auto with_step = [&](const std::string& step) {
        return error_of(roles_head + "  - id: A\n    title: t\n    steps:\n" + step);
    };
    CHECK(with_step("      - call: printer.status\n        role: psu\n") ==
          "s.yaml:11:15: role: unknown role 'psu' (the suite declares: drawer, dut)");
    CHECK(with_step("      - call: printer.status\n        role: drawer\n") ==
          "s.yaml:11:15: call printer.status: capability 'printer' is not among role drawer's capabilities");
    CHECK(with_step("      - call: cash_drawer.open\n")
              .find("s.yaml:10:15: call cash_drawer.open: capability 'cash_drawer' is not in the suite's "
                    "'requires' list") == 0);
    CHECK(error_of("suite: s\ntitle: S\nroles:\n  dut: [printer]\nscenarios: []\n")
              .find("s.yaml:4:3: roles: 'dut' is the device under test") == 0);
    CHECK(error_of("suite: s\ntitle: S\nroles:\n  PSU: [power]\nscenarios: []\n")
              .find("s.yaml:4:3: roles: expected a role name") == 0);
    CHECK(error_of("suite: s\ntitle: S\nroles:\n  aux: [teleporter]\nscenarios: []\n")
              .find("s.yaml:4:9: roles: aux: capability 'teleporter' is neither built in nor defined") == 0);
}

TEST_CASE("suite: setup, teardown, retries, marginal bands and soak rules load, and their errors say where") {
    auto scenario = [](const std::string& body) {
        return head + "  - id: A-1\n    title: t\n" + body;
    };
    const std::string one_step = "    steps:\n      - call: printer.status\n";
    auto s = engine::parse_suite(scenario("    duration: 2h\n    interval: 1s\n    max_failures: 10\n"
                                          "    max_failure_rate: 5%\n    setup:\n      - wait: 10ms\n" +
                                          one_step +
                                          "        retry: { attempts: 3, on: [timeout], delay: 50ms }\n"
                                          "        measure:\n          latency: { max: 200 ms, warn_above: 150 ms }\n"
                                          "    teardown:\n      - call: printer.status\n"),
                                 "s.yaml");
    const auto& sc = s.scenarios.at(0);
    CHECK(sc.is_soak());
    CHECK(sc.duration == std::chrono::hours(2));
    CHECK(sc.iterations == 10'000'000);  // by time alone: as many as fit
    CHECK(*sc.max_failure_rate == doctest::Approx(0.05));
    CHECK(sc.setup.size() == 1);
    CHECK(sc.teardown.size() == 1);
    CHECK(sc.steps[0].retry.attempts == 3);
    CHECK(sc.steps[0].retry.retries(record::Outcome::timeout));
    CHECK_FALSE(sc.steps[0].retry.retries(record::Outcome::error));
    CHECK(*sc.steps[0].checks[0].warn_above == 150);

    CHECK(error_of(scenario(one_step + "        retry: { attempts: 2, on: [pass] }\n"))
              .find("s.yaml:9:36: retry: on: expected fail, error or timeout, got 'pass'") == 0);
    CHECK(error_of(scenario(one_step + "        retry: 0\n")).find("retry: expected an integer from 1 to 100") !=
          std::string::npos);
    CHECK(error_of(scenario(one_step + "        measure:\n          latency: { max: 200 ms, warn_above: 250 ms }\n"))
              .find("warn_above: expected a value inside the limits") != std::string::npos);
    CHECK(error_of(scenario(one_step + "        expect: { online: { equals: true, warn_below: 1 } }\n"))
              .find("a marginal band needs a range check") != std::string::npos);
    CHECK(error_of(scenario("    iterations: 10\n    max_failure_rate: 150%\n" + one_step))
              .find("max_failure_rate: expected a share such as 5% or 0.05") != std::string::npos);
    CHECK(error_of(scenario("    max_failure_rate: 5%\n" + one_step))
              .find("need iterations above 1 or a duration") != std::string::npos);
    CHECK(error_of(scenario("    iterations: 10\n    power_cycle: { every: 5 }\n" + one_step))
              .find("power_cycle: role 'psu' is not declared in the suite's roles") != std::string::npos);
    CHECK(error_of(scenario("    iterations: 10\n    power_cycle: { off_time: 1s }\n" + one_step))
              .find("power_cycle: missing required key 'every'") != std::string::npos);
    CHECK(error_of(scenario("    setup: { call: printer.status }\n" + one_step)).find("setup") != std::string::npos);
}

TEST_CASE("suite: a power cycle needs a role with capability power") {
    const std::string suite = "suite: s\ntitle: S\nrequires: [printer]\nroles:\n  psu: [power]\n  drawer: [cash_drawer]\n"
                              "scenarios:\n  - id: A\n    title: t\n    iterations: 200\n";
    auto s = engine::parse_suite(suite + "    power_cycle: { every: 100, off_time: 300ms }\n"
                                         "    steps:\n      - call: printer.status\n",
                                 "s.yaml");
    CHECK(s.scenarios[0].power_cycle.every == 100);
    CHECK(s.scenarios[0].power_cycle.off_time == std::chrono::milliseconds(300));
    CHECK(error_of(suite + "    power_cycle: { every: 100, role: drawer }\n    steps:\n      - call: printer.status\n")
              .find("power_cycle: role drawer needs capability 'power'") != std::string::npos);
}
