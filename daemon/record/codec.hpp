// How step arguments, values and transcripts are stored: JSON text that round-trips
// every sdk::Value alternative with its unit, and transcript bytes exactly (hex).
// Private to record/; the formats are described in codec.cpp.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "record/model.hpp"
#include "sdk/transcript.hpp"
#include "sdk/value.hpp"

namespace certlab::record::codec {

[[nodiscard]] std::string values_to_json(const sdk::Values& values);
/// Throws std::runtime_error on text values_to_json did not write.
[[nodiscard]] sdk::Values values_from_json(std::string_view json);

/// A run's role bindings as {"psu": {"device": "psu-1", "driver": "scpi 1.0"}}.
[[nodiscard]] std::string roles_to_json(const std::map<std::string, RoleBinding>& roles);
/// Throws std::runtime_error on text roles_to_json did not write.
[[nodiscard]] std::map<std::string, RoleBinding> roles_from_json(std::string_view json);

/// A soak's statistics: {"iterations": n, ..., "latency": [{"action": ..}], "drift": [..]};
/// a value that is not finite is written as null and read back as NaN.
[[nodiscard]] std::string soak_stats_to_json(const SoakStats& stats);
/// Throws std::runtime_error on text soak_stats_to_json did not write.
[[nodiscard]] SoakStats soak_stats_from_json(std::string_view json);

/// A list of names as a JSON array of strings (capabilities, permissions, roles).
[[nodiscard]] std::string strings_to_json(const std::vector<std::string>& list);
/// Throws std::runtime_error on text strings_to_json did not write.
[[nodiscard]] std::vector<std::string> strings_from_json(std::string_view json);

[[nodiscard]] std::string transcript_to_json(const sdk::Transcript& transcript);
/// Throws std::runtime_error on text transcript_to_json did not write.
[[nodiscard]] sdk::Transcript transcript_from_json(std::string_view json);

[[nodiscard]] std::string to_hex(std::string_view bytes);
/// Throws std::runtime_error on odd length or a non-hex digit.
[[nodiscard]] std::string from_hex(std::string_view hex);

/// Well-formed UTF-8 per Unicode Table 3-7 (no overlongs, surrogates or > U+10FFFF),
/// the same rule nlohmann::json enforces when it writes a string.
[[nodiscard]] bool is_utf8(std::string_view s);

}  // namespace certlab::record::codec
