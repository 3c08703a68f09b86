#include "record/codec.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace certlab::record::codec {

using nlohmann::json;

// Values: {"<name>": {"v": <value>, "unit": "<unit>"}, ...}; "unit" only when set.
// The JSON type of "v" says which alternative it is: null, boolean, integer (int64),
// float (double; nlohmann writes 3.0 as "3.0" and 17 significant digits, so doubles
// come back bit for bit), string, array of strings. Two things JSON cannot carry get
// a tag "t":
//   "t": "double"  "v" is "nan", "inf" or "-inf"
//   "t": "hex"     "v" (string or every list element) is hex, because the text was
//                  not valid UTF-8 (a driver passed raw bytes through)
//
// Transcript: [{"dir": ">", "t_us": 12, "hex": "1b40"}, {"dir": "#", "t_us": 30,
// "text": "cut"}]. tx/rx are always hex so binary survives exactly; notes are text
// (hex if not UTF-8).

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::runtime_error(what); }

json value_to_json(const sdk::Value& v) {
    json j = json::object();
    std::visit(
        [&](const auto& x) {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, std::monostate>) {
                j["v"] = nullptr;
            } else if constexpr (std::is_same_v<X, double>) {
                if (std::isfinite(x)) {
                    j["v"] = x;
                } else {
                    j["v"] = std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
                    j["t"] = "double";
                }
            } else if constexpr (std::is_same_v<X, std::string>) {
                if (is_utf8(x)) {
                    j["v"] = x;
                } else {
                    j["v"] = to_hex(x);
                    j["t"] = "hex";
                }
            } else if constexpr (std::is_same_v<X, std::vector<std::string>>) {
                bool text = true;
                for (const auto& s : x) text = text && is_utf8(s);
                json list = json::array();
                for (const auto& s : x) list.push_back(text ? s : to_hex(s));
                j["v"] = std::move(list);
                if (!text) j["t"] = "hex";
            } else {
                j["v"] = x;  // bool, int64
            }
        },
        v.data);
    if (!v.unit.empty()) j["unit"] = v.unit;
    return j;
}

sdk::Value value_from_json(const json& j) {
    if (!j.is_object() || !j.contains("v")) bad("value is not an object with \"v\"");
    const json& v = j["v"];
    sdk::Value out;
    std::string tag = j.contains("t") ? j["t"].get<std::string>() : std::string();
    if (tag == "double") {
        auto s = v.get<std::string>();
        if (s == "nan") out.data = std::numeric_limits<double>::quiet_NaN();
        else if (s == "inf") out.data = std::numeric_limits<double>::infinity();
        else if (s == "-inf") out.data = -std::numeric_limits<double>::infinity();
        else bad("unknown non-finite double \"" + s + "\"");
    } else if (!tag.empty() && tag != "hex") {
        bad("unknown value tag \"" + tag + "\"");
    } else if (v.is_null()) {
        out.data = std::monostate{};
    } else if (v.is_boolean()) {
        out.data = v.get<bool>();
    } else if (v.is_number_unsigned()) {
        // nlohmann reads every non-negative integer as unsigned.
        auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            bad("integer value out of int64 range");
        out.data = static_cast<std::int64_t>(u);
    } else if (v.is_number_integer()) {
        out.data = v.get<std::int64_t>();
    } else if (v.is_number_float()) {
        out.data = v.get<double>();
    } else if (v.is_string()) {
        out.data = tag == "hex" ? from_hex(v.get<std::string>()) : v.get<std::string>();
    } else if (v.is_array()) {
        std::vector<std::string> list;
        list.reserve(v.size());
        for (const json& e : v) {
            if (!e.is_string()) bad("list value holds a non-string");
            list.push_back(tag == "hex" ? from_hex(e.get<std::string>()) : e.get<std::string>());
        }
        out.data = std::move(list);
    } else {
        bad("value of unsupported JSON type");
    }
    if (j.contains("unit")) out.unit = j["unit"].get<std::string>();
    return out;
}

}  // namespace

std::string values_to_json(const sdk::Values& values) {
    json j = json::object();
    for (const auto& [name, v] : values) {
        // A name that is not UTF-8 would make dump() throw: it is a programming
        // error in a driver or suite, reported with the store's context.
        if (!is_utf8(name)) bad("value name is not UTF-8: " + sdk::render_bytes(name));
        j[name] = value_to_json(v);
    }
    return j.dump();
}

sdk::Values values_from_json(std::string_view text) {
    json j = json::parse(text);
    if (!j.is_object()) bad("values are not a JSON object");
    sdk::Values out;
    for (const auto& [name, v] : j.items()) out.emplace(name, value_from_json(v));
    return out;
}

std::string roles_to_json(const std::map<std::string, RoleBinding>& roles) {
    json j = json::object();
    for (const auto& [role, b] : roles)
        j[role] = {{"device", b.device_id}, {"driver", b.driver}, {"firmware", b.firmware}};
    return j.dump();
}

std::map<std::string, RoleBinding> roles_from_json(std::string_view text) {
    json j = json::parse(text);
    if (!j.is_object()) bad("roles are not a JSON object");
    std::map<std::string, RoleBinding> out;
    for (const auto& [role, b] : j.items())
        // firmware: since schema 5; older runs did not record it.
        out[role] = RoleBinding{b.at("device").get<std::string>(), b.at("driver").get<std::string>(),
                                b.value("firmware", std::string())};
    return out;
}

namespace {
json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_or_nan(const json& j, const char* key) {
    const auto& v = j.at(key);
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    return v.get<double>();
}
}  // namespace

std::string soak_stats_to_json(const SoakStats& s) {
    json latency = json::array();
    for (const auto& l : s.latency)
        latency.push_back({{"action", l.action}, {"count", l.count}, {"p50_ms", finite_or_null(l.p50_ms)},
                           {"p95_ms", finite_or_null(l.p95_ms)}, {"p99_ms", finite_or_null(l.p99_ms)},
                           {"max_ms", finite_or_null(l.max_ms)}});
    json drift = json::array();
    for (const auto& d : s.drift)
        drift.push_back({{"name", d.name}, {"unit", d.unit}, {"count", d.count},
                         {"first", finite_or_null(d.first)}, {"last", finite_or_null(d.last)},
                         {"min", finite_or_null(d.min)}, {"max", finite_or_null(d.max)},
                         {"mean", finite_or_null(d.mean)}, {"slope_per_1k", finite_or_null(d.slope_per_1k)}});
    json j = {{"iterations", s.iterations}, {"passed", s.passed},     {"failed", s.failed},
              {"errors", s.errors},         {"timeouts", s.timeouts}, {"power_cycles", s.power_cycles},
              {"marginal", s.marginal},     {"pass_rate", finite_or_null(s.pass_rate)},
              {"latency", std::move(latency)}, {"drift", std::move(drift)}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

SoakStats soak_stats_from_json(std::string_view text) {
    json j = json::parse(text);
    if (!j.is_object()) bad("soak statistics are not a JSON object");
    SoakStats s;
    s.iterations = j.at("iterations").get<std::int64_t>();
    s.passed = j.at("passed").get<std::int64_t>();
    s.failed = j.at("failed").get<std::int64_t>();
    s.errors = j.at("errors").get<std::int64_t>();
    s.timeouts = j.at("timeouts").get<std::int64_t>();
    s.power_cycles = j.at("power_cycles").get<std::int64_t>();
    s.marginal = j.at("marginal").get<std::int64_t>();
    s.pass_rate = number_or_nan(j, "pass_rate");
    for (const auto& l : j.at("latency"))
        s.latency.push_back({l.at("action").get<std::string>(), l.at("count").get<std::int64_t>(),
                             number_or_nan(l, "p50_ms"), number_or_nan(l, "p95_ms"), number_or_nan(l, "p99_ms"),
                             number_or_nan(l, "max_ms")});
    for (const auto& d : j.at("drift"))
        s.drift.push_back({d.at("name").get<std::string>(), d.at("unit").get<std::string>(),
                           d.at("count").get<std::int64_t>(), number_or_nan(d, "first"), number_or_nan(d, "last"),
                           number_or_nan(d, "min"), number_or_nan(d, "max"), number_or_nan(d, "mean"),
                           number_or_nan(d, "slope_per_1k")});
    return s;
}

std::string strings_to_json(const std::vector<std::string>& list) {
    // replace: a name is never put in the record as invalid UTF-8 that then cannot be read.
    return json(list).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<std::string> strings_from_json(std::string_view text) {
    json j = json::parse(text);
    if (!j.is_array()) bad("not a JSON array of strings");
    std::vector<std::string> out;
    for (const auto& e : j) {
        if (!e.is_string()) bad("not a JSON array of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

std::string transcript_to_json(const sdk::Transcript& transcript) {
    json list = json::array();
    for (const auto& e : transcript.entries()) {
        json j = {{"dir", std::string(1, static_cast<char>(e.dir))}, {"t_us", e.offset_us}};
        if (e.dir == sdk::TranscriptEntry::Dir::note && is_utf8(e.bytes)) j["text"] = e.bytes;
        else j["hex"] = to_hex(e.bytes);
        list.push_back(std::move(j));
    }
    return list.dump();
}

sdk::Transcript transcript_from_json(std::string_view text) {
    json list = json::parse(text);
    if (!list.is_array()) bad("transcript is not a JSON array");
    sdk::Transcript out;
    for (const json& j : list) {
        auto dir = j.at("dir").get<std::string>();
        if (dir != ">" && dir != "<" && dir != "#") bad("transcript entry dir \"" + dir + "\"");
        sdk::TranscriptEntry e{static_cast<sdk::TranscriptEntry::Dir>(dir[0]),
                               j.at("t_us").get<std::int64_t>(), {}};
        if (j.contains("hex")) e.bytes = from_hex(j["hex"].get<std::string>());
        else e.bytes = j.at("text").get<std::string>();
        out.append(std::move(e));
    }
    return out;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto c = static_cast<unsigned char>(bytes[i]);
        out[2 * i] = digits[c >> 4];
        out[2 * i + 1] = digits[c & 0xF];
    }
    return out;
}

std::string from_hex(std::string_view hex) {
    if (hex.size() % 2) bad("hex of odd length");
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        bad(std::string("not a hex digit: ") + c);
    };
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return out;
}

bool is_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    auto cont = [&](const unsigned char* q, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
        return q < end && *q >= lo && *q <= hi;
    };
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) { p += 1; continue; }
        if (c >= 0xC2 && c <= 0xDF && cont(p + 1)) { p += 2; continue; }
        if (c == 0xE0 && cont(p + 1, 0xA0) && cont(p + 2)) { p += 3; continue; }
        if (((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) && cont(p + 1) && cont(p + 2)) {
            p += 3;
            continue;
        }
        if (c == 0xED && cont(p + 1, 0x80, 0x9F) && cont(p + 2)) { p += 3; continue; }
        if (c == 0xF0 && cont(p + 1, 0x90) && cont(p + 2) && cont(p + 3)) { p += 4; continue; }
        if (c >= 0xF1 && c <= 0xF3 && cont(p + 1) && cont(p + 2) && cont(p + 3)) {
            p += 4;
            continue;
        }
        if (c == 0xF4 && cont(p + 1, 0x80, 0x8F) && cont(p + 2) && cont(p + 3)) {
            p += 4;
            continue;
        }
        return false;
    }
    return true;
}

}  // namespace certlab::record::codec
