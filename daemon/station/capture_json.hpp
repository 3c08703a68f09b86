// The JSON payloads of capture markers (docs/CAPTURES.md): action arguments and
// results, identities, errors. One line each; shared by the recorder and the replay
// harness so both read and write the same forms.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "sdk/driver.hpp"
#include "transport/capture.hpp"

namespace certlab::station {

/// `{"online":true,"latency":{"value":1.25,"unit":"ms"}}`: a unitless value is plain
/// JSON (null, bool, integer, number, string, list of strings); a value with a unit
/// is an object {value, unit}. Integers and numbers keep their type (5 vs 5.0).
[[nodiscard]] std::string encode_values(const sdk::Values& values);
/// Throws sdk::ConfigError naming what is not a value.
[[nodiscard]] sdk::Values decode_values(std::string_view json);

/// `{"manufacturer":..,"model":..,"serial_number":..,"firmware":..,"extra":{values}}`.
[[nodiscard]] std::string encode_identity(const sdk::Identity& id);
[[nodiscard]] sdk::Identity decode_identity(std::string_view json);

/// `{"kind":"timeout","message":"..."}`.
[[nodiscard]] std::string encode_error(const transport::ErrorDescription& e);
[[nodiscard]] transport::ErrorDescription decode_error(std::string_view json);

/// `{"key":"value",...}`: station.yaml setting overrides for the capture header.
[[nodiscard]] std::string encode_settings(const sdk::Settings& s);
[[nodiscard]] std::map<std::string, std::string> decode_settings(std::string_view json);

/// Splits a marker payload `capability.action {json}` into its two parts.
struct NamedPayload {
    std::string name;
    std::string json;
};
[[nodiscard]] NamedPayload split_payload(std::string_view payload);

}  // namespace certlab::station
