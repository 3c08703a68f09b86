// The certification record's documents (docs/record-api.openapi.yaml) made from the
// station's store: what an outbox row is sent as.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "record/outbox.hpp"

namespace certlab::record {
class Store;
}

namespace certlab::upload {

/// The request that sends `item` to the record, built from the store's current
/// state: method, path below the record's base URL, JSON body, and a fresh
/// idempotency key. nullopt when the item is no longer in the store.
[[nodiscard]] std::optional<record::OutboxRequest> build_request(const record::Store& store,
                                                                 const std::string& station_id,
                                                                 const record::OutboxItem& item);

/// Standard base64 with padding, no line breaks (RFC 4648 section 4).
[[nodiscard]] std::string encode_base64(std::string_view bytes);

}  // namespace certlab::upload
