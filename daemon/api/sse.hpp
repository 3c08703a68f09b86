// GET /v1/events: the station's event bus (station/events.hpp) as server-sent events
// on a connection the server hands over once it has read the request. Included by
// server.cpp and sse.cpp only (it brings in Beast).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace certlab::station {
class EventBus;
}

namespace certlab::api {

struct SseOptions {
    /// A `: ping` comment after this long without an event keeps proxies and idle
    /// connections open, and finds clients that went away.
    std::chrono::seconds heartbeat{15};
    /// [events] A client further behind the newest event than this is disconnected
    /// (it resumes with Last-Event-ID while the ring still holds what it missed).
    std::size_t max_lag = 5'000;
    /// Deadline for one write; a client that reads nothing for this long is dropped.
    std::chrono::seconds write_timeout{10};
    /// [events] At most this many go out in one write.
    std::size_t batch = 256;
};

/// Whether the request is for the event stream (GET /v1/events, any query).
[[nodiscard]] bool is_event_stream(const boost::beast::http::request<boost::beast::http::string_body>& msg);

/// Answers the request with the event stream until the client goes, falls too far
/// behind, or `stop` is called (the server's stop()); a bad query gets a 400 problem
/// instead. The arguments must outlive the stream (the caller's frame holds them).
/// `stop` is set here to what ends the stream, and cleared before returning.
/// `Stream` is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream> (instantiated
/// in sse.cpp).
template <class Stream>
boost::asio::awaitable<void> serve_events(Stream& stream,
                                          const boost::beast::http::request<boost::beast::http::string_body>& msg,
                                          const std::shared_ptr<station::EventBus>& bus,
                                          std::function<void()>& stop, const SseOptions& opts);

}  // namespace certlab::api
