// record/model.cpp: names, outcome precedence and the time format the store writes.
// Named "store: ..." so the record's tests run together with -tc='store:*'.
#include <doctest/doctest.h>

#include "record/model.hpp"

using namespace certlab::record;
using namespace std::chrono_literals;

namespace {
TimePoint at(std::int64_t ms_since_epoch) { return TimePoint{std::chrono::milliseconds{ms_since_epoch}}; }
constexpr std::int64_t t0 = 1'795'923'941'123;  // 2026-11-29T03:45:41.123Z
}  // namespace

TEST_CASE("store: model names round-trip and unknown names are rejected") {
    for (auto o : {Outcome::pass, Outcome::fail, Outcome::error, Outcome::timeout,
                   Outcome::aborted, Outcome::skipped})
        CHECK(parse_outcome(to_string(o)) == o);
    for (auto s : {RunStatus::queued, RunStatus::running, RunStatus::completed,
                   RunStatus::aborted, RunStatus::interrupted})
        CHECK(parse_run_status(to_string(s)) == s);
    CHECK(to_string(Outcome::timeout) == "timeout");
    CHECK(to_string(RunStatus::interrupted) == "interrupted");
    CHECK_FALSE(parse_outcome("PASS"));
    CHECK_FALSE(parse_outcome(""));
    CHECK_FALSE(parse_run_status("done"));
}

TEST_CASE("store: model worst() follows error > timeout > fail > aborted > pass > skipped") {
    const Outcome order[] = {Outcome::error, Outcome::timeout, Outcome::fail,
                             Outcome::aborted, Outcome::pass, Outcome::skipped};
    for (std::size_t i = 0; i < 6; ++i) {
        CHECK(worst(order[i], order[i]) == order[i]);
        for (std::size_t j = i + 1; j < 6; ++j) {
            CHECK(worst(order[i], order[j]) == order[i]);
            CHECK(worst(order[j], order[i]) == order[i]);
        }
    }
}

TEST_CASE("store: model times are ISO 8601 UTC with milliseconds") {
    using namespace std::chrono;
    TimePoint t = sys_days{2026y / 11 / 29} + 3h + 45min + 41s + 123ms;
    CHECK(format_time(t) == "2026-11-29T03:45:41.123Z");
    CHECK(at(t0) == t);
    CHECK(parse_time("2026-11-29T03:45:41.123Z") == t);
    // Sub-millisecond precision is dropped (floor), also before 1970.
    CHECK(format_time(t + 999us) == "2026-11-29T03:45:41.123Z");
    CHECK(format_time(TimePoint{} - 1ms) == "1969-12-31T23:59:59.999Z");
    CHECK(parse_time("1969-12-31T23:59:59.999Z") == TimePoint{} - 1ms);
    CHECK(format_time(sys_days{2024y / 2 / 29}) == "2024-02-29T00:00:00.000Z");
    // Other writers' forms we accept: no fraction, microseconds.
    CHECK(parse_time("2026-11-29T03:45:41Z") == t - 123ms);
    CHECK(parse_time("2026-11-29T03:45:41.123456Z") == t + 456us);
    for (const char* bad : {"", "2026-11-29", "2026-11-29T03:45:41.123", "2026-11-29 03:45:41Z",
                            "2026-02-30T00:00:00.000Z", "2026-11-29T24:00:00.000Z",
                            "2026-11-29T03:60:00Z", "2026-11-29T03:45:41.Z",
                            "2026-11-29T03:45:41.123Zx", "2026-11-29T03:45:41.1234567890Z",
                            "2026-1-29T03:45:41Z"}) {
        INFO(bad);
        CHECK_FALSE(parse_time(bad));
    }
}
