#include "inventory/match_config.hpp"

#include <algorithm>
#include <cctype>

#include "inventory/matcher.hpp"
#include "sdk/error.hpp"

namespace certlab::inventory {

namespace {

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& items, std::string_view extra = {}) {
    std::string out;
    for (auto s : items) out += (out.empty() ? "" : ", ") + std::string(s);
    if (!extra.empty()) out += ", " + std::string(extra);
    return out;
}

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& items, std::string_view s) {
    return std::find(items.begin(), items.end(), s) != items.end();
}

// A non-empty scalar; null and "" are mistakes, not "match anything".
std::string value_text(const config::YamlFile& f, const YAML::Node& n, const std::string& key) {
    if (n.IsNull()) f.fail(n, key + ": expected a value");
    auto s = f.scalar(n, key);
    if (s.empty()) f.fail(n, key + ": expected a non-empty value");
    return s;
}

// `key: value` (exact, or glob when it has * ? [) or `key: { exact|glob|parent: value }`.
MatchCondition read_condition(const config::YamlFile& f, const YAML::Node& key_node, const std::string& key,
                              const YAML::Node& v) {
    MatchCondition c;
    c.key = key;
    if (v.IsNull()) f.fail(key_node, key + ": expected a value");  // the null has no useful mark
    if (v.IsMap()) {
        if (key == "kind") f.fail(v, "kind: expected usb, serial or net");
        if (v.size() != 1)
            f.fail(v, key + ": expected exactly one of { exact: ... }, { glob: ... }, { parent: ... }");
        const YAML::Node op_node = v.begin()->first;
        auto op = f.scalar(op_node, key);
        if (op == "exact") c.op = MatchCondition::Op::exact;
        else if (op == "glob") c.op = MatchCondition::Op::glob;
        else if (op == "parent") c.op = MatchCondition::Op::parent;
        else f.fail(op_node, key + ": unknown operator '" + op + "' (expected one of: exact, glob, parent)");
        if (c.op == MatchCondition::Op::parent && key != "port_path")
            f.fail(op_node, key + ": 'parent' applies only to port_path");
    } else if (!v.IsScalar()) {
        f.fail(v, key + ": expected a value, or one of { exact: ... }, { glob: ... }, { parent: ... }");
    }
    // Copy-constructed, never assigned: assigning a YAML::Node rebinds the node it
    // refers to inside the document, which would rewrite the profile being read.
    const YAML::Node text_node = v.IsMap() ? YAML::Node(v.begin()->second) : v;
    c.value = value_text(f, text_node, key);
    c.where = f.where(text_node);
    if (!v.IsMap() && has_glob_chars(c.value)) c.op = MatchCondition::Op::glob;

    if (c.op == MatchCondition::Op::glob) {
        if (auto problem = glob_problem(c.value); !problem.empty())
            f.fail(text_node, key + ": expected a glob pattern, but " + problem + " in '" + c.value + "'");
    }
    if (key == "kind") {
        if (c.value != "usb" && c.value != "serial" && c.value != "net")
            f.fail(text_node, "kind: expected usb, serial or net, got '" + c.value + "'");
    } else if (is_usb_id_key(key) && c.op == MatchCondition::Op::exact) {
        auto id = normalize_usb_id(c.value);
        if (!id) f.fail(text_node, key + ": expected a hex USB id such as 04b8 or 0x04B8, got '" + c.value + "'");
        c.value = *id;  // stored normalized so messages and comparisons agree
    } else if (c.op == MatchCondition::Op::parent) {
        // Bus-port[.port...]: a typo such as "1_4" would otherwise silently match nothing.
        const auto& p = c.value;
        auto dash = p.find('-');
        bool ok = dash != std::string::npos && dash > 0 && dash + 1 < p.size() &&
                  std::isdigit(static_cast<unsigned char>(p[dash + 1])) && p.back() != '.';
        for (std::size_t i = 0; ok && i < p.size(); ++i)
            ok = std::isdigit(static_cast<unsigned char>(p[i])) || (i == dash) ||
                 (i > dash && p[i] == '.' && p[i - 1] != '.');
        if (!ok) f.fail(text_node, "port_path: expected a USB port path such as 1-4 or 1-4.2, got '" + p + "'");
    }
    return c;
}

}  // namespace

MatchSpec read_match(const config::YamlFile& f, const YAML::Node& match_node) {
    static const std::string expected = "match: expected a mapping with at least one of: " +
                                        join(match_keys, "txt.<key>, ieee1284.<key>");
    if (!match_node.IsDefined()) throw sdk::ConfigError(f.name() + ": " + expected);
    if (!match_node.IsMap() || match_node.size() == 0) f.fail(match_node, expected);

    MatchSpec spec;
    for (const auto& kv : match_node) {
        auto key = f.scalar(kv.first, "match key");
        // Open families: mDNS TXT records, and IEEE 1284 device id fields of USB printers.
        bool open_key = (key.starts_with("txt.") && key.size() > 4) ||
                        (key.starts_with("ieee1284.") && key.size() > 9);
        if (!open_key && !contains(match_keys, key))
            f.fail(kv.first, "unknown key '" + key + "' in match (expected one of: " +
                                 join(match_keys, "txt.<key>, ieee1284.<key>") + ")");
        spec.all.push_back(read_condition(f, kv.first, key, kv.second));
    }
    return spec;
}

MatchSpec read_profile_match(const config::YamlFile& f, const YAML::Node& profile) {
    f.require_map(profile, "device profile");
    auto m = profile["match"];
    if (!m) f.fail(profile, "device profile: missing required key 'match'");
    auto spec = read_match(f, m);
    spec.priority = static_cast<int>(f.get_int(profile, "priority", 0, -1000, 1000));

    spec.probe = f.get_string(profile, "probe", "device profile", "");
    if (profile["probe"] && !contains(known_probes, spec.probe))
        f.fail(profile["probe"], "probe: expected one of: " + join(known_probes) + ", got '" + spec.probe + "'");

    if (auto id = profile["identify"]) {
        // Identification refines a match using the probe's answer; without a probe
        // there is no answer, so the section could never hold.
        if (spec.probe.empty())
            f.fail(id, "identify: needs a probe (probe: " + join(known_probes) + ")");
        if (!id.IsMap() || id.size() == 0)
            f.fail(id, "identify: expected a mapping with at least one of: " + join(identify_keys));
        for (const auto& kv : id) {
            auto key = f.scalar(kv.first, "identify key");
            if (!contains(identify_keys, key))
                f.fail(kv.first, "unknown key '" + key + "' in identify (expected one of: " +
                                     join(identify_keys) + ")");
            spec.identify.push_back(read_condition(f, kv.first, key, kv.second));
        }
    }
    return spec;
}

}  // namespace certlab::inventory
