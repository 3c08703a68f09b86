#include "station/capture_json.hpp"

#include <nlohmann/json.hpp>

#include "sdk/error.hpp"

namespace certlab::station {
namespace {

using nlohmann::json;

/// One line; bytes that are not UTF-8 (garbage a device sent, quoted in a reason)
/// become U+FFFD rather than stopping the recording.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json parse(std::string_view text, const char* what) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw sdk::ConfigError(std::string(what) + ": not JSON (" + e.what() + "): " + std::string(text));
    }
}

json value_json(const sdk::Value& v) {
    json plain = std::visit(
        [](const auto& x) -> json {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, std::monostate>) return nullptr;
            else return x;
        },
        v.data);
    if (v.unit.empty()) return plain;
    return json{{"value", std::move(plain)}, {"unit", v.unit}};
}

sdk::Value json_value(const json& j, const std::string& key) {
    auto bad = [&] { return sdk::ConfigError("value '" + key + "': unexpected JSON " + dump(j)); };
    if (j.is_object()) {
        if (!j.contains("value") || !j.contains("unit") || !j["unit"].is_string() || j.size() != 2) throw bad();
        sdk::Value v = json_value(j["value"], key);
        v.unit = j["unit"].get<std::string>();
        return v;
    }
    if (j.is_null()) return {};
    if (j.is_boolean()) return sdk::Value(j.get<bool>());
    if (j.is_number_integer()) return sdk::Value(j.get<std::int64_t>());
    if (j.is_number()) return sdk::Value(j.get<double>());
    if (j.is_string()) return sdk::Value(j.get<std::string>());
    if (j.is_array()) {
        std::vector<std::string> list;
        for (const auto& e : j) {
            if (!e.is_string()) throw bad();
            list.push_back(e.get<std::string>());
        }
        return sdk::Value(std::move(list));
    }
    throw bad();
}

json values_json(const sdk::Values& values) {
    json out = json::object();
    for (const auto& [k, v] : values) out[k] = value_json(v);
    return out;
}

sdk::Values json_values(const json& j) {
    if (!j.is_object()) throw sdk::ConfigError("values: expected a JSON object, got " + dump(j));
    sdk::Values out;
    for (const auto& [k, v] : j.items()) out[k] = json_value(v, k);
    return out;
}

std::string string_field(const json& j, const char* key) {
    if (!j.contains(key)) return {};
    if (!j[key].is_string()) throw sdk::ConfigError(std::string(key) + ": expected a string, got " + dump(j[key]));
    return j[key].get<std::string>();
}

}  // namespace

std::string encode_values(const sdk::Values& values) { return dump(values_json(values)); }

sdk::Values decode_values(std::string_view text) { return json_values(parse(text, "values")); }

std::string encode_identity(const sdk::Identity& id) {
    return dump(json{{"manufacturer", id.manufacturer},
                     {"model", id.model},
                     {"serial_number", id.serial_number},
                     {"firmware", id.firmware},
                     {"extra", values_json(id.extra)}});
}

sdk::Identity decode_identity(std::string_view text) {
    auto j = parse(text, "identity");
    if (!j.is_object()) throw sdk::ConfigError("identity: expected a JSON object, got " + dump(j));
    sdk::Identity id;
    id.manufacturer = string_field(j, "manufacturer");
    id.model = string_field(j, "model");
    id.serial_number = string_field(j, "serial_number");
    id.firmware = string_field(j, "firmware");
    if (j.contains("extra")) id.extra = json_values(j["extra"]);
    return id;
}

std::string encode_error(const transport::ErrorDescription& e) {
    return dump(json{{"kind", e.kind}, {"message", e.message}});
}

transport::ErrorDescription decode_error(std::string_view text) {
    auto j = parse(text, "error");
    if (!j.is_object()) throw sdk::ConfigError("error: expected a JSON object, got " + dump(j));
    return {string_field(j, "kind"), string_field(j, "message")};
}

std::string encode_settings(const sdk::Settings& s) {
    json out = json::object();
    for (const auto& [k, e] : s.entries()) out[k] = e.value;
    return dump(out);
}

std::map<std::string, std::string> decode_settings(std::string_view text) {
    std::map<std::string, std::string> out;
    if (text.empty()) return out;
    auto j = parse(text, "settings");
    if (!j.is_object()) throw sdk::ConfigError("settings: expected a JSON object, got " + dump(j));
    for (const auto& [k, v] : j.items()) {
        if (!v.is_string()) throw sdk::ConfigError("settings: " + k + ": expected a string, got " + dump(v));
        out[k] = v.get<std::string>();
    }
    return out;
}

NamedPayload split_payload(std::string_view payload) {
    auto space = payload.find(' ');
    if (space == std::string_view::npos) return {std::string(payload), {}};
    return {std::string(payload.substr(0, space)), std::string(payload.substr(space + 1))};
}

}  // namespace certlab::station
