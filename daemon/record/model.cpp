#include "record/model.hpp"

#include <array>
#include <cstdio>
#include <utility>

namespace certlab::record {

namespace {

// Spelled exactly as stored in the database (CHECK constraints in schema.cpp) and
// shown by the API, so these strings are part of the record's format.
constexpr std::array<std::pair<Outcome, std::string_view>, 6> outcome_names{{
    {Outcome::pass, "pass"},
    {Outcome::fail, "fail"},
    {Outcome::error, "error"},
    {Outcome::timeout, "timeout"},
    {Outcome::aborted, "aborted"},
    {Outcome::skipped, "skipped"},
}};

constexpr std::array<std::pair<RunStatus, std::string_view>, 5> status_names{{
    {RunStatus::queued, "queued"},
    {RunStatus::running, "running"},
    {RunStatus::completed, "completed"},
    {RunStatus::aborted, "aborted"},
    {RunStatus::interrupted, "interrupted"},
}};

// Higher dominates: error > timeout > fail > aborted > pass > skipped. A skipped
// step says nothing about the device, so anything else outweighs it.
constexpr int rank(Outcome o) {
    switch (o) {
        case Outcome::skipped: return 0;
        case Outcome::pass: return 1;
        case Outcome::aborted: return 2;
        case Outcome::fail: return 3;
        case Outcome::timeout: return 4;
        case Outcome::error: return 5;
    }
    return 5;
}

// Reads exactly `width` decimal digits at `pos`; advances pos.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t width) {
    if (pos + width > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    pos += width;
    return v;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::string_view to_string(Outcome o) {
    for (const auto& [v, name] : outcome_names)
        if (v == o) return name;
    return "error";
}

std::string_view to_string(RunStatus s) {
    for (const auto& [v, name] : status_names)
        if (v == s) return name;
    return "interrupted";
}

std::optional<Outcome> parse_outcome(std::string_view s) {
    for (const auto& [v, name] : outcome_names)
        if (name == s) return v;
    return std::nullopt;
}

std::optional<RunStatus> parse_run_status(std::string_view s) {
    for (const auto& [v, name] : status_names)
        if (name == s) return v;
    return std::nullopt;
}

namespace {
constexpr std::array<std::pair<StepPhase, std::string_view>, 4> step_phase_names{{
    {StepPhase::setup, "setup"},
    {StepPhase::main, "main"},
    {StepPhase::teardown, "teardown"},
    {StepPhase::power, "power"},
}};
}  // namespace

std::string_view to_string(StepPhase p) {
    for (const auto& [v, name] : step_phase_names)
        if (v == p) return name;
    return "main";
}

std::optional<StepPhase> parse_step_phase(std::string_view s) {
    for (const auto& [v, name] : step_phase_names)
        if (name == s) return v;
    return std::nullopt;
}

Outcome worst(Outcome a, Outcome b) { return rank(a) >= rank(b) ? a : b; }

std::string format_time(TimePoint t) {
    using namespace std::chrono;
    // floor (not duration_cast) so times before 1970 still land on the right day.
    auto ms = floor<milliseconds>(t);
    auto day = floor<days>(ms);
    year_month_day ymd{day};
    hh_mm_ss hms{ms - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  int(hms.subseconds().count()));
    return buf;
}

std::optional<TimePoint> parse_time(std::string_view s) {
    using namespace std::chrono;
    // Strict: YYYY-MM-DDTHH:MM:SS[.fff]Z. The fraction may have 1-9 digits (other
    // tools write µs or ns); it is kept to the system clock's resolution.
    std::size_t p = 0;
    auto y = digits(s, p, 4);
    if (!y || !expect(s, p, '-')) return std::nullopt;
    auto mo = digits(s, p, 2);
    if (!mo || !expect(s, p, '-')) return std::nullopt;
    auto d = digits(s, p, 2);
    if (!d || !expect(s, p, 'T')) return std::nullopt;
    auto h = digits(s, p, 2);
    if (!h || !expect(s, p, ':')) return std::nullopt;
    auto mi = digits(s, p, 2);
    if (!mi || !expect(s, p, ':')) return std::nullopt;
    auto sec = digits(s, p, 2);
    if (!sec) return std::nullopt;
    nanoseconds frac{0};
    if (p < s.size() && s[p] == '.') {
        ++p;
        std::int64_t ns = 0;
        std::size_t n = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
            if (++n > 9) return std::nullopt;
            ns = ns * 10 + (s[p++] - '0');
        }
        if (n == 0) return std::nullopt;
        for (; n < 9; ++n) ns *= 10;
        frac = nanoseconds{ns};
    }
    if (!expect(s, p, 'Z') || p != s.size()) return std::nullopt;
    if (*h > 23 || *mi > 59 || *sec > 59) return std::nullopt;
    year_month_day ymd{year{*y}, month{unsigned(*mo)}, day{unsigned(*d)}};
    if (!ymd.ok()) return std::nullopt;
    auto t = sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{*sec} + frac;
    return time_point_cast<TimePoint::duration>(t);
}

}  // namespace certlab::record
