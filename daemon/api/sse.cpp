#include "api/sse.hpp"

#include <charconv>
#include <memory>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/json.hpp"
#include "api/router.hpp"
#include "station/events.hpp"

#ifndef CERTLAB_VERSION
#define CERTLAB_VERSION "dev"
#endif

namespace certlab::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
/// How long an EventSource waits before it reconnects [ms], sent as `retry:`.
constexpr int retry_ms = 2000;

struct StreamQuery {
    std::optional<std::int64_t> last_event_id;
    std::optional<std::int64_t> run;
    std::string device;
};

std::int64_t parse_id(std::string_view text, std::string_view what) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < 0)
        throw HttpError(400, std::string(what) + " must be a non-negative integer, got '" + std::string(text) + "'");
    return v;
}

/// The Last-Event-ID header wins over ?last_event_id=: an EventSource reconnecting
/// sends the header and keeps the URL it was first given.
StreamQuery parse_query(const Request& req, std::string_view header) {
    StreamQuery q;
    if (!header.empty()) q.last_event_id = parse_id(header, "Last-Event-ID");
    else if (auto v = req.query_param("last_event_id")) q.last_event_id = parse_id(*v, "query parameter 'last_event_id'");
    if (auto v = req.query_param("run")) q.run = parse_id(*v, "query parameter 'run'");
    if (auto v = req.query_param("device")) {
        if (v->empty()) throw HttpError(400, "query parameter 'device' must not be empty");
        q.device = std::string(*v);
    }
    return q;
}

bool wanted(const station::Event& e, const StreamQuery& q) {
    if (q.run && e.run != q.run) return false;
    if (!q.device.empty() && e.device != q.device) return false;
    return true;
}

void append_frame(std::string& out, const station::Event& e) {
    out += "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
}

std::string gap_frame(std::int64_t last_event_id, std::int64_t first_id) {
    nlohmann::ordered_json d = {{"last_event_id", last_event_id}, {"first_id", first_id}};
    // No id: a gap is about the stream, and must not move the client's last id.
    return "event: gap\ndata: " + dump(d) + "\n\n";
}

std::string stream_head() {
    return "HTTP/1.1 200 OK\r\n"
           "Server: certlabd/" CERTLAB_VERSION "\r\n"
           "Content-Type: text/event-stream\r\n"
           "Cache-Control: no-store\r\n"
           // A proxy (nginx) must pass events on as they come, not buffer them.
           "X-Accel-Buffering: no\r\n"
           // The body ends when the connection does: no length, no chunking.
           "Connection: close\r\n"
           "\r\n"
           "retry: " + std::to_string(retry_ms) + "\n\n";
}

/// Clears the server's stop hook however the stream ends.
struct StopHook {
    std::function<void()>& hook;
    ~StopHook() { hook = nullptr; }
};

}  // namespace

bool is_event_stream(const http::request<http::string_body>& msg) {
    if (msg.method() != http::verb::get) return false;
    const auto target = msg.target();
    const std::string_view path(target.data(), std::min(target.size(), target.find('?')));
    return path == "/v1/events";
}

template <class Stream>
asio::awaitable<void> serve_events(Stream& stream, const http::request<http::string_body>& msg,
                                   const std::shared_ptr<station::EventBus>& bus, std::function<void()>& stop,
                                   const SseOptions& opts) {
    Request req;
    req.target = std::string(msg.target());
    const std::string header(msg["Last-Event-ID"]);
    StreamQuery q;
    std::optional<Response> refused;
    try {
        parse_target(req.target, req);
        q = parse_query(req, header);
    } catch (const HttpError& e) {
        refused = problem(e.status(), e.what());
    }
    if (refused) {
        http::response<http::string_body> res{http::int_to_status(refused->status), msg.version()};
        res.set(http::field::server, "certlabd/" CERTLAB_VERSION);
        res.set(http::field::content_type, refused->content_type);
        res.body() = std::move(refused->body);
        res.keep_alive(false);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(opts.write_timeout);
        auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
        (void)ec;
        co_return;
    }

    const auto ex = co_await asio::this_coro::executor;
    // Shared so a wake-up posted from the station's thread finds it, or finds it gone.
    auto timer_ptr = std::make_shared<asio::steady_timer>(ex);
    auto& timer = *timer_ptr;
    bool stopped = false;
    StopHook clear{stop};
    stop = [&] {
        stopped = true;
        timer.cancel();
        beast::error_code ignored;
        beast::get_lowest_layer(stream).socket().cancel(ignored);
    };
    // Publishing happens on the station's thread: the wake-up crosses to this one.
    // Posted after the bus was read, it still ends the wait that follows the read.
    auto sub = bus->subscribe([ex, weak = std::weak_ptr<asio::steady_timer>(timer_ptr)] {
        asio::post(ex, [weak] {
            if (auto t = weak.lock()) t->cancel();
        });
    });

    // Without an id the client wants what happens from now on.
    std::int64_t cursor = bus->next_id() - 1;
    std::string out = stream_head();
    if (q.last_event_id) {
        cursor = *q.last_event_id;
        if (bus->missed_after(cursor)) {
            out += gap_frame(cursor, bus->first_id());
            cursor = bus->first_id() - 1;
        }
    }
    spdlog::debug("event stream opened after id {}", cursor);
    using Clock = std::chrono::steady_clock;
    auto last_write = Clock::now();
    for (;;) {
        if (stopped) break;
        const auto lag = bus->next_id() - 1 - cursor;
        if (lag > static_cast<std::int64_t>(opts.max_lag) || bus->missed_after(cursor)) {
            // Never waited for: the ring is the only buffer, and it moves on without us.
            spdlog::info("event stream dropped: {} events behind (it may resume after id {})", lag, cursor);
            break;
        }
        bool took = false;
        for (const auto& e : bus->after(cursor, opts.batch)) {
            took = true;
            cursor = e.id;
            if (wanted(e, q)) append_frame(out, e);
        }
        if (out.empty()) {
            if (took) continue;  // all filtered out; there may be more
            timer.expires_at(last_write + opts.heartbeat);
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (stopped) break;
            if (ec) continue;  // woken by an event
            out = ": ping\n\n";
        }
        beast::get_lowest_layer(stream).expires_after(opts.write_timeout);
        auto [wec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
        if (wec) {
            spdlog::debug("event stream closed after id {}: {}", cursor, wec.message());
            break;
        }
        out.clear();
        last_write = Clock::now();
    }
}

// The two streams the server serves: plain TCP and TLS over it.
template asio::awaitable<void> serve_events(beast::tcp_stream&, const http::request<http::string_body>&,
                                            const std::shared_ptr<station::EventBus>&, std::function<void()>&,
                                            const SseOptions&);
template asio::awaitable<void> serve_events(beast::ssl_stream<beast::tcp_stream>&,
                                            const http::request<http::string_body>&,
                                            const std::shared_ptr<station::EventBus>&, std::function<void()>&,
                                            const SseOptions&);

}  // namespace certlab::api
