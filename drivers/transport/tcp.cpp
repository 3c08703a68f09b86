#include "transport/tcp.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <boost/asio/ip/tcp.hpp>
#include <vector>

#include "sdk/error.hpp"
#include "transport/io_wait.hpp"

namespace certlab::transport {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using sdk::TransportError;
using Kind = TransportError::Kind;
using detail::Clock;
using detail::Ready;

std::string host_port(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool would_block(const boost::system::error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

struct TcpTransport::Impl {
    Impl(asio::any_io_executor ex, std::string h, std::uint16_t p, std::string a)
        : host(std::move(h)),
          port(p),
          address(a.empty() ? "tcp:" + host_port(host, port) : std::move(a)),
          label("tcp " + host_port(host, port)),
          resolver(ex),
          socket(ex),
          read_deadline(ex),
          write_deadline(ex) {}

    [[noreturn]] void fail(Kind kind, const std::string& what) const {
        throw TransportError(kind, label + ": " + what);
    }
    /// Peer-side endings are `closed` (the device went away), the rest `io`.
    [[noreturn]] void fail_ec(const char* op, const boost::system::error_code& ec) const {
        if (ec == asio::error::eof) fail(Kind::closed, "connection closed by peer");
        if (ec == asio::error::connection_reset) fail(Kind::closed, "connection reset by peer");
        if (ec == asio::error::broken_pipe)
            fail(Kind::closed, "connection closed by peer (broken pipe)");
        fail(Kind::io, std::string(op) + ": " + ec.message());
    }
    void require_open(const char* op) const {
        if (!socket.is_open()) fail(Kind::closed, std::string(op) + ": not connected");
    }
    /// An operation ended with operation_aborted that no deadline caused: either the
    /// caller's coroutine was cancelled (propagate that) or close() was called.
    sdk::Task<void> aborted(const char* while_doing) const {
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
        fail(Kind::closed, std::string("closed while ") + while_doing);
    }
    sdk::Task<std::vector<tcp::endpoint>> resolve(Clock::time_point until, sdk::Duration timeout);

    std::string host;
    std::uint16_t port;
    std::string address;
    std::string label;  ///< "tcp 127.0.0.1:9100", the prefix of every message
    tcp::resolver resolver;
    tcp::socket socket;
    detail::Deadline read_deadline;   ///< also bounds resolve and connect
    detail::Deadline write_deadline;
};

// IP literals skip the resolver, which would otherwise start its background thread.
sdk::Task<std::vector<tcp::endpoint>> TcpTransport::Impl::resolve(Clock::time_point until,
                                                                 sdk::Duration timeout) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(ip, port)};

    read_deadline.arm(until, [&r = resolver] { r.cancel(); });
    auto [rec, results] = co_await resolver.async_resolve(
        host, std::to_string(port), tcp::resolver::numeric_service,
        asio::as_tuple(asio::use_awaitable));
    if (read_deadline.disarm()) fail(Kind::timeout, "resolve: no answer within " + detail::describe(timeout));
    if (rec == asio::error::operation_aborted) co_await aborted("resolving");
    if (rec) fail(Kind::io, "resolve: " + rec.message());
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) fail(Kind::io, "resolve: no addresses");
    co_return endpoints;
}

TcpTransport::TcpTransport(asio::any_io_executor ex, std::string host, std::uint16_t port,
                           std::string address)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(host), port, std::move(address))) {}

TcpTransport::~TcpTransport() = default;

const std::string& TcpTransport::address() const { return impl_->address; }
bool TcpTransport::is_open() const noexcept { return impl_->socket.is_open(); }

bool TcpTransport::peer_closed() noexcept {
    auto& sock = impl_->socket;
    if (!sock.is_open()) return false;
    // A zero-length peek means the peer sent FIN; pending data is left in place.
    char c;
    const ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

sdk::Task<void> TcpTransport::open(sdk::Duration timeout) {
    Impl& s = *impl_;
    close();
    const auto until = Clock::now() + timeout;
    const auto endpoints = co_await s.resolve(until, timeout);

    boost::system::error_code last, ignored;
    for (const auto& ep : endpoints) {
        s.socket.close(ignored);
        s.socket.open(ep.protocol(), last);
        if (last) continue;
        s.read_deadline.arm(until, [&sock = s.socket] {
            boost::system::error_code e;
            sock.cancel(e);
        });
        auto [ec] = co_await s.socket.async_connect(ep, asio::as_tuple(asio::use_awaitable));
        const bool expired = s.read_deadline.disarm();
        if (!ec) {
            s.socket.set_option(tcp::no_delay(true), ignored);  // best effort
            s.socket.non_blocking(true, last);  // read_some/write try the syscall first
            if (!last) co_return;
            s.socket.close(ignored);
            s.fail(Kind::io, "set non-blocking: " + last.message());
        }
        s.socket.close(ignored);
        if (expired) s.fail(Kind::timeout, "connect: no connection within " + detail::describe(timeout));
        if (ec == asio::error::operation_aborted) co_await s.aborted("connecting");
        last = ec;  // try the next resolved address
    }
    s.fail(Kind::io, "connect: " + last.message());
}

void TcpTransport::close() noexcept {
    boost::system::error_code ignored;
    impl_->resolver.cancel();
    impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
    impl_->socket.close(ignored);  // pending waits complete with operation_aborted
}

void TcpTransport::discard_input() noexcept {
    auto& sock = impl_->socket;
    if (!sock.is_open()) return;
    std::array<char, 4096> chunk;
    for (int i = 0; i < 64; ++i) {
        boost::system::error_code ec;
        sock.read_some(asio::buffer(chunk), ec);
        if (ec) break;  // would_block: drained; eof/reset: the next read reports it
    }
}

sdk::Task<std::size_t> TcpTransport::read_some(std::span<char> buf, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("read");
    if (buf.empty()) co_return 0;
    const auto until = Clock::now() + timeout;
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n = s.socket.read_some(asio::buffer(buf.data(), buf.size()), ec);
        if (!ec) co_return n;
        if (ec == asio::error::interrupted) continue;
        if (!would_block(ec)) s.fail_ec("read", ec);
        auto r = co_await detail::wait_ready(s.socket, s.read_deadline, tcp::socket::wait_read, until);
        if (r.state == Ready::timeout) s.fail(Kind::timeout, "read: no data within " + detail::describe(timeout));
        if (r.state == Ready::closed) s.fail(Kind::closed, "read: closed while waiting");
        if (r.state == Ready::failed) s.fail(Kind::io, "read: wait: " + r.ec.message());
    }
}

sdk::Task<void> TcpTransport::write(std::string_view data, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("write");
    const auto until = Clock::now() + timeout;
    std::size_t done = 0;
    while (done < data.size()) {
        boost::system::error_code ec;
        done += s.socket.write_some(asio::buffer(data.data() + done, data.size() - done), ec);
        if (!ec || ec == asio::error::interrupted) continue;
        if (!would_block(ec)) s.fail_ec("write", ec);
        auto r = co_await detail::wait_ready(s.socket, s.write_deadline, tcp::socket::wait_write, until);
        if (r.state == Ready::timeout)
            s.fail(Kind::timeout, "write: sent " + std::to_string(done) + " of " +
                                      std::to_string(data.size()) + " bytes within " +
                                      detail::describe(timeout) + " (peer not reading)");
        if (r.state == Ready::closed) s.fail(Kind::closed, "write: closed while waiting");
        if (r.state == Ready::failed) s.fail(Kind::io, "write: wait: " + r.ec.message());
    }
}

}  // namespace certlab::transport
