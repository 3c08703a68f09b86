// The uploader: drains the store's outbox to the certification record, oldest row
// first, on its own thread (DESIGN.md section 6). A row leaves the outbox only when
// the record acknowledged it; until then every failure (network, TLS, the record's
// 5xx, a refused token) is retried with exponential backoff and jitter, and the
// row's frozen request is re-sent byte for byte under the same idempotency key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/upload_config.hpp"
#include "record/model.hpp"

namespace certlab::record {
class Store;
}

namespace certlab::upload {

/// What the uploader is doing, for the API, `certlab status` and /metrics.
struct UploadStatus {
    std::string url;
    /// idle: nothing to send; sending; retrying: waiting after a failure; stopped.
    std::string state = "stopped";
    std::int64_t pending = 0;                 ///< rows in the outbox
    std::optional<record::TimePoint> oldest;  ///< when the oldest pending row was added
    std::int64_t uploaded = 0;                ///< acknowledged since certlabd started
    std::int64_t replayed = 0;                ///< of those, ones the record had already (a retry after a lost answer)
    std::int64_t errors = 0;                  ///< failed attempts since certlabd started
    std::int64_t consecutive_failures = 0;
    std::optional<record::TimePoint> last_success_at;
    std::string last_error;                   ///< the latest failure, also after a recovery
    std::optional<record::TimePoint> last_error_at;
    std::optional<record::TimePoint> next_attempt_at;  ///< retrying: when
};

class Uploader {
public:
    /// Starts the uploader's thread. The outbox must have been enabled on `store`
    /// with poke() as its callback (Station does both).
    /// Called on the uploader's thread when uploading starts failing (true; again
    /// when the error changes) or works again (false).
    using OnChange = std::function<void(bool failing, const UploadStatus& status)>;

    Uploader(record::Store& store, std::string station_id, config::UploadConfig cfg, OnChange on_change = {});
    /// Stops: a request in flight is abandoned and its row stays frozen, to be sent
    /// again (and recognised by the record) at the next start.
    ~Uploader();
    Uploader(const Uploader&) = delete;
    Uploader& operator=(const Uploader&) = delete;

    /// A row was added: wake up if idle. Any thread; never blocks.
    void poke();
    [[nodiscard]] UploadStatus status() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace certlab::upload
