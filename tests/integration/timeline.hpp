// Times of the API's documents as clock values, for tests that order runs and steps
// in time (when a step started against when an abort was sent, which runs overlapped).
#pragma once

#include <time.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace certlab::test {

using SysTime = std::chrono::system_clock::time_point;

/// "2026-11-29T03:40:03.010Z" (the API's only time format) as a time point; throws
/// on anything else, so a changed format fails the test instead of reading as 1970.
inline SysTime time_of(const nlohmann::json& text) {
    if (!text.is_string()) throw std::runtime_error("not a time: " + text.dump());
    const auto s = text.get<std::string>();
    tm t{};
    int ms = 0;
    char z = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour,
                    &t.tm_min, &t.tm_sec, &ms, &z) != 8 || z != 'Z')
        throw std::runtime_error("not an API time: " + s);
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    return std::chrono::system_clock::from_time_t(timegm(&t)) + std::chrono::milliseconds(ms);
}

/// When a step ended: its start plus its duration (the API gives no end time).
inline SysTime step_end(const nlohmann::json& step) {
    return time_of(step["started_at"]) + std::chrono::microseconds(step["duration_us"].get<std::int64_t>());
}

}  // namespace certlab::test
