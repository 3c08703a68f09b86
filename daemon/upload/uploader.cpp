#include "upload/uploader.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "record/store.hpp"
#include "upload/documents.hpp"
#include "upload/record_client.hpp"

namespace certlab::upload {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
/// An idle uploader looks at the outbox this often even unpoked: rows added by
/// another process (an operator's sqlite3 shell) have no trigger to poke it.
constexpr std::chrono::seconds idle_recheck{1};
/// Rows taken, and frozen in one transaction, at a time: one fsync of the station's
/// store per batch instead of one per result.
constexpr int batch_size = 64;

/// "HTTP 503 Service Unavailable: the record is down for maintenance", from a
/// problem+json answer when there is one.
std::string describe_refusal(const RecordAnswer& a, const record::OutboxRequest& r) {
    std::string text = "the record answered " + std::to_string(a.status) + " to " + r.method + " " + r.path;
    try {
        auto doc = nlohmann::json::parse(a.body);
        if (doc.is_object()) {
            if (auto t = doc.find("title"); t != doc.end() && t->is_string()) text += ": " + t->get<std::string>();
            if (auto d = doc.find("detail"); d != doc.end() && d->is_string()) text += " (" + d->get<std::string>() + ")";
        }
    } catch (const nlohmann::json::exception&) {
        // Not problem+json (a proxy's HTML page, say): the status says enough.
    }
    return text;
}

}  // namespace

struct Uploader::Impl {
    Impl(record::Store& store, std::string station_id, config::UploadConfig cfg, OnChange on_change)
        : store(store),
          station_id(std::move(station_id)),
          cfg(cfg),
          on_change(std::move(on_change)),
          client(io, cfg),
          timer(io) {
        status.url = cfg.url;
    }

    asio::awaitable<void> run();
    asio::awaitable<void> idle_wait();
    asio::awaitable<void> backoff_wait();
    void succeeded(const record::OutboxItem& item, const RecordAnswer& answer);
    void failed(const record::OutboxItem& item, const std::string& error);
    void notify(bool failing) {
        if (!on_change) return;
        UploadStatus copy;
        {
            std::lock_guard lock(mutex);
            copy = status;
        }
        try {
            copy.pending = store.outbox_stats().pending;
        } catch (const std::exception&) {
            // the count is a courtesy; the event goes out without it
        }
        on_change(failing, copy);
    }
    void set_state(const char* state) {
        std::lock_guard lock(mutex);
        status.state = state;
        if (std::string_view(state) != "retrying") status.next_attempt_at.reset();
    }

    record::Store& store;
    const std::string station_id;
    const config::UploadConfig cfg;
    const OnChange on_change;
    asio::io_context io;
    RecordClient client;
    asio::steady_timer timer;
    bool stopping = false;  ///< io thread only
    bool idle = false;      ///< io thread only: the timer is an idle wait a poke may cut short
    bool poked = false;     ///< io thread only: a row was added since the last look
    bool store_failed = false;  ///< io thread only: the last look at the outbox failed
    std::mt19937_64 rng{std::random_device{}()};

    mutable std::mutex mutex;  ///< guards status
    UploadStatus status;
    std::thread thread;
};

asio::awaitable<void> Uploader::Impl::idle_wait() {
    if (poked) {
        poked = false;
        co_return;
    }
    idle = true;
    timer.expires_after(idle_recheck);
    (void)co_await timer.async_wait(use_tuple);
    idle = false;
    poked = false;
}

asio::awaitable<void> Uploader::Impl::backoff_wait() {
    std::int64_t failures = 0;
    {
        std::lock_guard lock(mutex);
        failures = status.consecutive_failures;
    }
    // Exponential, capped, with "equal jitter": half the delay fixed, half random,
    // so stations that lost the record together do not all come back together.
    auto delay = cfg.backoff_initial;
    for (std::int64_t i = 1; i < failures && delay < cfg.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, cfg.backoff_max);
    std::uniform_int_distribution<std::int64_t> jitter(0, delay.count() / 2);
    const auto wait = std::chrono::milliseconds(delay.count() - delay.count() / 2 + jitter(rng));
    {
        std::lock_guard lock(mutex);
        status.state = "retrying";
        status.next_attempt_at = std::chrono::system_clock::now() + wait;
    }
    timer.expires_after(wait);
    (void)co_await timer.async_wait(use_tuple);
}

void Uploader::Impl::succeeded(const record::OutboxItem& item, const RecordAnswer& answer) {
    std::int64_t failures = 0;
    {
        std::lock_guard lock(mutex);
        failures = status.consecutive_failures;
        ++status.uploaded;
        if (answer.replayed) ++status.replayed;
        status.consecutive_failures = 0;
        status.last_success_at = std::chrono::system_clock::now();
    }
    if (failures > 0) {
        spdlog::info("upload: the record at {} accepts results again after {} failed attempt(s)", cfg.url, failures);
        notify(false);
    }
    spdlog::debug("upload: {} {} acknowledged ({}{})", item.request->method, item.request->path, answer.status,
                  answer.replayed ? ", replayed" : "");
}

void Uploader::Impl::failed(const record::OutboxItem& item, const std::string& error) {
    try {
        store.outbox_failed(item.id, error);
    } catch (const record::StoreError& e) {
        spdlog::error("upload: {}", e.what());
    }
    bool changed = false;
    std::int64_t failures = 0;
    {
        std::lock_guard lock(mutex);
        changed = status.last_error != error || status.consecutive_failures == 0;
        failures = ++status.consecutive_failures;
        ++status.errors;
        status.last_error = error;
        status.last_error_at = std::chrono::system_clock::now();
    }
    // A record that is down for a day must not flood the log: a new kind of failure
    // is a warning, the same one again is only counted.
    if (changed) {
        spdlog::warn("upload: {} (outbox row {}, attempt {})", error, item.id, item.attempts + 1);
        notify(true);
    } else spdlog::debug("upload: {} (attempt {}, failure {} in a row)", error, item.attempts + 1, failures);
}

asio::awaitable<void> Uploader::Impl::run() {
    std::vector<std::int64_t> acked;  // acknowledged, not yet removed from the outbox
    auto flush = [&] {
        store.outbox_done(acked);
        acked.clear();
    };
    while (!stopping) {
        std::vector<record::OutboxItem> batch;
        bool fetched = false;  // the outbox had rows, though none may be ready to send yet
        try {
            flush();
            batch = store.outbox_next(batch_size);
            fetched = !batch.empty();
            // Frozen before their first attempt, a batch in one transaction: every
            // retry, also after a crash, sends these bytes under this key.
            std::vector<std::pair<record::OutboxItem, record::OutboxRequest>> to_freeze;
            std::vector<std::int64_t> gone;
            for (auto& item : batch) {
                if (item.request) continue;
                auto request = build_request(store, station_id, item);
                if (!request) {
                    spdlog::warn("upload: {} {}/{} is no longer in the store; not sent", record::to_string(item.kind),
                                 item.parent, item.ref);
                    gone.push_back(item.id);
                    continue;
                }
                to_freeze.emplace_back(item, std::move(*request));
            }
            const auto frozen = store.outbox_freeze(to_freeze);
            for (std::size_t i = 0; i < to_freeze.size(); ++i) {
                if (!frozen[i]) continue;  // changed while it was read: built again next round
                for (auto& item : batch)
                    if (item.id == to_freeze[i].first.id) item.request = std::move(to_freeze[i].second);
            }
            store.outbox_done(gone);
            // Sent in order up to the first row that is not frozen; the rest wait for
            // the next round, behind it.
            auto first_open = std::find_if(batch.begin(), batch.end(), [&](const record::OutboxItem& i) {
                return !i.request && std::find(gone.begin(), gone.end(), i.id) == gone.end();
            });
            batch.erase(first_open, batch.end());
            std::erase_if(batch, [](const record::OutboxItem& i) { return !i.request; });
        } catch (const std::exception& e) {
            // The store is the station's own (a full disk, say): not the record's fault,
            // but nothing can be sent until it reads again.
            spdlog::error("upload: reading the outbox failed: {}", e.what());
            std::lock_guard lock(mutex);
            status.last_error = std::string("reading the outbox failed: ") + e.what();
            status.last_error_at = std::chrono::system_clock::now();
            ++status.consecutive_failures;
            ++status.errors;
            batch.clear();
            store_failed = true;
        }
        if (batch.empty() && fetched && !store_failed) continue;  // a row changed while read: read it again
        if (batch.empty()) {
            if (stopping) break;
            if (store_failed) {
                store_failed = false;
                co_await backoff_wait();
            } else {
                set_state("idle");
                co_await idle_wait();
            }
            continue;
        }
        set_state("sending");
        for (const auto& item : batch) {
            std::optional<RecordAnswer> answer;
            std::string error;
            try {
                answer = co_await client.send(*item.request);
            } catch (const std::exception& e) {
                error = e.what();
            }
            if (stopping) break;
            if (answer && answer->status >= 200 && answer->status < 300) {
                acked.push_back(item.id);
                succeeded(item, *answer);
                continue;
            }
            if (answer) {
                error = describe_refusal(*answer, *item.request);
                // A refusal may have left the connection in any state; and after a 401 the
                // token must be read again.
                client.close();
            }
            failed(item, error);
            co_await backoff_wait();
            break;  // the rest of the batch waits behind this row: order is kept
        }
    }
    try {
        flush();
    } catch (const std::exception& e) {
        spdlog::warn("upload: {}", e.what());  // re-sent at the next start, and replayed
    }
    set_state("stopped");
}

Uploader::Uploader(record::Store& store, std::string station_id, config::UploadConfig cfg, OnChange on_change)
    : impl_(std::make_unique<Impl>(store, std::move(station_id), std::move(cfg), std::move(on_change))) {
    spdlog::info("upload: sending results to {}", impl_->cfg.url);
    asio::co_spawn(impl_->io, impl_->run(), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::critical("upload: the uploader stopped: {}", ex.what());
        }
    });
    impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

Uploader::~Uploader() {
    asio::post(impl_->io, [impl = impl_.get()] {
        impl->stopping = true;
        impl->timer.cancel();
        impl->client.close();
    });
    if (impl_->thread.joinable()) impl_->thread.join();
}

void Uploader::poke() {
    asio::post(impl_->io, [impl = impl_.get()] {
        impl->poked = true;
        if (impl->idle) impl->timer.cancel();
    });
}

UploadStatus Uploader::status() const {
    UploadStatus s;
    {
        std::lock_guard lock(impl_->mutex);
        s = impl_->status;
    }
    try {
        auto stats = impl_->store.outbox_stats();
        s.pending = stats.pending;
        s.oldest = stats.oldest;
    } catch (const record::StoreError& e) {
        spdlog::warn("upload: counting the outbox failed: {}", e.what());
    }
    return s;
}

}  // namespace certlab::upload
