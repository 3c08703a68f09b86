// Which scenarios a certification requires: those of the suites that name one of
// its API permissions (per scenario, or for the whole suite) and whose device
// under test needs only capabilities the device has. Pure; unit-tested.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "record/certification.hpp"

namespace certlab::engine {
struct Suite;
}

namespace certlab::certify {

/// What plan derivation reads of a suite (lab-config/suites/*.yaml).
struct SuiteMeta {
    struct Scenario {
        std::string id;
        std::string title;
        std::vector<std::string> permissions;  ///< empty: the suite's
    };
    std::string id;
    std::string title;
    std::vector<std::string> requires_capabilities;  ///< of the device under test
    std::vector<std::string> other_roles;            ///< bench devices besides the dut (psu, ...)
    std::vector<std::string> permissions;            ///< every permission any of its scenarios serves
    std::vector<Scenario> scenarios;
};

[[nodiscard]] SuiteMeta describe_suite(const engine::Suite& suite);
[[nodiscard]] std::vector<SuiteMeta> describe_suites(const std::vector<engine::Suite>& suites);

/// The plan cannot be made; the message says which permission and why.
class PlanError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The plan for `permissions` (duplicates ignored) on a device with `capabilities`:
/// suites in the order given, scenarios in suite order. Throws PlanError when no
/// permission is given, when a permission is named by no suite, when every suite of a
/// permission needs a capability the device lacks, or when two planned suites share
/// a scenario id (sign-off names scenarios by id).
[[nodiscard]] std::vector<record::PlanItem> derive_plan(const std::vector<SuiteMeta>& suites,
                                                        const std::vector<std::string>& permissions,
                                                        const std::vector<std::string>& capabilities);

}  // namespace certlab::certify
