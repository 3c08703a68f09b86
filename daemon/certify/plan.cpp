#include "certify/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "engine/suite.hpp"

namespace certlab::certify {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
}

std::string join(const std::vector<std::string>& list, const char* sep = ", ") {
    std::string out;
    for (const auto& x : list) out += (out.empty() ? "" : sep) + x;
    return out;
}

const std::vector<std::string>& effective_permissions(const SuiteMeta& suite, const SuiteMeta::Scenario& sc) {
    return sc.permissions.empty() ? suite.permissions : sc.permissions;
}

bool serves(const SuiteMeta& suite, const std::string& permission) {
    for (const auto& sc : suite.scenarios)
        if (contains(effective_permissions(suite, sc), permission)) return true;
    return false;
}

std::vector<std::string> missing_capabilities(const SuiteMeta& suite, const std::vector<std::string>& capabilities) {
    std::vector<std::string> missing;
    for (const auto& c : suite.requires_capabilities)
        if (!contains(capabilities, c)) missing.push_back(c);
    return missing;
}

}  // namespace

SuiteMeta describe_suite(const engine::Suite& suite) {
    SuiteMeta m;
    m.id = suite.id;
    m.title = suite.title;
    m.requires_capabilities = suite.requires_capabilities;
    for (const auto& [role, caps] : suite.roles)
        if (role != "dut") m.other_roles.push_back(role);
    m.permissions = suite.permissions;
    for (const auto& sc : suite.scenarios) m.scenarios.push_back({sc.id, sc.title, sc.permissions});
    return m;
}

std::vector<SuiteMeta> describe_suites(const std::vector<engine::Suite>& suites) {
    std::vector<SuiteMeta> out;
    for (const auto& s : suites) out.push_back(describe_suite(s));
    return out;
}

std::vector<record::PlanItem> derive_plan(const std::vector<SuiteMeta>& suites,
                                          const std::vector<std::string>& permissions_in,
                                          const std::vector<std::string>& capabilities) {
    std::vector<std::string> permissions;
    for (const auto& p : permissions_in)
        if (!contains(permissions, p)) permissions.push_back(p);
    if (permissions.empty()) throw PlanError("name at least one API permission to certify");

    // Every permission must reach at least one scenario the device can run; say
    // everything that is wrong at once, so one intake attempt shows it all.
    std::vector<std::string> problems;
    for (const auto& p : permissions) {
        std::vector<const SuiteMeta*> naming;
        for (const auto& s : suites)
            if (serves(s, p)) naming.push_back(&s);
        if (naming.empty()) {
            std::set<std::string> known;
            for (const auto& s : suites) known.insert(s.permissions.begin(), s.permissions.end());
            problems.push_back("permission '" + p + "' is required by no suite (suites name: " +
                               (known.empty() ? std::string("none") : join({known.begin(), known.end()})) + ")");
            continue;
        }
        std::vector<std::string> why;
        for (const auto* s : naming) {
            auto missing = missing_capabilities(*s, capabilities);
            if (missing.empty()) {
                why.clear();
                break;
            }
            why.push_back("suite " + s->id + " needs " + join(missing));
        }
        if (!why.empty())
            problems.push_back("permission '" + p + "' cannot be certified on a device with capabilities [" +
                               join(capabilities) + "]: " + join(why, "; "));
    }
    if (!problems.empty()) throw PlanError(join(problems, "; "));

    std::vector<record::PlanItem> plan;
    std::map<std::string, std::string> suite_of;  // scenario id -> suite, to refuse ambiguity
    for (const auto& s : suites) {
        if (!missing_capabilities(s, capabilities).empty()) continue;
        for (const auto& sc : s.scenarios) {
            record::PlanItem item{sc.id, s.id, sc.title, {}, s.other_roles};
            for (const auto& p : permissions)
                if (contains(effective_permissions(s, sc), p)) item.permissions.push_back(p);
            if (item.permissions.empty()) continue;
            auto [it, fresh] = suite_of.emplace(sc.id, s.id);
            if (!fresh)
                throw PlanError("scenario " + sc.id + " is required from both suite " + it->second + " and suite " +
                                s.id + "; scenario ids must be unique to be signed off");
            plan.push_back(std::move(item));
        }
    }
    return plan;
}

}  // namespace certlab::certify
