#include "transport/tcp.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <vector>

#include "sdk/error.hpp"
#include "transport/factory.hpp"
#include "unit/transport/run_io.hpp"

using namespace certlab;
using namespace certlab::test;
using transport::TcpTransport;
using Kind = sdk::TransportError::Kind;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using boost::asio::ip::tcp;

namespace {

/// A loopback listener on an ephemeral port; `serve` runs once per accepted
/// connection, as a coroutine on the same io_context as the client.
struct Peer {
    using Handler = std::function<awaitable<void>(tcp::socket&)>;

    explicit Peer(boost::asio::io_context& ioc, Handler serve)
        : acceptor(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        port = acceptor.local_endpoint().port();
        boost::asio::co_spawn(
            ioc,
            [this, serve = std::move(serve)]() -> awaitable<void> {
                for (;;) {
                    auto [ec, s] = co_await acceptor.async_accept(
                        boost::asio::as_tuple(use_awaitable));
                    if (ec) co_return;
                    connections.push_back(std::make_unique<tcp::socket>(std::move(s)));
                    auto& sock = *connections.back();
                    boost::asio::co_spawn(acceptor.get_executor(), serve(sock),
                                          boost::asio::detached);
                }
            },
            boost::asio::detached);
    }
    ~Peer() { stop(); }
    /// The server side of connection `i`, once the acceptor has picked it up (a
    /// client's connect can complete before the accept handler runs).
    tcp::socket& accepted(boost::asio::io_context& ioc, std::size_t i = 0) {
        ioc.restart();
        const auto limit = Clock::now() + 5s;
        while (connections.size() <= i && Clock::now() < limit) ioc.run_one_for(100ms);
        REQUIRE(connections.size() > i);
        return *connections[i];
    }
    void stop() {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        for (auto& c : connections) c->close(ignored);
    }

    tcp::acceptor acceptor;
    std::uint16_t port = 0;
    std::vector<std::unique_ptr<tcp::socket>> connections;
};

awaitable<void> echo(tcp::socket& s) {
    std::array<char, 256> buf;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(boost::asio::buffer(buf),
                                                  boost::asio::as_tuple(use_awaitable));
        if (ec) co_return;
        co_await boost::asio::async_write(s, boost::asio::buffer(buf.data(), n), use_awaitable);
    }
}

awaitable<void> stay_silent(tcp::socket&) { co_return; }  // the socket stays open in Peer

awaitable<std::string> read_text(sdk::Transport& t, sdk::Duration timeout) {
    std::array<char, 64> buf;
    std::size_t n = co_await t.read_some(buf, timeout);
    co_return std::string(buf.data(), n);
}

std::string loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

TEST_CASE("transport: tcp connect and echo over loopback") {
    boost::asio::io_context ioc;
    Peer peer(ioc, echo);
    auto a = transport::parse_address("tcp:" + loopback(peer.port));
    auto client = transport::make_transport(a, ioc.get_executor());
    CHECK(client->address() == a.text);

    run(ioc, [&]() -> awaitable<void> { co_await client->open(1s); });
    REQUIRE(client->is_open());
    auto reply = run(ioc, [&]() -> awaitable<std::string> {
        co_await client->write("*IDN?\n", 1s);
        sdk::Stream stream(*client);
        co_return co_await stream.read_until("\n", 64, 1s);
    });
    CHECK(reply == "*IDN?\n");

    client->close();
    CHECK_FALSE(client->is_open());
    auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await client->write("x", 1s); });
    CHECK(e.kind() == Kind::closed);
}

TEST_CASE("transport: tcp connects by host name, trying each resolved address") {
    // localhost may resolve to ::1 first, where nothing listens: that one is refused
    // and the next address is tried.
    boost::asio::io_context ioc;
    Peer peer(ioc, echo);
    TcpTransport client(ioc.get_executor(), "localhost", peer.port);
    CHECK(client.address() == "tcp:localhost:" + std::to_string(peer.port));
    run(ioc, [&]() -> awaitable<void> { co_await client.open(2s); });
    CHECK(client.is_open());
    auto reply = run(ioc, [&]() -> awaitable<std::string> {
        co_await client.write("hi", 1s);
        co_return co_await read_text(client, 1s);
    });
    CHECK(reply == "hi");
}

TEST_CASE("transport: tcp read timeout fires within bounds and the connection stays usable") {
    boost::asio::io_context ioc;
    Peer peer(ioc, stay_silent);
    TcpTransport client(ioc.get_executor(), "127.0.0.1", peer.port);
    run(ioc, [&]() -> awaitable<void> { co_await client.open(1s); });

    const auto start = Clock::now();
    auto e = transport_error(ioc, [&] { return read_text(client, 200ms); });
    const auto took = elapsed_since(start);
    CHECK(e.kind() == Kind::timeout);
    CHECK(std::string(e.what()) == "tcp " + loopback(peer.port) + ": read: no data within 200 ms");
    CHECK(took >= 190ms);
    CHECK(took < 2s);

    boost::asio::write(peer.accepted(ioc), boost::asio::buffer("late", 4));
    CHECK(run(ioc, [&] { return read_text(client, 1s); }) == "late");
}

TEST_CASE("transport: tcp peer close and reset end reads as closed") {
    boost::asio::io_context ioc;
    Peer peer(ioc, stay_silent);
    TcpTransport client(ioc.get_executor(), "127.0.0.1", peer.port);
    run(ioc, [&]() -> awaitable<void> { co_await client.open(1s); });
    tcp::socket& server_side = peer.accepted(ioc);

    SUBCASE("orderly close while a read waits") {
        auto e = transport_error(ioc, [&]() -> awaitable<std::string> {
            boost::asio::steady_timer later(co_await boost::asio::this_coro::executor, 50ms);
            later.async_wait([&](auto) { server_side.close(); });
            co_return co_await read_text(client, 5s);
        });
        CHECK(e.kind() == Kind::closed);
        CHECK(std::string(e.what()) == "tcp " + loopback(peer.port) + ": connection closed by peer");
    }
    SUBCASE("data before the close is still delivered") {
        boost::asio::write(server_side, boost::asio::buffer("bye", 3));
        server_side.close();
        CHECK(run(ioc, [&] { return read_text(client, 1s); }) == "bye");
        auto e = transport_error(ioc, [&] { return read_text(client, 1s); });
        CHECK(e.kind() == Kind::closed);
    }
    SUBCASE("reset") {
        server_side.set_option(boost::asio::socket_base::linger(true, 0));  // close sends RST
        server_side.close();
        auto e = transport_error(ioc, [&] { return read_text(client, 1s); });
        CHECK(e.kind() == Kind::closed);
        CHECK(std::string(e.what()).find("by peer") != std::string::npos);
    }
}

TEST_CASE("transport: tcp connection refused") {
    boost::asio::io_context ioc;
    std::uint16_t port;
    {
        // Bind to learn a free port, then close it so nothing listens there.
        tcp::acceptor probe(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
        port = probe.local_endpoint().port();
    }
    TcpTransport client(ioc.get_executor(), "127.0.0.1", port);
    auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await client.open(1s); });
    CHECK(e.kind() == Kind::io);
    CHECK(std::string(e.what()) == "tcp " + loopback(port) + ": connect: Connection refused");
    CHECK_FALSE(client.is_open());
}

TEST_CASE("transport: tcp discard_input drops pending bytes without waiting") {
    boost::asio::io_context ioc;
    Peer peer(ioc, [](tcp::socket& s) -> awaitable<void> {
        co_await boost::asio::async_write(s, boost::asio::buffer("stale", 5), use_awaitable);
        std::array<char, 2> go;
        co_await boost::asio::async_read(s, boost::asio::buffer(go), use_awaitable);
        co_await boost::asio::async_write(s, boost::asio::buffer("fresh", 5), use_awaitable);
    });
    TcpTransport client(ioc.get_executor(), "127.0.0.1", peer.port);
    auto reply = run(ioc, [&]() -> awaitable<std::string> {
        co_await client.open(1s);
        co_await sleep_for(100ms);  // let "stale" arrive
        const auto start = Clock::now();
        client.discard_input();
        CHECK(elapsed_since(start) < 100ms);
        co_await client.write("go", 1s);
        co_return co_await read_text(client, 1s);
    });
    CHECK(reply == "fresh");

    client.discard_input();  // nothing pending: returns at once, connection intact
    CHECK(client.is_open());
}

TEST_CASE("transport: tcp write times out when the peer never reads") {
    boost::asio::io_context ioc;
    Peer peer(ioc, stay_silent);
    TcpTransport client(ioc.get_executor(), "127.0.0.1", peer.port);
    run(ioc, [&]() -> awaitable<void> { co_await client.open(1s); });
    const std::string big(64 << 20, 'A');  // beyond both socket buffers
    auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await client.write(big, 300ms); });
    CHECK(e.kind() == Kind::timeout);
    CHECK(std::string(e.what()).find("bytes within 300 ms (peer not reading)") != std::string::npos);
}

TEST_CASE("transport: tcp read abandoned by io_context stop or close") {
    SUBCASE("io_context stopped and destroyed mid-read frees the coroutine") {
        bool frame_destroyed = false;
        bool completed = false;
        {
            boost::asio::io_context ioc;
            Peer peer(ioc, stay_silent);
            TcpTransport client(ioc.get_executor(), "127.0.0.1", peer.port);
            run(ioc, [&]() -> awaitable<void> { co_await client.open(1s); });
            boost::asio::co_spawn(
                ioc,
                [&]() -> awaitable<void> {
                    FrameSentinel sentinel{&frame_destroyed};
                    co_await read_text(client, 10s);
                },
                [&](std::exception_ptr) { completed = true; });
            ioc.restart();
            ioc.run_for(50ms);
            ioc.stop();
            CHECK_FALSE(frame_destroyed);
        }
        CHECK(frame_destroyed);
        CHECK_FALSE(completed);
    }
    SUBCASE("close() while a read waits ends it as closed") {
        boost::asio::io_context ioc;
        Peer peer(ioc, stay_silent);
        TcpTransport client(ioc.get_executor(), "127.0.0.1", peer.port);
        run(ioc, [&]() -> awaitable<void> { co_await client.open(1s); });
        auto e = transport_error(ioc, [&]() -> awaitable<std::string> {
            boost::asio::steady_timer later(co_await boost::asio::this_coro::executor, 30ms);
            later.async_wait([&](auto) { client.close(); });
            co_return co_await read_text(client, 5s);
        });
        CHECK(e.kind() == Kind::closed);
        CHECK(std::string(e.what()).find("closed while waiting") != std::string::npos);
    }
}
