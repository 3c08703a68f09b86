// Plan derivation: permissions x device capabilities -> required scenarios.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "certify/plan.hpp"
#include "engine/suite.hpp"
#include "support/process.hpp"

using namespace certlab;
using certify::derive_plan;
using certify::PlanError;
using certify::SuiteMeta;

namespace {

std::vector<SuiteMeta> bench_suites() {
    return {
        {"receipt-printer",
         "Receipt printer",
         {"printer", "cash_drawer"},
         {},
         {"orders.print", "orders.kitchen_print", "payments.cash_drawer"},
         {{"PRN-001", "Online", {"orders.print", "orders.kitchen_print"}},
          {"PRN-006", "Drawer kick", {"payments.cash_drawer"}},
          {"PRN-007", "Endurance", {"orders.kitchen_print"}}}},
        {"printer-power-cycle",
         "Power cycles",
         {"printer"},
         {"psu"},
         {"orders.kitchen_print"},
         {{"PWR-001", "Comes up", {}}, {"PWR-002", "Back after a cut", {}}}},
        {"pos-scale", "Scale", {"scale"}, {}, {"orders.weighed_items"}, {{"SCALE-001", "Status", {}}}},
    };
}

std::vector<std::string> ids(const std::vector<record::PlanItem>& plan) {
    std::vector<std::string> out;
    for (const auto& p : plan) out.push_back(p.scenario_id);
    return out;
}

std::string plan_error(const std::vector<std::string>& permissions, const std::vector<std::string>& caps) {
    try {
        (void)derive_plan(bench_suites(), permissions, caps);
    } catch (const PlanError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("plan: two permissions pick exactly the scenarios that serve them, in suite order") {
    auto plan = derive_plan(bench_suites(), {"payments.cash_drawer", "orders.print"}, {"printer", "cash_drawer"});
    CHECK(ids(plan) == std::vector<std::string>{"PRN-001", "PRN-006"});
    CHECK(plan[0].suite_id == "receipt-printer");
    CHECK(plan[0].title == "Online");
    // Each item says which of the certification's permissions require it, in the order given.
    CHECK(plan[0].permissions == std::vector<std::string>{"orders.print"});
    CHECK(plan[1].permissions == std::vector<std::string>{"payments.cash_drawer"});
    CHECK(plan[0].roles.empty());
}

TEST_CASE("plan: a suite-wide permission covers every scenario, and the bench roles its suite needs are named") {
    auto plan = derive_plan(bench_suites(), {"orders.kitchen_print"}, {"printer", "cash_drawer"});
    CHECK(ids(plan) == std::vector<std::string>{"PRN-001", "PRN-007", "PWR-001", "PWR-002"});
    CHECK(plan[2].roles == std::vector<std::string>{"psu"});
}

TEST_CASE("plan: suites whose device needs a capability the device lacks are left out") {
    // A printer without a drawer port: receipt-printer needs cash_drawer, power-cycle does not.
    auto plan = derive_plan(bench_suites(), {"orders.kitchen_print"}, {"printer"});
    CHECK(ids(plan) == std::vector<std::string>{"PWR-001", "PWR-002"});
}

TEST_CASE("plan: duplicate permissions count once") {
    auto plan = derive_plan(bench_suites(), {"orders.print", "orders.print"}, {"printer", "cash_drawer"});
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].permissions == std::vector<std::string>{"orders.print"});
}

TEST_CASE("plan: refusals name the permission and why") {
    CHECK(plan_error({}, {"printer"}) == "name at least one API permission to certify");

    auto unknown = plan_error({"order.print"}, {"printer", "cash_drawer"});
    CHECK(unknown.find("permission 'order.print' is required by no suite") != std::string::npos);
    CHECK(unknown.find("orders.print") != std::string::npos);  // lists what suites do name

    auto lacking = plan_error({"orders.print"}, {"scale"});
    INFO(lacking);
    CHECK(lacking.find("permission 'orders.print' cannot be certified on a device with capabilities [scale]") !=
          std::string::npos);
    CHECK(lacking.find("suite receipt-printer needs printer, cash_drawer") != std::string::npos);

    // Everything wrong is reported at once.
    auto both = plan_error({"order.print", "orders.weighed_items"}, {"printer"});
    CHECK(both.find("'order.print'") != std::string::npos);
    CHECK(both.find("'orders.weighed_items'") != std::string::npos);
}

TEST_CASE("plan: two planned suites with the same scenario id are refused") {
    auto suites = bench_suites();
    suites.push_back({"other", "Other", {"printer"}, {}, {"orders.print"}, {{"PRN-001", "Same id", {}}}});
    try {
        (void)derive_plan(suites, {"orders.print"}, {"printer", "cash_drawer"});
        FAIL("expected a PlanError");
    } catch (const PlanError& e) {
        CHECK(std::string(e.what()).find("PRN-001 is required from both suite receipt-printer and suite other") !=
              std::string::npos);
    }
}

TEST_CASE("plan: the repository's printer suites give a drawer printer a plan for printing and the drawer") {
    // The kiosk suite needs the capability its profile defines, so load the printer suites alone.
    std::vector<engine::Suite> suites{engine::load_suite(test::source("lab-config/suites/receipt-printer.yaml")),
                                      engine::load_suite(test::source("lab-config/suites/printer-power-cycle.yaml"))};
    auto metas = certify::describe_suites(suites);
    auto plan = derive_plan(metas, {"orders.print", "payments.cash_drawer"}, {"printer", "cash_drawer"});
    CHECK(ids(plan) == std::vector<std::string>{"PRN-001", "PRN-002", "PRN-003", "PRN-004", "PRN-005", "PRN-006"});
    CHECK(plan[5].permissions == std::vector<std::string>{"payments.cash_drawer"});
    auto kitchen = ids(derive_plan(metas, {"orders.kitchen_print"}, {"printer", "cash_drawer"}));
    CHECK(kitchen == std::vector<std::string>{"PRN-001", "PRN-002", "PRN-003", "PRN-004", "PRN-005", "PRN-007",
                                              "PWR-001", "PWR-002", "PWR-003"});
}
