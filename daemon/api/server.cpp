#include "api/server.hpp"

#include <array>
#include <atomic>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "api/access.hpp"
#include "api/router.hpp"
#include "api/routes.hpp"
#include "api/sse.hpp"
#include "sdk/error.hpp"
#include "station/events.hpp"

#ifndef CERTLAB_VERSION
#define CERTLAB_VERSION "dev"
#endif

namespace certlab::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// After an error response to a request we did not read to the end, the client may
// still be sending. Closing with unread input makes the kernel send RST, which can
// destroy our response in flight; so read and discard for a bounded while first.
constexpr auto linger_time = 2s;
constexpr std::size_t linger_bytes = 1024 * 1024;

/// One client connection. The stream itself (plain or TLS) lives in the serving
/// coroutine's frame; `tcp` is its lowest layer, which stop() cancels and closes.
struct Connection {
    beast::tcp_stream* tcp = nullptr;
    std::string peer;
    bool idle = true;  ///< waiting for the first byte of a request: safe to cancel
    std::function<void()> stop_stream;  ///< set while it serves GET /v1/events (api/sse.hpp)
};

std::string endpoint_text(const asio::ip::address& addr, std::uint16_t port) {
    auto host = addr.to_string();
    return addr.is_v6() ? "[" + host + "]:" + std::to_string(port)
                        : host + ":" + std::to_string(port);
}

auto log_failure(std::shared_ptr<spdlog::logger> log, std::string what) {
    return [log = std::move(log), what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log->error("{} failed: {}", what, ex.what());
        }
    };
}

/// The answer to a request that could not be read, or nullopt when the
/// connection simply went away and there is nobody to answer.
std::optional<Response> read_error_response(beast::error_code ec, const ServerOptions& opts, std::size_t body_limit) {
    if (ec == http::error::body_limit)
        return problem(413, "request body exceeds " + std::to_string(body_limit) + " bytes");
    if (ec == http::error::header_limit)
        return problem(431, "request header exceeds " + std::to_string(opts.max_header) + " bytes");
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
        return problem(400, "malformed HTTP request: " + ec.message());
    return std::nullopt;
}

http::response<http::string_body> to_message(Response&& r, unsigned version, bool keep_alive) {
    http::response<http::string_body> msg;
    msg.version(version);
    msg.result(r.status);
    msg.set(http::field::server, "certlabd/" CERTLAB_VERSION);
    msg.set(http::field::content_type, r.content_type);
    // Status changes by the second; a cached answer is a wrong answer.
    msg.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : r.headers) msg.set(name, value);
    msg.body() = std::move(r.body);
    msg.keep_alive(keep_alive);
    msg.prepare_payload();
    return msg;
}

}  // namespace

struct Server::Impl {
    Impl(asio::any_io_executor station_executor, asio::any_io_executor executor, StationView& station,
         Options options)
        : station_ex(std::move(station_executor)),
          ex(std::move(executor)),
          own_thread(station_ex != ex),
          opts(std::move(options)),
          router(make_routes(station)),
          events(station.events()),
          tokens(opts.tokens ? opts.tokens : std::make_shared<const TokenTable>()),
          acceptor(ex),
          log(spdlog::default_logger()->clone("api")) {}

    asio::any_io_executor station_ex;  ///< where Affinity::station handlers run
    asio::any_io_executor ex;          ///< where connections are served
    const bool own_thread;             ///< ex is the server's own thread, not the station's
    Options opts;
    Router router;
    std::shared_ptr<station::EventBus> events;  ///< null: no GET /v1/events
    std::shared_ptr<const TokenTable> tokens;   ///< empty: access control off
    std::optional<ssl::context> tls;            ///< set by start() when serving HTTPS
    tcp::acceptor acceptor;
    std::shared_ptr<spdlog::logger> log;
    std::set<Connection*> connections;  ///< open ones, for stop()
    bool started = false;
    /// Set by stop() on the station's executor, read on both: after it no handler
    /// calls the station.
    std::atomic<bool> stopping{false};
    std::uint16_t port = 0;

    /// Keeps `connections` exact however a connection coroutine ends.
    struct Tracked {
        Tracked(Impl& i, Connection& c) : impl(i), conn(c) { impl.connections.insert(&conn); }
        ~Tracked() { impl.connections.erase(&conn); }
        Tracked(const Tracked&) = delete;
        Tracked& operator=(const Tracked&) = delete;
        Impl& impl;
        Connection& conn;
    };

    /// The request as the router takes it, or the answer when its target is malformed.
    static std::optional<Response> prepare(http::request<http::string_body>&& msg, Request& req) {
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        req.content_type = std::string(msg[http::field::content_type]);
        req.if_none_match = std::string(msg[http::field::if_none_match]);
        req.body = std::move(msg.body());
        try {
            parse_target(req.target, req);
        } catch (const HttpError& e) {
            return problem(e.status(), e.what());
        }
        return std::nullopt;
    }

    /// Whether the route must run on the station's executor, away from this thread.
    [[nodiscard]] bool needs_station(const Request& req) const {
        return own_thread && router.affinity(req.method, req.path) == Affinity::station;
    }

    /// Runs the route; on the station's executor unless needs_station() said no.
    Response handle(Request& req) {
        // After stop() the station may be going away: answer without touching it.
        if (stopping) return problem(503, "the station is stopping");
        try {
            return router.dispatch(req);
        } catch (const std::exception& e) {
            // Router::dispatch already catches handler failures; this is the last
            // line for anything around it (say, a failed allocation).
            return problem(500, std::string("internal error: ") + e.what());
        }
    }

    /// handle() as a coroutine, for co_spawn on the station's executor.
    static asio::awaitable<Response> handle_on_station(std::shared_ptr<Impl> self, Request req) {
        co_return self->handle(req);
    }

    /// Closes the listener and idle connections, ends event streams. On ex.
    void close_idle() {
        beast::error_code ignored;
        acceptor.close(ignored);
        for (auto* conn : connections) {
            if (conn->idle && conn->tcp) conn->tcp->socket().cancel(ignored);
            if (conn->stop_stream) conn->stop_stream();  // an event stream ends now
        }
        if (started) log->info("API stopped accepting; {} connection(s) closing", connections.size());
    }

    /// Cuts every connection still open. On ex.
    void close_all() {
        for (auto* conn : connections) {
            beast::error_code ignored;
            if (conn->tcp) conn->tcp->socket().close(ignored);
        }
    }

    /// Whether the request may go on, from its head alone: a refused client does not
    /// get to send its body.
    [[nodiscard]] std::optional<Response> refuse(const http::request_parser<http::string_body>& parser,
                                                 std::string_view path, std::string& who) const {
        const auto& head = parser.get();
        const auto method = head.method_string();
        const auto auth = head[http::field::authorization];
        auto d = check_access(*tokens, std::string_view(method.data(), method.size()), path,
                              std::string_view(auth.data(), auth.size()));
        who = d.who;
        if (d.status == 200) return std::nullopt;
        auto res = problem(d.status, d.detail);
        if (d.status == 401)
            res.headers.emplace_back("WWW-Authenticate", auth.empty() ? "Bearer realm=\"certlab\""
                                                                      : "Bearer realm=\"certlab\", error=\"invalid_token\"");
        return res;
    }

    void load_tls();

    static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
    static asio::awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket socket);
    template <class Stream>
    static asio::awaitable<void> serve_http(std::shared_ptr<Impl> self, Connection& conn, Stream& stream);
};

namespace {

asio::awaitable<void> linger(beast::tcp_stream& tcp) {
    beast::error_code ec;
    tcp.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp.expires_after(linger_time);
    std::array<char, 4096> sink;
    std::size_t drained = 0;
    while (drained < linger_bytes) {
        // Raw bytes, under TLS too: they are thrown away, and the connection is ending.
        auto [rec, n] = co_await tcp.async_read_some(asio::buffer(sink), use_tuple);
        if (rec) break;
        drained += n;
    }
}

}  // namespace

/// Closes the connection's socket; called while its stream is still alive.
static void close_connection(Connection& conn) {
    beast::error_code ignored;
    conn.tcp->socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn.tcp->socket().close(ignored);
    conn.tcp = nullptr;
}

/// Serves one connection: the TLS handshake when serving HTTPS, then the requests.
asio::awaitable<void> Server::Impl::serve(std::shared_ptr<Impl> self, tcp::socket socket) {
    Connection conn;
    Impl::Tracked tracked(*self, conn);
    {
        beast::error_code ec;
        auto remote = socket.remote_endpoint(ec);
        conn.peer = ec ? "?" : endpoint_text(remote.address(), remote.port());
    }
    if (self->tls) {
        TlsStream stream(beast::tcp_stream(std::move(socket)), *self->tls);
        conn.tcp = &beast::get_lowest_layer(stream);
        conn.tcp->expires_after(self->opts.request_timeout);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
        if (ec) {
            // Typically a client that does not trust our certificate, or plain HTTP.
            self->log->info("{} TLS handshake failed: {}", conn.peer, ec.message());
        } else {
            co_await serve_http(self, conn, stream);
        }
        close_connection(conn);
    } else {
        beast::tcp_stream stream(std::move(socket));
        conn.tcp = &stream;
        co_await serve_http(self, conn, stream);
        close_connection(conn);
    }
}

/// Requests in order, keep-alive, until close, error, timeout or stop.
template <class Stream>
asio::awaitable<void> Server::Impl::serve_http(std::shared_ptr<Impl> self, Connection& conn, Stream& stream) {
    const auto& opts = self->opts;
    auto& tcp = beast::get_lowest_layer(stream);
    // Bounded so pipelined garbage cannot grow it without limit.
    beast::flat_buffer buffer(opts.max_header + opts.max_body + 64 * 1024);

    for (;;) {
        if (buffer.size() == 0) {
            conn.idle = true;
            if (self->stopping) break;
            tcp.expires_after(opts.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
            if (ec) break;  // closed by the peer, idle timeout, or stop()
            buffer.commit(n);
        }
        conn.idle = false;
        auto began = std::chrono::steady_clock::now();

        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(opts.max_header));
        // An upload route (a prompt's photo) has a larger limit of its own, known only
        // once the head is read: read the head under the largest, then apply the route's.
        std::size_t body_limit = opts.max_body;
        parser.body_limit(std::max(opts.max_body, self->router.largest_body_limit()));
        tcp.expires_after(opts.request_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        std::optional<Response> refused;
        std::string who;
        if (!ec) {
            const auto target = parser.get().target();
            const std::string_view path(target.data(), std::min(target.size(), target.find('?')));
            const auto method = parser.get().method_string();
            refused = self->refuse(parser, path, who);
            if (auto own = self->router.body_limit(std::string_view(method.data(), method.size()), path))
                body_limit = *own;
            if (refused) {
                // Answered from the head; a body it may have is not read.
            } else if (parser.content_length() && *parser.content_length() > body_limit) {
                ec = http::error::body_limit;
            } else {
                parser.body_limit(body_limit);
            }
        }
        if (!ec && !refused && beast::iequals(parser.get()[http::field::expect], "100-continue") &&
            !parser.is_done()) {
            // curl and others wait for this before sending a large body.
            http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
            auto [wec, wn] = co_await http::async_write(stream, go_on, use_tuple);
            if (wec) break;
        }
        if (!ec && !refused && !parser.is_done())
            std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);

        Response res;
        bool keep_alive = false;
        bool drain = false;  ///< the client may still be sending: linger before closing
        unsigned version = 11;
        std::string what;
        if (ec) {
            auto answer = read_error_response(ec, opts, body_limit);
            if (!answer) {
                self->log->debug("{} closed: {}", conn.peer, ec.message());
                break;
            }
            res = std::move(*answer);
            what = "(unreadable request: " + ec.message() + ")";
            drain = true;
        } else if (refused) {
            const auto& head = parser.get();
            version = head.version();
            what = std::string(head.method_string()) + " " + std::string(head.target());
            // Without a body to skip, the connection can go on (a browser retrying
            // with a token); otherwise the unread body ends it.
            keep_alive = parser.is_done() && head.keep_alive();
            drain = !parser.is_done();
            self->log->info("{} {} refused ({}): {}", conn.peer, what, refused->status,
                            who.empty() ? "no valid token" : "token of " + who);
            res = std::move(*refused);
        } else {
            auto msg = parser.release();
            if (self->events && !self->stopping && is_event_stream(msg)) {
                // A long-lived answer: the connection is the event stream's until it ends.
                self->log->debug("{} {} -> event stream", conn.peer, std::string(msg.target()));
                auto bus = self->events;
                const SseOptions sse;
                co_await serve_events(stream, msg, bus, conn.stop_stream, sse);
                break;
            }
            version = msg.version();
            keep_alive = msg.keep_alive();
            what = std::string(msg.method_string()) + " " + std::string(msg.target());
            const bool write = msg.method() != http::verb::get && msg.method() != http::verb::head;
            Request req;
            if (auto early = Impl::prepare(std::move(msg), req)) {
                res = std::move(*early);
            } else if (self->needs_station(req)) {
                // Over to the station's executor and back to this thread.
                auto task = Impl::handle_on_station(self, std::move(req));
                try {
                    res = co_await asio::co_spawn(self->station_ex, std::move(task), asio::use_awaitable);
                } catch (const std::exception& e) {
                    res = problem(500, std::string("internal error: ") + e.what());
                }
            } else {
                res = self->handle(req);
            }
            // Who changed what on the station, for the on-call engineer's questions.
            if (write && !who.empty()) self->log->info("{} by {}: {} -> {}", what, who, conn.peer, res.status);
        }
        keep_alive = keep_alive && !self->stopping;
        auto status = res.status;
        auto reply = to_message(std::move(res), version, keep_alive);
        tcp.expires_after(opts.request_timeout);
        auto [wec, wn] = co_await http::async_write(stream, reply, use_tuple);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - began)
                      .count();
        self->log->debug("{} {} -> {} ({} us)", conn.peer, what, status, us);
        if (wec) break;
        if (drain) {
            co_await linger(tcp);
            break;
        }
        if (!keep_alive) break;
    }
    if constexpr (std::is_same_v<Stream, TlsStream>) {
        // close_notify, so the client knows the answer was complete; bounded.
        if (!self->stopping) {
            tcp.expires_after(std::chrono::seconds(2));
            auto [ec] = co_await stream.async_shutdown(use_tuple);
            (void)ec;
        }
    }
}

void Server::Impl::load_tls() {
    if (opts.tls_cert.empty()) return;
    auto& ctx = tls.emplace(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::single_dh_use);
    beast::error_code ec;
    ctx.use_certificate_chain_file(opts.tls_cert.string(), ec);
    if (ec) {
        tls.reset();
        throw sdk::ConfigError("api.tls.cert: cannot use the certificate chain " + opts.tls_cert.string() + ": " +
                               ec.message());
    }
    ctx.use_private_key_file(opts.tls_key.string(), ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(ctx.native_handle()) != 1)
        ec = beast::error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
    if (ec) {
        tls.reset();
        throw sdk::ConfigError("api.tls.key: cannot use the private key " + opts.tls_key.string() +
                               " with the certificate: " + ec.message());
    }
}

asio::awaitable<void> Server::Impl::accept_loop(std::shared_ptr<Impl> self) {
    for (;;) {
        auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
        if (self->stopping || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // Typically EMFILE: back off instead of spinning on the failing accept.
            self->log->warn("accept failed: {}", ec.message());
            asio::steady_timer backoff(self->ex, 100ms);
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (self->connections.size() >= self->opts.max_connections) {
            // Each connection costs buffers and a coroutine; past the cap, refuse.
            self->log->warn("refusing API connection: {} already open", self->connections.size());
            beast::error_code ignored;
            socket.close(ignored);
            continue;
        }
        asio::co_spawn(self->ex, serve(self, std::move(socket)),
                       log_failure(self->log, "API connection"));
    }
}

/// The server's own thread and what keeps it running until the server goes.
struct Server::Thread {
    explicit Thread(asio::io_context& context) : io(context), work(asio::make_work_guard(context)) {}
    asio::io_context& io;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::thread worker;
};

Server::Server(asio::any_io_executor ex, StationView& station, Options opts)
    : impl_(std::make_shared<Impl>(ex, ex, station, std::move(opts))) {}

Server::Server(asio::any_io_executor station_ex, asio::io_context& io, StationView& station, Options opts)
    : thread_(std::make_unique<Thread>(io)),
      impl_(std::make_shared<Impl>(std::move(station_ex), io.get_executor(), station, std::move(opts))) {}

Server::~Server() {
    stop();
    if (!thread_) {
        // Terminal: whatever is still open is cut now; the coroutines unwind with
        // operation_aborted and release the Impl.
        impl_->close_all();
        return;
    }
    if (thread_->worker.joinable()) {
        // Cut every connection, then end the thread. A coroutine still waiting (say,
        // on the station's executor) stays suspended in the io_context, which
        // destroys it when it goes.
        auto& io = thread_->io;
        asio::post(impl_->ex, [impl = impl_] { impl->close_all(); });
        asio::post(impl_->ex, [&io] { io.stop(); });
        thread_->worker.join();
    }
}

void Server::start() {
    auto& i = *impl_;
    if (i.started) return;
    auto fail = [&](const std::string& why) {
        beast::error_code ignored;
        i.acceptor.close(ignored);
        throw std::runtime_error("cannot bind API to " + i.opts.bind + ":" +
                                 std::to_string(i.opts.port) + ": " + why);
    };
    i.load_tls();
    beast::error_code ec;
    auto addr = asio::ip::make_address(i.opts.bind, ec);
    if (ec) fail("'" + i.opts.bind + "' is not an IP address");
    tcp::endpoint endpoint(addr, i.opts.port);
    i.acceptor.open(endpoint.protocol(), ec);
    if (ec) fail(ec.message());
    // Lets a restarted daemon bind while old connections sit in TIME_WAIT.
    i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) fail(ec.message());
    i.acceptor.bind(endpoint, ec);
    if (ec) fail(ec.message());
    i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail(ec.message());
    i.port = i.acceptor.local_endpoint(ec).port();
    if (ec) fail(ec.message());
    i.started = true;
    asio::co_spawn(i.ex, Impl::accept_loop(impl_), log_failure(i.log, "API accept loop"));
    if (thread_) {
        thread_->worker = std::thread([&io = thread_->io, log = i.log] {
            for (;;) {
                try {
                    io.run();
                    return;
                } catch (const std::exception& e) {
                    // A handler that throws costs its connection, never the API.
                    log->error("API thread: {}", e.what());
                }
            }
        });
    }
    i.log->info("API listening on {}://{}{}", i.tls ? "https" : "http", endpoint_text(addr, i.port),
                i.tokens->empty() ? "" : " (bearer tokens: " + std::to_string(i.tokens->size()) + ")");
}

std::uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
    if (impl_->stopping.exchange(true)) return;
    if (thread_) asio::post(impl_->ex, [impl = impl_] { impl->close_idle(); });
    else impl_->close_idle();
}

}  // namespace certlab::api
