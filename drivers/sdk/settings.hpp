// Driver settings from a device profile, each remembering where it was written.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace certlab::sdk {

/// Settings are strings as written in YAML plus their `file:line:column`; the typed
/// getters throw ConfigError naming that place and what was expected.
class Settings {
public:
    struct Entry {
        std::string value;
        std::string where;  ///< "file:line:column"
    };

    void set(std::string key, std::string value, std::string where = {});
    [[nodiscard]] bool has(std::string_view key) const;
    [[nodiscard]] const Entry* find(std::string_view key) const;
    [[nodiscard]] const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

    [[nodiscard]] std::string get_string(std::string_view key, std::string_view fallback) const;
    [[nodiscard]] std::int64_t get_int(std::string_view key, std::int64_t fallback,
                                       std::int64_t min, std::int64_t max) const;
    [[nodiscard]] bool get_bool(std::string_view key, bool fallback) const;
    /// Accepts `250ms`, `2s`, `1.5 s`, `100us`, `1min`; a bare number is milliseconds.
    [[nodiscard]] std::chrono::microseconds get_duration(std::string_view key,
                                                         std::chrono::microseconds fallback) const;

private:
    std::map<std::string, Entry, std::less<>> entries_;
};

/// Parses a duration such as `250ms`, `2 s`, `1.5s`, `100us`, `5min`; nullopt if malformed.
[[nodiscard]] std::optional<std::chrono::microseconds> parse_duration(std::string_view text);

}  // namespace certlab::sdk
