#include "engine/check.hpp"

#include <cstdio>

#include "engine/units.hpp"

namespace certlab::engine {
namespace {

std::string show(double v, const std::string& unit) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return unit.empty() ? std::string(buf) : std::string(buf) + " " + unit;
}

std::string limit_note(const std::optional<double>& limit, const std::string& unit) {
    return limit ? " (limit " + show(*limit, unit) + ")" : std::string();
}

}  // namespace

CheckResult evaluate(const Check& check, const sdk::Values& values) {
    CheckResult r;
    auto it = values.find(check.key);
    if (it == values.end() || it->second.is_null()) {
        r.ok = false;
        r.reason = check.key + ": no value reported";
        return r;
    }
    const sdk::Value& v = it->second;
    switch (check.kind) {
        case Check::Kind::equals: {
            bool same = v.data == check.expected.data;
            // 3 and 3.0 are the same number whichever way the driver typed it.
            if (!same && v.is_number() && check.expected.is_number())
                same = *v.as_number() == *check.expected.as_number();
            if (!same) {
                r.ok = false;
                r.reason = check.key + ": expected " + check.expected.to_string() + ", got " + v.to_string();
            }
            break;
        }
        case Check::Kind::regex: {
            std::string text = v.is_string() ? std::get<std::string>(v.data) : v.to_string();
            if (!std::regex_search(text, check.re)) {
                r.ok = false;
                r.reason = check.key + ": expected to match /" + check.pattern + "/, got '" + text + "'";
            }
            break;
        }
        case Check::Kind::range: {
            auto num = v.as_number();
            if (!num) {
                r.ok = false;
                r.reason = check.key + ": expected a number, got " + v.to_string();
                break;
            }
            double x = *num;
            if (v.unit != check.unit) {
                auto c = convert(x, v.unit, check.unit);
                if (!c) {
                    r.ok = false;
                    r.reason = check.key + ": reported in '" + v.unit + "', which cannot be compared with '" +
                               check.unit + "'";
                    break;
                }
                x = *c;
            }
            if (check.min && x < *check.min) {
                r.ok = false;
                r.reason = check.key + ": " + show(x, check.unit) + " is below the limit of " + show(*check.min, check.unit);
            } else if (check.max && x > *check.max) {
                r.ok = false;
                r.reason = check.key + ": " + show(x, check.unit) + " is above the limit of " + show(*check.max, check.unit);
            }
            if (r.ok && check.warn_below && x < *check.warn_below)
                r.warning = check.key + ": " + show(x, check.unit) + " is marginal, below " +
                            show(*check.warn_below, check.unit) + limit_note(check.min, check.unit);
            else if (r.ok && check.warn_above && x > *check.warn_above)
                r.warning = check.key + ": " + show(x, check.unit) + " is marginal, above " +
                            show(*check.warn_above, check.unit) + limit_note(check.max, check.unit);
            if (check.record) {
                r.measurement = record::Measurement{check.key, x, check.unit, check.min, check.max, r.ok};
                r.measurement->marginal = !r.warning.empty();
            }
            break;
        }
    }
    return r;
}

}  // namespace certlab::engine
