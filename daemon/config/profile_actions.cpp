#include "config/profile_actions.hpp"

#include "engine/units.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

namespace certlab::config {
namespace {

bool valid_name(const std::string& s) {
    static const std::regex re("[a-z][a-z0-9_]{0,31}");
    return std::regex_match(s, re);
}

sdk::ValueType read_type(const YamlFile& f, const YAML::Node& n, const std::string& what) {
    static const std::map<std::string, sdk::ValueType> types{{"boolean", sdk::ValueType::boolean},
                                                             {"integer", sdk::ValueType::integer},
                                                             {"number", sdk::ValueType::number},
                                                             {"string", sdk::ValueType::string}};
    auto text = f.scalar(n, what);
    auto it = types.find(text);
    if (it == types.end())
        f.fail(n, what + ": expected one of boolean, integer, number, string, got '" + text + "'");
    return it->second;
}

/// Driver fields: scalars as they are, maps flattened with dots.
void read_fields(const YamlFile& f, const YAML::Node& n, const std::string& prefix, sdk::Settings& out) {
    if (n.IsScalar()) {
        out.set(prefix, n.as<std::string>(), f.where(n));
        return;
    }
    if (!n.IsMap()) f.fail(n, prefix + ": expected a text or a map of texts");
    for (const auto& kv : n) read_fields(f, kv.second, prefix + "." + kv.first.as<std::string>(), out);
}

std::vector<sdk::ParamSpec> read_params(const YamlFile& f, const YAML::Node& n, const std::string& action) {
    std::vector<sdk::ParamSpec> params;
    f.require_map(n, "params of " + action);
    for (const auto& kv : n) {
        sdk::ParamSpec p;
        p.name = kv.first.as<std::string>();
        if (!valid_name(p.name))
            f.fail(kv.first, "params: expected a name of lower-case letters, digits and _, got '" + p.name + "'");
        f.check_keys(kv.second, {"type", "required", "doc"}, "parameter " + p.name);
        if (!kv.second["type"]) f.fail(kv.second, "parameter " + p.name + ": missing required key 'type'");
        p.type = read_type(f, kv.second["type"], "parameter " + p.name + ": type");
        p.required = f.get_bool(kv.second, "required", false);
        p.doc = f.get_string(kv.second, "doc", "parameter", "");
        params.push_back(std::move(p));
    }
    return params;
}

/// Results: for a defined action, `type` (and `unit`, `doc`) make the spec; for a
/// built-in one the catalog has the spec and only driver fields may be written.
void read_results(const YamlFile& f, const YAML::Node& n, sdk::ProfileAction& pa, sdk::ActionSpec* defining) {
    f.require_map(n, "results of " + pa.name);
    for (const auto& kv : n) {
        const auto name = kv.first.as<std::string>();
        if (!valid_name(name))
            f.fail(kv.first, "results: expected a name of lower-case letters, digits and _, got '" + name + "'");
        f.require_map(kv.second, "result " + name);
        if (defining) {
            if (!kv.second["type"]) f.fail(kv.second, "result " + name + ": missing required key 'type'");
            sdk::ResultSpec r;
            r.name = name;
            r.type = read_type(f, kv.second["type"], "result " + name + ": type");
            r.unit = f.get_string(kv.second, "unit", "result", "");
            if (!engine::known_unit(r.unit))
                f.fail(kv.second["unit"], "result " + name + ": unknown unit '" + r.unit +
                                              "' (units: s, ms, V, mV, A, mA, W, g, kg, lb, oz, B, Hz, m, mm, %, degC or °C, rpm, ...)");
            r.doc = f.get_string(kv.second, "doc", "result", "");
            defining->results.push_back(std::move(r));
        } else if (!pa.spec->result(name)) {
            std::string known;
            for (const auto& r : pa.spec->results) known += (known.empty() ? "" : ", ") + r.name;
            f.fail(kv.first, "results: " + pa.name + " has no result '" + name + "' (it has: " + known + ")");
        }
        for (const auto& field : kv.second) {
            const auto key = field.first.as<std::string>();
            if (key == "type" || key == "unit" || key == "doc") {
                if (!defining)
                    f.fail(field.first, "results: " + name + ": " + key + " of the built-in action " + pa.name +
                                            " comes from the capability catalog");
                continue;
            }
            read_fields(f, field.second, "results." + name + "." + key, pa.fields);
        }
    }
}

}  // namespace

std::vector<sdk::ProfileAction> read_profile_actions(const YamlFile& f, const YAML::Node& actions,
                                                     const std::string& profile_id) {
    f.require_map(actions, "actions");
    if (actions.size() == 0) f.fail(actions, "actions: expected at least one action");

    std::vector<sdk::ProfileAction> out;
    // Capabilities this profile defines: their specs, and the node of their first action.
    std::map<std::string, std::pair<sdk::CapabilitySpec, YAML::Node>> defining;
    std::vector<std::string> order;
    std::vector<std::string> defined_names;  // per entry of `out`: the capability it defines, or ""

    for (const auto& kv : actions) {
        sdk::ProfileAction pa;
        pa.name = kv.first.as<std::string>();
        pa.where = f.where(kv.first);
        if (std::any_of(out.begin(), out.end(), [&](const auto& a) { return a.name == pa.name; }))
            f.fail(kv.first, "actions: '" + pa.name + "' appears twice");
        f.require_map(kv.second, "action " + pa.name);
        std::string cap_name;
        sdk::ActionSpec* spec_out = nullptr;
        if (pa.name != "identify") {
            auto dot = pa.name.find('.');
            cap_name = dot == std::string::npos ? std::string() : pa.name.substr(0, dot);
            const auto action_name = dot == std::string::npos ? std::string() : pa.name.substr(dot + 1);
            if (!valid_name(cap_name) || !valid_name(action_name))
                f.fail(kv.first, "actions: expected 'identify' or <capability>.<action> in lower-case letters, "
                                 "digits and _, got '" + pa.name + "'");
            const sdk::CapabilitySpec* builtin = nullptr;
            for (const auto& c : sdk::capability_catalog())
                if (c.name == cap_name) builtin = &c;
            if (builtin) {
                pa.spec = builtin->action(action_name);
                if (!pa.spec) {
                    std::string known;
                    for (const auto& a : builtin->actions) known += (known.empty() ? "" : ", ") + a.name;
                    f.fail(kv.first, "actions: the built-in capability '" + cap_name + "' has no action '" +
                                         action_name + "' (it has: " + known + ")");
                }
                if (kv.second["params"])
                    f.fail(kv.second["params"], "params: the parameters of the built-in action " + pa.name +
                                                    " come from the capability catalog");
                if (kv.second["doc"])
                    f.fail(kv.second["doc"], "doc: the built-in action " + pa.name + " is documented in the catalog");
            } else {
                auto [it, fresh] = defining.try_emplace(cap_name);
                if (fresh) {
                    it->second.first.name = cap_name;
                    it->second.first.doc = "Defined by device profile " + profile_id + ".";
                    it->second.first.origin = "profile " + profile_id + ", " + pa.where;
                    it->second.second = kv.first;
                    order.push_back(cap_name);
                }
                auto& spec = it->second.first.actions.emplace_back();
                spec.capability = cap_name;
                spec.name = action_name;
                spec.doc = f.get_string(kv.second, "doc", "action", "");
                if (auto p = kv.second["params"]) spec.params = read_params(f, p, pa.name);
                spec_out = &spec;
            }
        } else if (kv.second["params"] || kv.second["results"] || kv.second["doc"]) {
            const auto bad = kv.second["params"] ? kv.second["params"] : kv.second["results"] ? kv.second["results"] : kv.second["doc"];
            f.fail(bad, "identify: its results are the identity (manufacturer, model, serial_number, firmware); "
                        "it takes no params, results or doc");
        }
        if (auto r = kv.second["results"]) {
            if (pa.spec || spec_out) read_results(f, r, pa, spec_out);
        }
        for (const auto& field : kv.second) {
            const auto key = field.first.as<std::string>();
            if (key == "doc" || key == "params" || key == "results") continue;
            read_fields(f, field.second, key, pa.fields);
        }
        defined_names.push_back(pa.spec ? std::string() : cap_name);
        out.push_back(std::move(pa));
    }

    // Define this profile's capabilities, then point each action at its lasting spec.
    std::map<std::string, const sdk::CapabilitySpec*> lasting;
    for (const auto& name : order) {
        auto& [spec, node] = defining.at(name);
        try {
            lasting[name] = &sdk::define_capability(spec);
        } catch (const std::invalid_argument& e) {
            f.fail(node, std::string("actions: ") + e.what());
        }
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (defined_names[i].empty()) continue;
        const auto action = out[i].name.substr(out[i].name.find('.') + 1);
        out[i].spec = lasting.at(defined_names[i])->action(action);
    }

    // A built-in capability is implemented whole, so a suite can rely on every action.
    for (const auto& cap : capabilities_of(out)) {
        const auto* c = sdk::find_capability(cap);
        for (const auto& a : c->actions)
            if (std::none_of(out.begin(), out.end(), [&](const auto& pa) { return pa.spec == &a; }))
                f.fail(actions, "actions: capability '" + cap + "' needs every one of its actions; " + a.qualified() +
                                    " is missing");
    }
    return out;
}

std::vector<std::string> capabilities_of(const std::vector<sdk::ProfileAction>& actions) {
    std::vector<std::string> caps;
    for (const auto& a : actions)
        if (a.spec && std::find(caps.begin(), caps.end(), a.spec->capability) == caps.end())
            caps.push_back(a.spec->capability);
    return caps;
}

}  // namespace certlab::config
