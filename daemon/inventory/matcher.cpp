#include "inventory/matcher.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "sdk/error.hpp"

namespace certlab::inventory {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string lowered(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = lower(c);
    return out;
}

bool glob_match(const std::string& pattern, const std::string& text) {
    return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// Hex-id patterns are compared lower-case without the 0x a person may have typed.
std::string usb_id_pattern(std::string_view p) {
    if (p.size() > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p.remove_prefix(2);
    return lowered(p);
}

// How a condition reads in a message: "expected 04b8", "expected 1-4 or below it".
std::string expectation(MatchCondition::Op op, const std::string& value) {
    return op == MatchCondition::Op::parent ? value + " or below it" : value;
}

bool condition_holds(MatchCondition::Op op, const std::string& value, const std::string& actual) {
    switch (op) {
        case MatchCondition::Op::exact: return actual == value;
        case MatchCondition::Op::glob: return glob_match(value, actual);
        case MatchCondition::Op::parent: return port_path_within(actual, value);
    }
    return false;
}

}  // namespace

std::optional<std::string> normalize_usb_id(std::string_view text) {
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
    if (text.empty() || text.size() > 4) return std::nullopt;
    std::string out(4 - text.size(), '0');
    for (char c : text) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        out += lower(c);
    }
    return out;
}

bool is_usb_id_key(std::string_view key) { return key == "vid" || key == "pid"; }

bool has_glob_chars(std::string_view text) {
    return text.find_first_of("*?[") != std::string_view::npos;
}

std::string glob_problem(std::string_view p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '\\') {
            if (++i == p.size()) return "it ends with a lone '\\'";
            continue;
        }
        if (p[i] != '[') continue;
        // fnmatch: a ']' right after '[' or '[!' is a member, not the end of the set.
        std::size_t j = i + 1;
        if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
        if (j < p.size() && p[j] == ']') ++j;
        auto close = p.find(']', j);
        if (close == std::string_view::npos)
            return "the '[' at position " + std::to_string(i + 1) + " has no closing ']'";
        i = close;
    }
    return {};
}

bool port_path_within(std::string_view path, std::string_view parent) {
    if (parent.empty() || !path.starts_with(parent)) return false;
    if (path.size() == parent.size()) return true;
    char next = path[parent.size()];
    return next == '.' || next == ':';  // "1-40" is a sibling of "1-4", not a child
}

bool identify_matches(const MatchSpec& spec, const std::map<std::string, std::string>& identity,
                      std::string& why) {
    why.clear();
    for (const auto& c : spec.identify) {
        auto it = identity.find(c.key);
        if (it == identity.end()) {
            why = c.key + " is missing from the probe's answer, expected " + expectation(c.op, c.value);
            return false;
        }
        if (!condition_holds(c.op, c.value, it->second)) {
            why = c.key + " is " + it->second + ", expected " + expectation(c.op, c.value);
            return false;
        }
    }
    return true;
}

// The resource as the conditions see it: vid/pid normalized once, not per profile.
struct Matcher::View {
    const sdk::Resource& r;
    std::optional<std::string> vid;
    std::optional<std::string> pid;

    explicit View(const sdk::Resource& res) : r(res) {
        vid = normalized("vid");
        pid = normalized("pid");
    }

    [[nodiscard]] std::optional<std::string> normalized(std::string_view key) const {
        auto it = r.attributes.find(key);
        if (it == r.attributes.end()) return std::nullopt;
        // A watcher that reports a malformed id still gets a (failing) comparison.
        return normalize_usb_id(it->second).value_or(lowered(it->second));
    }

    /// The compared text, or nullptr when the resource lacks the attribute.
    [[nodiscard]] const std::string* value(const Condition& c, std::string& scratch) const {
        switch (c.field) {
            case Field::kind: scratch = std::string(sdk::to_string(r.kind)); return &scratch;
            case Field::address: return &r.address;
            case Field::attribute: break;
        }
        if (c.usb_id) {
            const auto& id = c.key == "vid" ? vid : pid;
            return id ? &*id : nullptr;
        }
        auto it = r.attributes.find(c.key);
        return it == r.attributes.end() ? nullptr : &it->second;
    }
};

Matcher::Matcher(const std::vector<Profile>& profiles) {
    profiles_.reserve(profiles.size());
    for (const auto& [id, spec] : profiles) {
        if (spec.all.empty())
            throw sdk::ConfigError("profile '" + id +
                                   "': match: expected at least one condition (an empty match "
                                   "would claim every port)");
        Compiled p{id, spec.priority, {}};
        for (const auto& mc : spec.all) {
            Condition c;
            c.key = mc.key;
            c.op = mc.op;
            c.field = mc.key == "kind" ? Field::kind : mc.key == "address" ? Field::address : Field::attribute;
            c.usb_id = is_usb_id_key(mc.key);
            c.value = mc.value;
            auto fail = [&](const std::string& what) {
                throw sdk::ConfigError((mc.where.empty() ? "profile '" + id + "'" : mc.where) + ": " +
                                       mc.key + ": " + what);
            };
            if (mc.op == MatchCondition::Op::glob) {
                if (auto problem = glob_problem(mc.value); !problem.empty())
                    fail("expected a glob pattern, but " + problem);
                if (c.usb_id) c.value = usb_id_pattern(mc.value);
            } else if (c.usb_id) {
                auto norm = normalize_usb_id(mc.value);
                if (!norm) fail("expected a USB id of 1 to 4 hex digits such as 04b8, got '" + mc.value + "'");
                c.value = *norm;
            }
            if (mc.op == MatchCondition::Op::parent && mc.key != "port_path")
                fail("'parent' applies only to port_path");
            p.all.push_back(std::move(c));
        }
        profiles_.push_back(std::move(p));
    }
}

bool Matcher::holds(const Condition& c, const View& v) {
    std::string scratch;
    const auto* actual = v.value(c, scratch);
    return actual && condition_holds(c.op, c.value, *actual);
}

std::string Matcher::explain_failure(const Condition& c, const View& v) {
    std::string scratch;
    const auto* actual = v.value(c, scratch);
    std::string is = !actual ? "is missing" : actual->empty() ? "is empty" : "is " + *actual;
    return c.key + " " + is + ", expected " + expectation(c.op, c.value);
}

MatchResult Matcher::match(const sdk::Resource& r) const {
    const View v(r);
    std::vector<const Compiled*> matched;
    // For an unmatched resource, the closest profile is the one whose kind agrees
    // and that has the most conditions holding; earlier profiles win ties.
    const Compiled* closest = nullptr;
    const Condition* closest_failure = nullptr;
    std::pair<bool, std::size_t> closest_score{false, 0};

    for (const auto& p : profiles_) {
        std::size_t held = 0;
        bool kind_ok = true;
        const Condition* first_failure = nullptr;
        for (const auto& c : p.all) {
            if (holds(c, v)) {
                ++held;
            } else {
                if (!first_failure) first_failure = &c;
                if (c.field == Field::kind) kind_ok = false;
            }
        }
        if (!first_failure) {
            matched.push_back(&p);
            continue;
        }
        std::pair<bool, std::size_t> score{kind_ok, held};
        if (!closest || score > closest_score) {
            closest = &p;
            closest_failure = first_failure;
            closest_score = score;
        }
    }

    MatchResult out;
    if (matched.empty()) {
        out.reason = closest ? "no profile matches; " + closest->id + ": " + explain_failure(*closest_failure, v)
                             : "no profile matches; no profiles are loaded";
        return out;
    }
    // Highest priority first; stable so ties keep configuration order in messages.
    std::stable_sort(matched.begin(), matched.end(),
                     [](const Compiled* a, const Compiled* b) { return a->priority > b->priority; });
    const int top = matched.front()->priority;
    std::vector<std::string> tied;
    for (const auto* p : matched)
        if (p->priority == top && std::find(tied.begin(), tied.end(), p->id) == tied.end()) tied.push_back(p->id);
    if (tied.size() > 1) {
        // Guessing here could send a probe to the wrong device; a person decides.
        std::string names;
        for (std::size_t i = 0; i < tied.size(); ++i)
            names += (i == 0 ? "" : i + 1 == tied.size() ? " and " : ", ") + tied[i];
        out.reason = "ambiguous: profiles " + names + (tied.size() == 2 ? " both" : " all") +
                     " match at priority " + std::to_string(top);
        return out;
    }
    out.profile = matched.front()->id;
    out.priority = top;
    out.reason = "matched " + out.profile + " at priority " + std::to_string(top) + " (";
    for (std::size_t i = 0; i < matched.front()->all.size(); ++i)
        out.reason += (i ? ", " : "") + matched.front()->all[i].key;
    out.reason += ")";
    for (std::size_t i = 1; i < matched.size(); ++i)
        if (matched[i]->id != out.profile)
            out.reason += "; also matches " + matched[i]->id + " at priority " + std::to_string(matched[i]->priority);
    return out;
}

}  // namespace certlab::inventory
