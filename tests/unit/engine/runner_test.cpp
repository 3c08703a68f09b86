// The runner's rules, with a scripted driver at the edge: outcomes by fault kind,
// the commit before the next step, step timeouts, stop at a step boundary.
#include <doctest/doctest.h>

#include "runner_fixture.hpp"

using namespace certlab;
namespace asio = boost::asio;

using namespace certlab::test::runner;

namespace {

const std::string status_scenario =
    "  - id: S-1\n    title: s\n    steps:\n      - call: printer.status\n        timeout: 200ms\n"
    "        expect: { online: true }\n";

}  // namespace

TEST_CASE("runner: outcomes follow who is at fault") {
    Fixture f;
    SUBCASE("pass") {
        f.link.driver_.script.push_back(values({{"online", true}}));
        CHECK(f.execute(status_scenario) == record::Outcome::pass);
    }
    SUBCASE("wrong value is fail") {
        f.link.driver_.script.push_back(values({{"online", false}, {"reason", "cover open"}}));
        CHECK(f.execute(status_scenario) == record::Outcome::fail);
        auto d = f.store->get_run_detail(f.run.id, -1);
        CHECK(d->steps[0].reason == "online: expected true, got false (device: cover open)");
    }
    SUBCASE("garbled answer is fail") {
        f.link.driver_.script.push_back(throws(sdk::ProtocolError("bad byte 0xFF")));
        CHECK(f.execute(status_scenario) == record::Outcome::fail);
    }
    SUBCASE("link down is error, and the link is told") {
        f.link.driver_.script.push_back(throws(sdk::TransportError(sdk::TransportError::Kind::closed, "gone")));
        CHECK(f.execute(status_scenario) == record::Outcome::error);
        CHECK(f.link.faults == 1);
    }
    SUBCASE("no answer is timeout") {
        f.link.driver_.script.push_back(throws(sdk::TransportError(sdk::TransportError::Kind::timeout, "quiet")));
        CHECK(f.execute(status_scenario) == record::Outcome::timeout);
    }
    SUBCASE("a driver slower than the step timeout is cut off") {
        f.link.driver_.script.push_back(sleeps(std::chrono::milliseconds(5000)));
        auto t0 = std::chrono::steady_clock::now();
        CHECK(f.execute(status_scenario) == record::Outcome::timeout);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));
        auto d = f.store->get_run_detail(f.run.id, -1);
        CHECK(d->steps[0].reason.find("step exceeded its 0.2 s timeout") != std::string::npos);
    }
    SUBCASE("a driver exception of any other kind is error") {
        f.link.driver_.script.push_back(throws(std::runtime_error("oops")));
        CHECK(f.execute(status_scenario) == record::Outcome::error);
    }
}

TEST_CASE("runner: each step is committed before the next one starts") {
    Fixture f;
    for (int i = 0; i < 5; ++i) f.link.driver_.script.push_back(values({{"online", true}}));
    std::vector<std::int64_t> committed_before_call;
    engine::RunObserver obs;
    obs.on_step = [&](const record::StepResult& s) {
        // The observer runs after the commit: the store already has this step.
        committed_before_call.push_back(f.store->step_count(s.run_id));
        CHECK(s.id > 0);
    };
    CHECK(f.execute("  - id: S\n    title: s\n    iterations: 5\n    steps:\n      - call: printer.status\n", obs) ==
          record::Outcome::pass);
    CHECK(committed_before_call == std::vector<std::int64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("runner: iterations stop at max_failures, and later scenarios still run") {
    Fixture f;
    for (int i = 0; i < 3; ++i) f.link.driver_.script.push_back(values({{"online", i != 1}}));
    f.link.driver_.script.push_back(values({{"online", true}}));
    auto outcome = f.execute(
        "  - id: A\n    title: a\n    iterations: 10\n    steps:\n      - call: printer.status\n"
        "        expect: { online: true }\n"
        "  - id: B\n    title: b\n    steps:\n      - call: printer.status\n");
    CHECK(outcome == record::Outcome::fail);
    auto d = f.store->get_run_detail(f.run.id, -1);
    REQUIRE(d->scenarios.size() == 2);
    CHECK(d->scenarios[0].iterations == 2);
    CHECK(d->scenarios[0].passed_iterations == 1);
    CHECK(d->scenarios[0].reason.find("1 of 2 iterations did not pass; first: iteration 2") == 0);
    CHECK(*d->scenarios[1].outcome == record::Outcome::pass);
    CHECK(f.run.status == record::RunStatus::completed);
}

TEST_CASE("runner: a stop request ends the run at the next step boundary as aborted") {
    Fixture f;
    for (int i = 0; i < 100; ++i) f.link.driver_.script.push_back(values({{"online", true}}));
    engine::RunObserver obs;
    obs.on_step = [&](const record::StepResult& s) {
        if (s.seq == 3) f.control.request_stop("test says stop");
    };
    auto outcome = f.execute("  - id: S\n    title: s\n    iterations: 100\n    steps:\n      - call: printer.status\n", obs);
    CHECK(outcome == record::Outcome::aborted);
    CHECK(f.link.driver_.calls == 3);
    CHECK(f.run.status == record::RunStatus::aborted);
    CHECK(f.store->get_run(f.run.id)->reason == "stopped: test says stop");
}

TEST_CASE("runner: when-guards skip steps by saved values") {
    Fixture f;
    f.link.driver_.script.push_back(values({{"paper_out", false}, {"online", true}}));
    f.link.driver_.script.push_back(values({{"online", true}}));
    auto outcome = f.execute(
        "  - id: S\n    title: s\n    steps:\n      - call: printer.status\n        save: st\n"
        "      - call: printer.status\n        when: { st.paper_out: true }\n        expect: { online: false }\n"
        "      - call: printer.status\n        when: { st.paper_out: false }\n        expect: { online: true }\n");
    CHECK(outcome == record::Outcome::pass);
    auto d = f.store->get_run_detail(f.run.id, -1);
    REQUIRE(d->steps.size() == 3);
    CHECK(d->steps[1].outcome == record::Outcome::skipped);
    CHECK(d->steps[2].outcome == record::Outcome::pass);
    CHECK(f.link.driver_.calls == 2);
}

TEST_CASE("runner: a step runs on the device of its role, and the store keeps the role") {
    test::TempDir dir;
    auto store = record::Store::open(dir / "r.db", {record::Store::Sync::normal});
    Link dut, drawer;
    drawer.id = "drawer-1";
    auto suite = engine::parse_suite("suite: t\ntitle: T\nrequires: [printer]\nroles:\n  drawer: [cash_drawer]\n"
                                     "scenarios:\n  - id: R-1\n    title: r\n    steps:\n"
                                     "      - call: printer.status\n        expect: { online: true }\n"
                                     "      - call: cash_drawer.open\n        role: drawer\n"
                                     "        expect: { accepted: true }\n"
                                     "      - call: cash_drawer.status\n        role: drawer\n",
                                     "t.yaml");
    dut.driver_.script.push_back(values({{"online", true}}));
    drawer.driver_.script.push_back(values({{"accepted", true}}));
    drawer.driver_.script.push_back(throws(sdk::TransportError(sdk::TransportError::Kind::closed, "unplugged")));
    record::Run run;
    run.device_id = "dev";
    run.suite_id = "t";
    run.started_at = std::chrono::system_clock::now();
    run.roles["drawer"] = record::RoleBinding{"drawer-1", "scripted 1"};
    store->begin_run(run);
    engine::RunControl control;

    SUBCASE("every role must have a device") {
        CHECK_THROWS_AS(engine::Runner(*store, engine::RoleLinks{{"dut", &dut}}, suite, run, control),
                        std::invalid_argument);
    }
    SUBCASE("calls go to their role's device") {
        engine::Runner runner(*store, engine::RoleLinks{{"dut", &dut}, {"drawer", &drawer}}, suite, run, control);
        asio::io_context io;
        auto f = asio::co_spawn(io, runner.run(), asio::use_future);
        io.run();
        CHECK(f.get() == record::Outcome::error);
        CHECK(dut.driver_.calls == 1);
        CHECK(drawer.driver_.calls == 2);
        CHECK(dut.faults == 0);
        CHECK(drawer.faults == 1);  // the fault is the drawer's, not the printer's
        auto detail = store->get_run_detail(run.id, -1);
        REQUIRE(detail);
        REQUIRE(detail->steps.size() == 3);
        CHECK(detail->steps[0].role == "dut");
        CHECK(detail->steps[1].role == "drawer");
        CHECK(detail->steps[2].role == "drawer");
        CHECK(detail->steps[2].reason.find("device-lost") == 0);
        CHECK(detail->run.roles == run.roles);
    }
}
