// The outbox's model (schema version 6, DESIGN.md section 6): what the certification
// record has not acknowledged yet. Plain data; Store keeps it (store_outbox.cpp),
// upload/ drains it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "record/model.hpp"

namespace certlab::record {

/// What an outbox row announces. `parent` and `ref` name the item:
/// certification (0, id), run (0, id), scenario (run id, scenario result id),
/// step (run id, seq), sign_off (certification id, id), issue (certification id, id).
enum class OutboxKind { certification, run, scenario, step, sign_off, issue };
[[nodiscard]] std::string_view to_string(OutboxKind k);
[[nodiscard]] std::optional<OutboxKind> parse_outbox_kind(std::string_view s);

/// The exact request a row is sent as, fixed before its first attempt.
struct OutboxRequest {
    std::string idempotency_key;
    std::string method;  ///< PUT or POST
    std::string path;    ///< below the record's base URL: /v1/stations/...
    std::string body;    ///< JSON
};

struct OutboxItem {
    std::int64_t id = 0;
    OutboxKind kind = OutboxKind::run;
    std::int64_t parent = 0;
    std::int64_t ref = 0;
    TimePoint created_at{};
    std::int64_t changes = 0;  ///< changes of the item coalesced into this row (see outbox_freeze)
    int attempts = 0;
    std::string last_error;
    std::optional<OutboxRequest> request;  ///< set once frozen
};

struct OutboxStats {
    std::int64_t pending = 0;
    std::optional<TimePoint> oldest;  ///< created_at of the oldest pending row
};

}  // namespace certlab::record
