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

/// `warn_below` / `warn_above`: the marginal band lies inside the limits, so a value
/// in it still passes; a band outside them could never warn, and is a typo.
void read_marginal_band(const YamlFile& f, const YAML::Node& spec, const std::string& unit, Check& c) {
    if (auto n = spec["warn_below"]) {
        c.warn_below = limit_value(f, n, unit, "warn_below");
        if ((c.min && *c.warn_below <= *c.min) || (c.max && *c.warn_below > *c.max))
            f.fail(n, "warn_below: expected a value inside the limits (above min, up to max)");
    }
    if (auto n = spec["warn_above"]) {
        c.warn_above = limit_value(f, n, unit, "warn_above");
        if ((c.max && *c.warn_above >= *c.max) || (c.min && *c.warn_above < *c.min))
            f.fail(n, "warn_above: expected a value inside the limits (below max, down to min)");
    }
    if (c.warn_below && c.warn_above && *c.warn_below > *c.warn_above)
        f.fail(spec["warn_above"], "warn_above: expected a value not below warn_below");
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
    f.check_keys(spec, {"equals", "regex", "min", "max", "warn_below", "warn_above"}, "check of '" + c.key + "'");
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
        read_marginal_band(f, spec, result.unit, c);
    }
    if (c.kind != Check::Kind::range)
        for (const char* key : {"warn_below", "warn_above"})
            if (spec[key]) f.fail(spec[key], std::string(key) + ": a marginal band needs a range check (min, max)");
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

/// `retry: 3` or `retry: { attempts: 3, on: [timeout, error], delay: 200ms }`. By
/// default only what is not the device's verdict is retried (timeout, error): a
/// retried `fail` would let a flaky device pass, so a suite has to ask for it.
Retry read_retry(const YamlFile& f, const YAML::Node& step) {
    Retry r;
    r.on = {record::Outcome::timeout, record::Outcome::error};
    const auto n = step["retry"];
    if (n.IsScalar()) {
        r.attempts = static_cast<int>(f.get_int(step, "retry", 1, 1, 100));
        return r;
    }
    f.require_map(n, "retry");
    f.check_keys(n, {"attempts", "on", "delay"}, "retry");
    r.attempts = static_cast<int>(f.get_int(n, "attempts", 2, 1, 100));
    if (n["on"]) {
        r.on.clear();
        const auto on = n["on"];
        const auto items = f.get_string_list(n, "on");
        for (std::size_t i = 0; i < items.size(); ++i) {
            auto o = record::parse_outcome(items[i]);
            if (!o || (*o != record::Outcome::fail && *o != record::Outcome::error && *o != record::Outcome::timeout))
                f.fail(on.IsSequence() ? on[i] : on, "retry: on: expected fail, error or timeout, got '" + items[i] + "'");
            r.on.push_back(*o);
        }
    }
    r.delay = f.get_duration(n, "delay", {});
    return r;
}

using Roles = std::map<std::string, std::vector<std::string>>;

std::string role_names(const Roles& roles) {
    std::string names;
    for (const auto& [name, caps] : roles) names += (names.empty() ? "" : ", ") + name;
    return names;
}

/// A prompt's timeout is a person's, so it does not take the suite's step_timeout
/// (seconds, made for devices): ten minutes is time to walk to the bench and look.
constexpr std::chrono::minutes default_prompt_timeout{10};

/// The `prompt:` step: a question for the technician (engine/prompt.hpp).
void read_prompt(const YamlFile& f, const YAML::Node& n, Step& s) {
    f.check_keys(n, {"prompt", "message", "choices", "fail_on", "min", "max", "unit", "timeout", "on_timeout", "save",
                     "when"},
                 "prompt step");
    s.kind = Step::Kind::prompt;
    auto& p = s.prompt;
    const auto kind = f.scalar(n["prompt"], "prompt");
    const auto k = parse_prompt_kind(kind);
    if (!k) f.fail(n["prompt"], "prompt: expected confirm, choice, number, text, photo or file, got '" + kind + "'");
    p.kind = *k;
    if (!n["message"]) f.fail(n, "prompt step: missing required key 'message'");
    p.message = f.get_string(n, "message", "prompt step");
    if (p.message.empty()) f.fail(n["message"], "message: expected the question to put to the technician");
    // A key of another kind is a mistake in the suite, not an option to ignore.
    auto only_for = [&](const char* key, PromptKind owner) {
        if (n[key] && p.kind != owner)
            f.fail(n[key], std::string(key) + ": only " + std::string(to_string(owner)) + " prompts take it");
    };
    only_for("choices", PromptKind::choice);
    only_for("fail_on", PromptKind::choice);
    only_for("min", PromptKind::number);
    only_for("max", PromptKind::number);
    only_for("unit", PromptKind::number);
    if (p.kind == PromptKind::choice) {
        if (!n["choices"]) f.fail(n, "choice prompt: missing required key 'choices'");
        p.choices = f.get_string_list(n, "choices");
        if (p.choices.size() < 2) f.fail(n["choices"], "choices: expected a list of at least two choices");
        std::set<std::string> seen;
        for (const auto& c : p.choices) {
            std::string key;
            for (char ch : c) key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (key.empty()) f.fail(n["choices"], "choices: a choice must not be empty");
            // Answers match choices regardless of case, so these would be one answer.
            if (!seen.insert(key).second) f.fail(n["choices"], "choices: '" + c + "' appears twice");
        }
        p.fail_on = f.get_string_list(n, "fail_on");
        std::string offered;
        for (const auto& c : p.choices) offered += (offered.empty() ? "" : ", ") + c;
        for (const auto& x : p.fail_on)
            if (std::find(p.choices.begin(), p.choices.end(), x) == p.choices.end())
                f.fail(n["fail_on"], "fail_on: '" + x + "' is not among the choices (" + offered + ")");
        if (std::set<std::string>(p.fail_on.begin(), p.fail_on.end()).size() == p.choices.size())
            f.fail(n["fail_on"], "fail_on: every choice fails; leave at least one that passes");
    }
    if (p.kind == PromptKind::number) {
        p.unit = f.get_string(n, "unit", "prompt step", "");
        if (!known_unit(p.unit)) f.fail(n["unit"], "unit: '" + p.unit + "' is not a unit this station knows");
        if (auto mn = n["min"]) p.min = limit_value(f, mn, p.unit, "min");
        if (auto mx = n["max"]) p.max = limit_value(f, mx, p.unit, "max");
        if (p.min && p.max && *p.min > *p.max) f.fail(n["min"], "min is greater than max");
    }
    s.timeout = f.get_duration(n, "timeout", default_prompt_timeout);
    if (s.timeout.count() <= 0) f.fail(n["timeout"], "timeout: expected a duration above zero");
    if (auto t = n["on_timeout"]) {
        const auto policy = f.scalar(t, "on_timeout");
        const auto o = parse_on_timeout(policy);
        if (!o) f.fail(t, "on_timeout: expected skip, fail or error, got '" + policy + "'");
        p.on_timeout = *o;
    }
    s.save = f.get_string(n, "save", "step", "");
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
        f.check_keys(n, {"call", "role", "args", "expect", "measure", "timeout", "save", "when", "retry"}, "call step");
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
        if (n["retry"]) s.retry = read_retry(f, n);
    } else if (n["prompt"]) {
        read_prompt(f, n, s);
    } else {
        f.fail(n, "step: expected 'call', 'wait' or 'prompt'");
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

constexpr std::int64_t max_iterations = 10'000'000;

std::vector<Step> read_steps(const YamlFile& f, const YAML::Node& list, std::string_view what,
                             std::chrono::microseconds step_timeout,
                             std::map<std::string, const sdk::ActionSpec*>& saved, const Roles& roles) {
    std::vector<Step> out;
    if (!list) return out;
    f.require_seq(list, what);
    for (const auto& st : list) {
        out.push_back(read_step(f, st, step_timeout, saved, roles));
        const auto& s = out.back();
        if (!s.save.empty())
            saved[s.save] = s.kind == Step::Kind::prompt ? &prompt_results(s.prompt.kind) : s.action;
    }
    return out;
}

/// `5%` or `0.05`.
double read_rate(const YamlFile& f, const YAML::Node& n) {
    auto text = f.scalar(n, "max_failure_rate");
    const bool percent = !text.empty() && text.back() == '%';
    if (percent) text.pop_back();
    double v = -1;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) v = -1;
    if (percent) v /= 100;
    if (!(v >= 0 && v < 1)) f.fail(n, "max_failure_rate: expected a share such as 5% or 0.05 (below 100%)");
    return v;
}

/// `power_cycle: { every: 100, role: psu, off_time: 500ms, settle: 2s }`.
PowerCycle read_power_cycle(const YamlFile& f, const YAML::Node& n, const Roles& roles) {
    f.check_keys(n, {"every", "role", "off_time", "settle"}, "power_cycle");
    PowerCycle pc;
    pc.every = static_cast<int>(f.get_int(n, "every", 0, 1, max_iterations));
    if (!n["every"]) f.fail(n, "power_cycle: missing required key 'every' (iterations between power cycles)");
    pc.role = f.get_string(n, "role", "power_cycle", "psu");
    pc.off_time = f.get_duration(n, "off_time", pc.off_time);
    pc.settle = f.get_duration(n, "settle", pc.settle);
    pc.action = sdk::find_action("power.cycle");
    auto role = roles.find(pc.role);
    const auto where = n["role"] ? n["role"] : n;
    if (role == roles.end())
        f.fail(where, "power_cycle: role '" + pc.role + "' is not declared in the suite's roles (declared: " +
                          role_names(roles) + ")");
    if (pc.role == "dut") f.fail(where, "power_cycle: the device under test cannot power-cycle itself");
    if (!pc.action || std::find(role->second.begin(), role->second.end(), "power") == role->second.end())
        f.fail(where, "power_cycle: role " + pc.role + " needs capability 'power'");
    return pc;
}

Scenario read_scenario(const YamlFile& f, const YAML::Node& n, std::chrono::microseconds step_timeout,
                       const Roles& roles) {
    f.check_keys(n, {"id", "title", "description", "permissions", "setup", "steps", "teardown", "iterations",
                     "duration", "interval", "max_failures", "max_failure_rate", "failure_rate_after", "power_cycle",
                     "timeout"},
                 "scenario");
    Scenario sc;
    sc.where = f.where(n);
    sc.id = f.get_string(n, "id", "scenario");
    sc.title = f.get_string(n, "title", "scenario");
    sc.description = f.get_string(n, "description", "scenario", "");
    sc.permissions = f.get_string_list(n, "permissions");
    sc.duration = f.get_duration(n, "duration", {});
    if (n["duration"] && sc.duration.count() <= 0) f.fail(n["duration"], "duration: expected a duration above zero");
    // By time alone: as many iterations as fit in the duration.
    const int default_iterations = sc.duration.count() > 0 ? max_iterations : 1;
    sc.iterations = static_cast<int>(f.get_int(n, "iterations", default_iterations, 1, max_iterations));
    sc.interval = f.get_duration(n, "interval", {});
    sc.max_failures = static_cast<int>(f.get_int(n, "max_failures", 1, 1, max_iterations));
    if (auto rate = n["max_failure_rate"]) sc.max_failure_rate = read_rate(f, rate);
    sc.failure_rate_after = static_cast<int>(f.get_int(n, "failure_rate_after", 20, 1, max_iterations));
    if (n["power_cycle"]) sc.power_cycle = read_power_cycle(f, n["power_cycle"], roles);
    if ((sc.max_failure_rate || sc.power_cycle.every > 0) && !sc.is_soak())
        f.fail(n, "scenario " + sc.id + ": max_failure_rate and power_cycle need iterations above 1 or a duration");
    sc.timeout = f.get_duration(n, "timeout", {});
    auto steps = n["steps"];
    if (!steps) f.fail(n, "scenario " + sc.id + ": missing required key 'steps'");
    if (steps.IsSequence() && steps.size() == 0) f.fail(steps, "steps: expected at least one step");
    // Values saved in setup are seen by the steps and the teardown; the steps' by the teardown.
    std::map<std::string, const sdk::ActionSpec*> saved;
    sc.setup = read_steps(f, n["setup"], "setup", step_timeout, saved, roles);
    sc.steps = read_steps(f, steps, "steps", step_timeout, saved, roles);
    sc.teardown = read_steps(f, n["teardown"], "teardown", step_timeout, saved, roles);
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

bool Retry::retries(record::Outcome o) const { return std::find(on.begin(), on.end(), o) != on.end(); }

std::string Step::describe() const {
    if (kind == Kind::wait) return "wait";
    if (kind == Kind::prompt) return "prompt." + std::string(to_string(prompt.kind));
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
