#include "engine/suite.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <regex>
#include <set>

#include <spdlog/spdlog.h>

#include "config/yaml_util.hpp"
#include "engine/units.hpp"
#include "sdk/error.hpp"
#include "sdk/settings.hpp"

namespace certlab::engine {
namespace fs = std::filesystem;
using config::YamlFile;

namespace {

constexpr std::chrono::seconds default_step_timeout{10};

/// A YAML value as the catalog says it should be typed.
sdk::Value typed_value(const YamlFile& f, const YAML::Node& n, sdk::ValueType type,
                       const std::string& what) {
    using T = sdk::ValueType;
    if (type == T::string_list) {
        std::vector<std::string> list;
        if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
        f.require_seq(n, what);
        for (const auto& item : n) list.push_back(f.scalar(item, what));
        return list;
    }
    auto s = f.scalar(n, what);
    switch (type) {
        case T::boolean:
            if (s == "true" || s == "yes") return true;
            if (s == "false" || s == "no") return false;
            f.fail(n, what + ": expected true or false, got '" + s + "'");
        case T::integer: {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc() || p != s.data() + s.size())
                f.fail(n, what + ": expected an integer, got '" + s + "'");
            return v;
        }
        case T::number: {
            double v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc() || p != s.data() + s.size())
                f.fail(n, what + ": expected a number, got '" + s + "'");
            return v;
        }
        default: return s;
    }
}

/// `min: "10 ms"` -> value in `unit` (the result's unit).
double limit_value(const YamlFile& f, const YAML::Node& n, const std::string& unit,
                   const std::string& what) {
    auto s = f.scalar(n, what);
    auto q = parse_quantity(s);
    if (!q) f.fail(n, what + ": expected a number with an optional unit such as '250 ms', got '" + s + "'");
    if (q->unit.empty()) return q->value;  // a bare number is in the result's own unit
    auto v = convert(q->value, q->unit, unit);
    if (!v)
        f.fail(n, what + ": unit '" + q->unit + "' cannot be compared with the result's unit '" +
                      (unit.empty() ? std::string("(none)") : unit) + "'");
    return *v;
}

std::string result_names(const sdk::ActionSpec& a) {
    std::string out;
    for (const auto& r : a.results) out += (out.empty() ? "" : ", ") + r.name;
    return out;
}

const sdk::ResultSpec& require_result(const YamlFile& f, const YAML::Node& key_node,
                                      const sdk::ActionSpec& a) {
    auto key = key_node.as<std::string>();
    const auto* r = a.result(key);
    if (!r)
        f.fail(key_node, "'" + key + "' is not a result of " + a.qualified() + " (results: " +
                             result_names(a) + ")");
    return *r;
}

Check read_check(const YamlFile& f, const YAML::Node& key_node, const YAML::Node& spec,
                 const sdk::ActionSpec& a, bool record) {
    const auto& result = require_result(f, key_node, a);
    Check c;
    c.key = result.name;
    c.record = record;
    c.where = f.where(spec);
    c.unit = result.unit;
    const bool numeric = result.type == sdk::ValueType::number || result.type == sdk::ValueType::integer;
    if (!spec.IsMap()) {
        if (record) f.fail(spec, "measure " + c.key + ": expected limits such as { max: 200 ms }");
        c.kind = Check::Kind::equals;
        c.expected = typed_value(f, spec, result.type, "expect " + c.key);
        return c;
    }
    f.check_keys(spec, {"equals", "regex", "min", "max"}, "check of '" + c.key + "'");
    if (auto eq = spec["equals"]) {
        c.kind = Check::Kind::equals;
        c.expected = typed_value(f, eq, result.type, "expect " + c.key);
    } else if (auto re = spec["regex"]) {
        c.kind = Check::Kind::regex;
        c.pattern = f.scalar(re, "regex");
        try {
            c.re = std::regex(c.pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            f.fail(re, std::string("regex: expected a valid regular expression: ") + e.what());
        }
    } else {
        if (!numeric) f.fail(spec, "'" + c.key + "' is not numeric; expected equals or regex");
        c.kind = Check::Kind::range;
        if (auto mn = spec["min"]) c.min = limit_value(f, mn, result.unit, "min");
        if (auto mx = spec["max"]) c.max = limit_value(f, mx, result.unit, "max");
        if (!c.min && !c.max) f.fail(spec, "expected min, max, equals or regex");
        if (c.min && c.max && *c.min > *c.max) f.fail(spec, "min is greater than max");
    }
    if (record && c.kind != Check::Kind::range)
        f.fail(spec, "measure " + c.key + ": expected numeric limits (min, max)");
    return c;
}

sdk::Args read_args(const YamlFile& f, const YAML::Node& n, const sdk::ActionSpec& a) {
    sdk::Args args;
    if (n) {
        f.require_map(n, "args");
        for (const auto& kv : n) {
            auto key = kv.first.as<std::string>();
            const auto* p = a.param(key);
            if (!p) {
                std::string names;
                for (const auto& q : a.params) names += (names.empty() ? "" : ", ") + q.name;
                f.fail(kv.first, "'" + key + "' is not a parameter of " + a.qualified() +
                                     (names.empty() ? std::string(" (it takes none)") : " (parameters: " + names + ")"));
            }
            args[key] = typed_value(f, kv.second, p->type, "argument " + key);
        }
    }
    for (const auto& p : a.params)
        if (p.required && !args.contains(p.name))
            f.fail(n ? n : YAML::Node(), a.qualified() + ": missing required argument '" + p.name + "'");
    return args;
}

using Roles = std::map<std::string, std::vector<std::string>>;

std::string role_names(const Roles& roles) {
    std::string names;
    for (const auto& [name, caps] : roles) names += (names.empty() ? "" : ", ") + name;
    return names;
}

Step read_step(const YamlFile& f, const YAML::Node& n, std::chrono::microseconds step_timeout,
               const std::map<std::string, const sdk::ActionSpec*>& saved, const Roles& roles) {
    Step s;
    s.where = f.where(n);
    f.require_map(n, "step");
    if (n["wait"]) {
        f.check_keys(n, {"wait", "when"}, "wait step");
        s.kind = Step::Kind::wait;
        auto d = sdk::parse_duration(f.scalar(n["wait"], "wait"));
        if (!d) f.fail(n["wait"], "wait: expected a duration such as 500ms");
        s.wait = *d;
    } else if (n["call"]) {
        f.check_keys(n, {"call", "role", "args", "expect", "measure", "timeout", "save", "when"}, "call step");
        auto name = f.scalar(n["call"], "call");
        s.action = sdk::find_action(name);
        if (!s.action) {
            std::string known;
            for (const auto* c : sdk::all_capabilities())
                for (const auto& a : c->actions) known += (known.empty() ? "" : ", ") + a.qualified();
            f.fail(n["call"], "call: unknown action '" + name + "' (expected one of: " + known + ")");
        }
        s.role = f.get_string(n, "role", "call step", "dut");
        auto role = roles.find(s.role);
        if (role == roles.end())
            f.fail(n["role"], "role: unknown role '" + s.role + "' (the suite declares: " + role_names(roles) + ")");
        if (std::find(role->second.begin(), role->second.end(), s.action->capability) == role->second.end()) {
            const auto where = n["role"] ? n["role"] : n["call"];
            if (s.role == "dut")
                f.fail(where, "call " + s.action->qualified() + ": capability '" + s.action->capability +
                                  "' is not in the suite's 'requires' list");
            f.fail(where, "call " + s.action->qualified() + ": capability '" + s.action->capability +
                              "' is not among role " + s.role + "'s capabilities");
        }
        s.args = read_args(f, n["args"], *s.action);
        if (auto e = n["expect"]) {
            f.require_map(e, "expect");
            for (const auto& kv : e) s.checks.push_back(read_check(f, kv.first, kv.second, *s.action, false));
        }
        if (auto m = n["measure"]) {
            f.require_map(m, "measure");
            for (const auto& kv : m) s.checks.push_back(read_check(f, kv.first, kv.second, *s.action, true));
        }
        s.timeout = f.get_duration(n, "timeout", step_timeout);
        if (s.timeout.count() <= 0) f.fail(n["timeout"], "timeout: expected a duration above zero");
        s.save = f.get_string(n, "save", "step", "");
    } else {
        f.fail(n, "step: expected 'call' or 'wait'");
    }
    if (auto w = n["when"]) {
        f.require_map(w, "when");
        for (const auto& kv : w) {
            auto ref = kv.first.as<std::string>();
            auto dot = ref.find('.');
            auto it = dot == std::string::npos ? saved.end() : saved.find(ref.substr(0, dot));
            if (it == saved.end())
                f.fail(kv.first, "when: expected <save>.<result> naming a value saved by an earlier step, got '" + ref + "'");
            const auto* r = it->second ? it->second->result(ref.substr(dot + 1)) : nullptr;
            if (!r)
                f.fail(kv.first, "when: '" + ref.substr(dot + 1) + "' is not a result of " +
                                     (it->second ? it->second->qualified() : std::string("that step")));
            s.when.push_back({it->first, r->name, typed_value(f, kv.second, r->type, "when " + ref)});
        }
    }
    return s;
}

Scenario read_scenario(const YamlFile& f, const YAML::Node& n, std::chrono::microseconds step_timeout,
                       const Roles& roles) {
    f.check_keys(n, {"id", "title", "description", "permissions", "steps", "iterations", "interval", "max_failures",
                     "timeout"},
                 "scenario");
    Scenario sc;
    sc.where = f.where(n);
    sc.id = f.get_string(n, "id", "scenario");
    sc.title = f.get_string(n, "title", "scenario");
    sc.description = f.get_string(n, "description", "scenario", "");
    sc.permissions = f.get_string_list(n, "permissions");
    sc.iterations = static_cast<int>(f.get_int(n, "iterations", 1, 1, 10'000'000));
    sc.interval = f.get_duration(n, "interval", {});
    sc.max_failures = static_cast<int>(f.get_int(n, "max_failures", 1, 1, 10'000'000));
    sc.timeout = f.get_duration(n, "timeout", {});
    auto steps = n["steps"];
    if (!steps) f.fail(n, "scenario " + sc.id + ": missing required key 'steps'");
    f.require_seq(steps, "steps");
    if (steps.size() == 0) f.fail(steps, "steps: expected at least one step");
    std::map<std::string, const sdk::ActionSpec*> saved;
    for (const auto& st : steps) {
        sc.steps.push_back(read_step(f, st, step_timeout, saved, roles));
        const auto& s = sc.steps.back();
        if (!s.save.empty()) saved[s.save] = s.action;
    }
    return sc;
}

Suite read_suite(const YamlFile& f) {
    const auto& root = f.root();
    f.check_keys(root, {"suite", "title", "version", "description", "requires", "roles", "permissions",
                        "defaults", "scenarios"},
                 "suite");
    Suite s;
    s.file = f.name();
    s.hash = config::sha256_hex(f.text());
    s.id = f.get_string(root, "suite", "suite");
    s.title = f.get_string(root, "title", "suite");
    s.version = f.get_string(root, "version", "suite", "1");
    s.description = f.get_string(root, "description", "suite", "");
    s.requires_capabilities = f.get_string_list(root, "requires");
    for (std::size_t i = 0; i < s.requires_capabilities.size(); ++i)
        if (!sdk::find_capability(s.requires_capabilities[i]))
            throw MissingCapability(
                f.where(root["requires"].IsSequence() ? root["requires"][i] : root["requires"]) +
                ": requires: capability '" + s.requires_capabilities[i] +
                "' is neither built in nor defined by a loaded device profile; suite " + s.id + " is not loaded");
    s.roles["dut"] = s.requires_capabilities;
    if (auto roles = root["roles"]) {
        f.require_map(roles, "roles");
        static const std::regex name_re("[a-z][a-z0-9_]{0,31}");
        for (const auto& kv : roles) {
            const auto name = kv.first.as<std::string>();
            if (!std::regex_match(name, name_re))
                f.fail(kv.first, "roles: expected a role name of lower-case letters, digits and _, got '" + name + "'");
            if (name == "dut")
                f.fail(kv.first, "roles: 'dut' is the device under test; its capabilities are the suite's 'requires'");
            auto caps = f.get_string_list(roles, name);
            for (std::size_t i = 0; i < caps.size(); ++i)
                if (!sdk::find_capability(caps[i]))
                    throw MissingCapability(f.where(kv.second.IsSequence() ? kv.second[i] : kv.second) + ": roles: " +
                                            name + ": capability '" + caps[i] +
                                            "' is neither built in nor defined by a loaded device profile; suite " +
                                            s.id + " is not loaded");
            if (caps.empty()) f.fail(kv.second, "roles: " + name + ": expected a list of capabilities");
            s.roles[name] = std::move(caps);
        }
    }
    s.permissions = f.get_string_list(root, "permissions");
    std::chrono::microseconds step_timeout = default_step_timeout;
    if (auto d = root["defaults"]) {
        f.check_keys(d, {"step_timeout"}, "defaults");
        step_timeout = f.get_duration(d, "step_timeout", step_timeout);
    }
    auto scenarios = root["scenarios"];
    if (!scenarios) f.fail(root, "suite: missing required key 'scenarios'");
    f.require_seq(scenarios, "scenarios");
    std::set<std::string> ids;
    for (const auto& n : scenarios) {
        s.scenarios.push_back(read_scenario(f, n, step_timeout, s.roles));
        const auto& sc = s.scenarios.back();
        if (!ids.insert(sc.id).second) f.fail(n["id"], "id: scenario '" + sc.id + "' appears twice");
        // A scenario narrows the suite's permissions; one the suite does not list is a typo.
        for (const auto& p : sc.permissions)
            if (std::find(s.permissions.begin(), s.permissions.end(), p) == s.permissions.end())
                f.fail(n["permissions"], "permissions: '" + p + "' is not among the suite's permissions");
    }
    return s;
}

}  // namespace

std::string Step::describe() const {
    if (kind == Kind::wait) return "wait";
    return action ? action->qualified() : "call";
}

Suite load_suite(const fs::path& file) { return read_suite(YamlFile::load(file)); }

Suite parse_suite(std::string_view text, const std::string& name) {
    return read_suite(YamlFile::parse(text, name));
}

std::vector<Suite> load_suites(const std::vector<fs::path>& dirs, std::vector<std::string>* skipped) {
    std::vector<Suite> out;
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) throw sdk::ConfigError(dir.string() + ": suites directory does not exist");
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            Suite s;
            try {
                s = load_suite(file);
            } catch (const MissingCapability& e) {
                if (skipped) skipped->push_back(e.what());
                else spdlog::warn("{}", e.what());
                continue;
            }
            for (const auto& other : out)
                if (other.id == s.id)
                    throw sdk::ConfigError(s.file + ": suite '" + s.id + "' is already defined in " + other.file);
            out.push_back(std::move(s));
        }
    }
    return out;
}

}  // namespace certlab::engine
