#include "sdk/settings.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "sdk/error.hpp"

namespace certlab::sdk {
namespace {

[[noreturn]] void bad(const Settings::Entry& e, std::string_view key, std::string_view expected) {
    std::string where = e.where.empty() ? std::string() : e.where + ": ";
    throw ConfigError(where + std::string(key) + ": expected " + std::string(expected) +
                      ", got '" + e.value + "'");
}

}  // namespace

void Settings::set(std::string key, std::string value, std::string where) {
    entries_[std::move(key)] = Entry{std::move(value), std::move(where)};
}

bool Settings::has(std::string_view key) const { return find(key) != nullptr; }

const Settings::Entry* Settings::find(std::string_view key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

std::string Settings::get_string(std::string_view key, std::string_view fallback) const {
    const auto* e = find(key);
    return e ? e->value : std::string(fallback);
}

std::int64_t Settings::get_int(std::string_view key, std::int64_t fallback, std::int64_t min,
                               std::int64_t max) const {
    const auto* e = find(key);
    if (!e) return fallback;
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(e->value.data(), e->value.data() + e->value.size(), v);
    if (ec != std::errc() || ptr != e->value.data() + e->value.size() || v < min || v > max)
        bad(*e, key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return v;
}

bool Settings::get_bool(std::string_view key, bool fallback) const {
    const auto* e = find(key);
    if (!e) return fallback;
    if (e->value == "true" || e->value == "yes" || e->value == "on") return true;
    if (e->value == "false" || e->value == "no" || e->value == "off") return false;
    bad(*e, key, "true or false");
}

std::chrono::microseconds Settings::get_duration(std::string_view key,
                                                 std::chrono::microseconds fallback) const {
    const auto* e = find(key);
    if (!e) return fallback;
    auto d = parse_duration(e->value);
    if (!d) bad(*e, key, "a duration such as 250ms or 2s");
    return *d;
}

std::optional<std::chrono::microseconds> parse_duration(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || number < 0 || !std::isfinite(number)) return std::nullopt;
    std::string_view unit(ptr, text.data() + text.size() - ptr);
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    double scale_us;
    if (unit.empty() || unit == "ms") scale_us = 1e3;
    else if (unit == "us") scale_us = 1;
    else if (unit == "s") scale_us = 1e6;
    else if (unit == "min") scale_us = 60e6;
    else if (unit == "h") scale_us = 3600e6;
    else return std::nullopt;
    double us = number * scale_us;
    if (us > 1e15) return std::nullopt;
    return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(us)));
}

}  // namespace certlab::sdk
