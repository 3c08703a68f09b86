// certlabd's HTTP/1.1 JSON API (docs/API.md): one coroutine per connection. In
// certlabd the connections live on a thread of the server's own, so reading and
// writing requests, the store reads of Affinity::any routes (runs, steps, prompts)
// and rendering their JSON never delay a step; a handler that reads or changes the
// station's state runs on the station's executor, so it needs no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace boost::asio {
class io_context;
}

namespace certlab::api {

class StationView;
class TokenTable;

struct ServerOptions {
    std::string bind = "127.0.0.1";  ///< IPv4 or IPv6 literal to listen on
    std::uint16_t port = 8470;       ///< 0 picks a free port; see Server::port()
    std::size_t max_body = 64 * 1024;    ///< [bytes] larger request bodies get 413
    std::size_t max_header = 8 * 1024;   ///< [bytes] larger request heads get 431
    /// A keep-alive connection that sends no new request for this long is closed.
    std::chrono::seconds idle_timeout{30};
    /// Deadline for reading one request (from its first byte) and for writing
    /// one response; a slow or stuck client cannot hold a connection longer.
    std::chrono::seconds request_timeout{10};
    /// Connections past this many are closed on accept.
    std::size_t max_connections = 64;
    /// Bearer tokens with roles (api/access.hpp); null or empty: every request is
    /// allowed, which the configuration permits on loopback only.
    std::shared_ptr<const TokenTable> tokens;
    /// PEM certificate chain and key: serve HTTPS (TLS 1.2 or later) instead of HTTP.
    std::filesystem::path tls_cert;
    std::filesystem::path tls_key;
};

class Server {
public:
    using Options = ServerOptions;

    /// Serves on `ex`, which runs every handler too. Nothing is bound until start().
    /// `station` must outlive the server or stop().
    Server(boost::asio::any_io_executor ex, StationView& station, Options opts);
    /// Serves on a thread of its own that runs `io` from start() until the server
    /// goes; handlers with Affinity::station run on `station_ex`. `io` must outlive
    /// the server and whatever `station_ex` still holds of it: in certlabd both
    /// io_contexts belong to main(), `io` made first.
    Server(boost::asio::any_io_executor station_ex, boost::asio::io_context& io, StationView& station,
           Options opts);
    /// Stops, and closes whatever connections are still open; with a thread of its
    /// own, ends and joins it.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds and listens, then accepts on the executor. Throws std::runtime_error,
    /// e.g. "cannot bind API to 127.0.0.1:8470: Address already in use", and
    /// sdk::ConfigError when the TLS certificate or key cannot be used.
    void start();

    /// The port actually bound (the ephemeral one when Options::port was 0), or 0
    /// before start().
    [[nodiscard]] std::uint16_t port() const;

    /// Graceful: closes the listener and idle connections at once; a request being
    /// read is answered 503 (the station is not called after stop) and its
    /// connection closed, so every connection ends within the request timeouts.
    /// Call on the station's executor. Idempotent.
    void stop();

private:
    struct Impl;
    struct Thread;
    std::unique_ptr<Thread> thread_;  ///< the server's own thread; null when it serves on the station's
    // Shared with the connection coroutines, which may outlive the Server object
    // by the time it takes the executor to unwind them.
    std::shared_ptr<Impl> impl_;
};

}  // namespace certlab::api
