#include "transport/tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <optional>
#include <vector>

#include "sdk/error.hpp"
#include "transport/io_wait.hpp"

namespace certlab::transport {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using sdk::TransportError;
using Kind = TransportError::Kind;
using detail::Clock;

std::string host_port(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool is_ip_literal(const std::string& name) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(name, ec);
    return !ec;
}

/// A client context trusting `ca_file` (the system's store when empty), TLS 1.2 or later.
ssl::context make_context(const TlsOptions& tls) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (tls.ca_file.empty()) ctx.set_default_verify_paths(ec);
    else ctx.load_verify_file(tls.ca_file, ec);
    if (ec) {
        const std::string what = tls.ca_file.empty() ? std::string("the system's CA certificates")
                                                     : "CA file '" + tls.ca_file + "'";
        throw sdk::ConfigError("tls: cannot load " + what + ": " + ec.message());
    }
    return ctx;
}

bool would_block(const boost::system::error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

bool peer_gone(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == ssl::error::stream_truncated || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe;
}

}  // namespace

void fill_tls_options(Address& a, const sdk::Settings& settings) {
    for (const auto& [key, option] : {std::pair{"tls_ca", "ca"}, std::pair{"tls_server_name", "server_name"}}) {
        const auto* e = settings.find(key);
        if (!e) continue;
        const std::string& current = std::string_view(option) == "ca" ? a.tls.ca_file : a.tls.server_name;
        if (!current.empty()) continue;  // the address query wins
        try {
            apply_tls_option(a.tls, option, e->value);
        } catch (const sdk::ConfigError& x) {
            throw sdk::ConfigError((e->where.empty() ? std::string() : e->where + ": ") + key + ": " + x.what());
        }
    }
}

struct TlsTransport::Impl {
    Impl(asio::any_io_executor ex, std::string h, std::uint16_t p, TlsOptions t, std::string a)
        : executor(ex),
          host(std::move(h)),
          port(p),
          tls(std::move(t)),
          address(a.empty() ? "tls:" + host_port(host, port) : std::move(a)),
          label("tls " + host_port(host, port)),
          resolver(ex),
          read_deadline(ex),
          write_deadline(ex) {
        if (tls.server_name.empty()) tls.server_name = host;
    }

    [[noreturn]] void fail(Kind kind, const std::string& what) const {
        throw TransportError(kind, label + ": " + what);
    }
    [[noreturn]] void fail_ec(const char* op, const boost::system::error_code& ec) const {
        if (ec == asio::error::eof) fail(Kind::closed, "connection closed by peer");
        if (ec == ssl::error::stream_truncated) fail(Kind::closed, "connection closed by peer (no TLS close_notify)");
        if (ec == asio::error::connection_reset) fail(Kind::closed, "connection reset by peer");
        if (ec == asio::error::broken_pipe) fail(Kind::closed, "connection closed by peer (broken pipe)");
        fail(Kind::io, std::string(op) + ": " + ec.message());
    }
    void require_open(const char* op) const {
        if (!stream || !stream->lowest_layer().is_open()) fail(Kind::closed, std::string(op) + ": not connected");
    }
    sdk::Task<void> aborted(const char* while_doing) const {
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
        fail(Kind::closed, std::string("closed while ") + while_doing);
    }
    void cancel_io() {
        boost::system::error_code ignored;
        if (stream) stream->lowest_layer().cancel(ignored);
    }
    void drop() noexcept {
        boost::system::error_code ignored;
        if (stream) {
            stream->lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
            stream->lowest_layer().close(ignored);
        }
        stash.clear();
    }
    /// Decrypts what has already arrived into `stash`, without waiting. False when the
    /// peer has ended the session (close_notify, FIN) or the link failed.
    bool drain_ready(std::size_t limit) {
        std::array<char, 4096> chunk;
        while (stash.size() < limit) {
            boost::system::error_code ec;
            const std::size_t n = stream->read_some(asio::buffer(chunk), ec);
            if (!ec) {
                stash.append(chunk.data(), n);
                continue;
            }
            return would_block(ec) || ec == asio::error::interrupted;
        }
        return true;
    }
    sdk::Task<std::vector<tcp::endpoint>> resolve(Clock::time_point until, sdk::Duration timeout);
    std::string verify_failure() const;

    asio::any_io_executor executor;
    std::string host;
    std::uint16_t port;
    TlsOptions tls;
    std::string address;
    std::string label;  ///< "tls 127.0.0.1:8443", the prefix of every message
    tcp::resolver resolver;
    std::optional<ssl::context> context;
    std::optional<ssl::stream<tcp::socket>> stream;
    std::string stash;  ///< decrypted bytes read by peer_closed(), handed out by read_some
    detail::Deadline read_deadline;  ///< also bounds resolve, connect and the handshake
    detail::Deadline write_deadline;
};

sdk::Task<std::vector<tcp::endpoint>> TlsTransport::Impl::resolve(Clock::time_point until, sdk::Duration timeout) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(ip, port)};
    read_deadline.arm(until, [&r = resolver] { r.cancel(); });
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                                                          asio::as_tuple(asio::use_awaitable));
    if (read_deadline.disarm()) fail(Kind::timeout, "resolve: no answer within " + detail::describe(timeout));
    if (rec == asio::error::operation_aborted) co_await aborted("resolving");
    if (rec) fail(Kind::io, "resolve: " + rec.message());
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) fail(Kind::io, "resolve: no addresses");
    co_return endpoints;
}

std::string TlsTransport::Impl::verify_failure() const {
    const long result = SSL_get_verify_result(const_cast<ssl::stream<tcp::socket>&>(*stream).native_handle());
    if (result == X509_V_OK) return {};
    std::string msg = std::string("certificate verification failed: ") + X509_verify_cert_error_string(result);
    msg += " (trusting ";
    msg += tls.ca_file.empty() ? std::string("the system's CA certificates") : tls.ca_file;
    msg += ", expecting server name " + tls.server_name + ")";
    return msg;
}

TlsTransport::TlsTransport(asio::any_io_executor ex, std::string host, std::uint16_t port, TlsOptions tls,
                           std::string address)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(host), port, std::move(tls), std::move(address))) {
    (void)make_context(impl_->tls);  // a missing or unreadable CA file is a configuration error
}

TlsTransport::~TlsTransport() { close(); }

const std::string& TlsTransport::address() const { return impl_->address; }

bool TlsTransport::is_open() const noexcept { return impl_->stream && impl_->stream->lowest_layer().is_open(); }

bool TlsTransport::peer_closed() noexcept {
    Impl& s = *impl_;
    if (!is_open()) return false;
    char c;
    const ssize_t n = ::recv(s.stream->lowest_layer().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return true;
    if (n < 0) return false;  // nothing arrived
    // Bytes are waiting: a close_notify alert is one, so look inside the records.
    try {
        return !s.drain_ready(256 * 1024);
    } catch (...) {
        return true;
    }
}

sdk::Task<void> TlsTransport::open(sdk::Duration timeout) {
    Impl& s = *impl_;
    close();
    const auto until = Clock::now() + timeout;
    s.context.emplace(make_context(s.tls));
    const auto endpoints = co_await s.resolve(until, timeout);

    boost::system::error_code last, ignored;
    bool connected = false;
    for (const auto& ep : endpoints) {
        s.stream.emplace(s.executor, *s.context);
        auto& sock = s.stream->lowest_layer();
        sock.open(ep.protocol(), last);
        if (last) continue;
        s.read_deadline.arm(until, [&s] { s.cancel_io(); });
        auto [ec] = co_await sock.async_connect(ep, asio::as_tuple(asio::use_awaitable));
        const bool expired = s.read_deadline.disarm();
        if (!ec) {
            connected = true;
            break;
        }
        sock.close(ignored);
        if (expired) s.fail(Kind::timeout, "connect: no connection within " + detail::describe(timeout));
        if (ec == asio::error::operation_aborted) co_await s.aborted("connecting");
        last = ec;
    }
    if (!connected) s.fail(Kind::io, "connect: " + last.message());

    auto& sock = s.stream->lowest_layer();
    sock.set_option(tcp::no_delay(true), ignored);
    SSL* handle = s.stream->native_handle();
    if (is_ip_literal(s.tls.server_name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), s.tls.server_name.c_str());
    } else {
        SSL_set_tlsext_host_name(handle, s.tls.server_name.c_str());  // SNI
        SSL_set1_host(handle, s.tls.server_name.c_str());
    }
    s.read_deadline.arm(until, [&s] { s.cancel_io(); });
    auto [hec] = co_await s.stream->async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    const bool expired = s.read_deadline.disarm();
    if (hec) {
        std::string why = s.verify_failure();
        s.drop();
        if (!why.empty()) s.fail(Kind::io, why);
        if (expired) s.fail(Kind::timeout, "TLS handshake: not done within " + detail::describe(timeout));
        if (hec == asio::error::operation_aborted) co_await s.aborted("in the TLS handshake");
        if (peer_gone(hec)) s.fail(Kind::closed, "TLS handshake: the server closed the connection");
        s.fail(Kind::io, "TLS handshake: " + hec.message());
    }
    // Lets peer_closed() and discard_input() read what is there without waiting; the
    // asynchronous operations are not affected.
    sock.non_blocking(true, ignored);
}

void TlsTransport::close() noexcept {
    impl_->resolver.cancel();
    impl_->drop();
}

void TlsTransport::discard_input() noexcept {
    Impl& s = *impl_;
    if (!is_open()) return;
    try {
        (void)s.drain_ready(256 * 1024);
    } catch (...) {
    }
    s.stash.clear();
}

sdk::Task<std::size_t> TlsTransport::read_some(std::span<char> buf, sdk::Duration timeout) {
    Impl& s = *impl_;
    if (!s.stash.empty() && !buf.empty()) {
        const std::size_t n = std::min(buf.size(), s.stash.size());
        std::copy_n(s.stash.data(), n, buf.data());
        s.stash.erase(0, n);
        co_return n;
    }
    s.require_open("read");
    if (buf.empty()) co_return 0;
    s.read_deadline.arm(Clock::now() + timeout, [&s] { s.cancel_io(); });
    auto [ec, n] = co_await s.stream->async_read_some(asio::buffer(buf.data(), buf.size()),
                                                      asio::as_tuple(asio::use_awaitable));
    const bool expired = s.read_deadline.disarm();
    if (!ec) co_return n;
    if (expired) s.fail(Kind::timeout, "read: no data within " + detail::describe(timeout));
    if (ec == asio::error::operation_aborted) {
        if (!is_open()) s.fail(Kind::closed, "read: closed while waiting");
        co_await s.aborted("reading");
    }
    s.fail_ec("read", ec);
}

sdk::Task<void> TlsTransport::write(std::string_view data, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("write");
    s.write_deadline.arm(Clock::now() + timeout, [&s] { s.cancel_io(); });
    auto [ec, n] = co_await asio::async_write(*s.stream, asio::buffer(data.data(), data.size()),
                                              asio::as_tuple(asio::use_awaitable));
    const bool expired = s.write_deadline.disarm();
    if (!ec) co_return;
    // A record cut short leaves the session unusable: start again on the next open.
    s.drop();
    if (expired)
        s.fail(Kind::timeout, "write: sent " + std::to_string(n) + " of " + std::to_string(data.size()) +
                                  " bytes within " + detail::describe(timeout) + " (peer not reading)");
    if (ec == asio::error::operation_aborted) co_await s.aborted("writing");
    s.fail_ec("write", ec);
}

}  // namespace certlab::transport
