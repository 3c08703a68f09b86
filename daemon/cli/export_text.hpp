// Text helpers of the exports (export.hpp): XML escaping that survives any bytes a
// device sent, base64 and hex, printable renderings of raw bytes, and times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/format.hpp"

namespace certlab::cli::exporting {

/// `s` as XML 1.0 character data: `& < >` escaped, and what XML cannot hold at all
/// (control characters other than tab, newline and carriage return; U+FFFE, U+FFFF;
/// surrogates; invalid UTF-8) replaced by U+FFFD, so any input gives well-formed XML.
[[nodiscard]] std::string xml_text(std::string_view s);
/// xml_text() for an attribute value in double quotes: `"` and `'` escaped too, and
/// tab, newline and carriage return as character references (attribute-value
/// normalisation would turn them into spaces otherwise).
[[nodiscard]] std::string xml_attr(std::string_view s);

/// `s` with invalid UTF-8 sequences replaced by U+FFFD (JSON strings must be UTF-8).
[[nodiscard]] std::string valid_utf8(std::string_view s);

/// Standard base64 with padding (RFC 4648 §4), no line breaks.
[[nodiscard]] std::string base64_encode(std::string_view bytes);
/// Strict inverse of base64_encode(); nullopt when `text` is not such base64.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);
/// Bytes from hex digits (either case, no separators); nullopt when malformed.
[[nodiscard]] std::optional<std::string> hex_decode(std::string_view hex);

/// Raw device bytes for people: printable ASCII as is, anything else as `<1B>`
/// (the API's transcript `text` form).
[[nodiscard]] std::string printable(std::string_view bytes);

/// Milliseconds since the epoch of an RFC 3339 UTC time as the station writes it
/// (`2026-11-29T03:45:41.123Z`, fraction optional); nullopt when it is not one.
[[nodiscard]] std::optional<std::int64_t> parse_time_ms(std::string_view iso);
/// `2026-11-29T03:45:41.123Z` -> `2026-11-29 03:45:41 UTC`; the input when unparsable.
[[nodiscard]] std::string readable_time(std::string_view iso);
/// `2026-11-29T03:45:41.123Z` -> `2026-11-29T03:45:41` (JUnit's timestamp form: no
/// zone, no fraction; the station's times are UTC); empty when unparsable.
[[nodiscard]] std::string junit_timestamp(std::string_view iso);

/// The member `key` of `obj` by reference, never a copy (a soak holds thousands of
/// steps, and a pointer into a copy would dangle); a shared null when there is none.
[[nodiscard]] const Json& member(const Json& obj, const char* key);
/// member() for a list: a shared empty array when `obj` has no such list.
[[nodiscard]] const Json& list(const Json& obj, const char* key);

/// A number for people: up to `digits` significant digits, no trailing zeros.
[[nodiscard]] std::string number(double v, int digits = 4);

}  // namespace certlab::cli::exporting
