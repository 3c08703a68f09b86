// The USB printer-class transport against emulated printers: certlab-usb-bench keeps
// a umockdev testbed, and this binary runs under libumockdev-preload (see
// tests/CMakeLists.txt), so libusb sees the testbed's devices as real ones.
//
// One bench serves every test case (libusb's context, like the daemon's, lives as
// long as the process), each test on its own port.
#include <doctest/doctest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstdlib>
#include <future>

#include "run_io.hpp"
#include "sdk/error.hpp"
#include "support/usb_bench.hpp"
#include "transport/address.hpp"
#include "transport/factory.hpp"
#include "transport/usb.hpp"
#include "transport/usb_event_loop.hpp"

using namespace certlab;
using namespace certlab::test;
using namespace boost::asio::experimental::awaitable_operators;
using Kind = sdk::TransportError::Kind;
namespace asio = boost::asio;

namespace {

const std::string kStatus("\x10\x04\x01", 3);  // DLE EOT 1: printer status, one byte back

/// The bench this process sees as its USB bus. Created on first use, before libusb.
UsbBench& bench() {
    static UsbBench b;
    static const bool pointed = [] {
        // The preload library reads UMOCKDEV_DIR on every call: from now on this
        // process's /sys and /dev are the testbed's.
        return setenv("UMOCKDEV_DIR", b.dir().c_str(), 1) == 0;
    }();
    REQUIRE(pointed);
    return b;
}

/// Waits until the USB thread has run every job posted so far (handles closed).
void settle() {
    std::promise<void> done;
    transport::usb::EventLoop::instance().post([&done] { done.set_value(); });
    REQUIRE(done.get_future().wait_for(5s) == std::future_status::ready);
}

struct Printer {
    Printer(const std::string& name, const std::string& args) : name(name) {
        port = bench().add(name, args).substr(4);  // "usb:1-4" -> "1-4"
    }
    ~Printer() {
        settle();
        try {
            bench().remove(name);
        } catch (const std::exception&) {  // a test may have unplugged it already
        }
    }
    std::string name;
    std::string port;
};

asio::awaitable<std::uint8_t> status(transport::UsbTransport& t) {
    co_await t.write(kStatus, 1s);
    char b = 0;
    std::size_t n = co_await t.read_some(std::span<char>(&b, 1), 1s);
    REQUIRE(n == 1);
    co_return static_cast<std::uint8_t>(b);
}

}  // namespace

TEST_CASE("usb transport: opens the printer in its port, reads its 1284 id and exchanges bytes") {
    Printer p("open", "port=1-4 serial=T1");
    asio::io_context io;
    transport::UsbTransport t(io.get_executor(), p.port);
    CHECK(t.address() == "usb:1-4");
    CHECK_FALSE(t.is_open());
    run(io, [&]() -> asio::awaitable<void> { co_await t.open(2s); });
    CHECK(t.is_open());
    CHECK_FALSE(t.peer_closed());
    REQUIRE(t.ieee1284_id().size() >= 3);
    CHECK(t.ieee1284_id()[0] == std::pair<std::string, std::string>{"MFG", "EPSON"});
    CHECK(t.ieee1284_id()[1] == std::pair<std::string, std::string>{"CMD", "ESC/POS"});
    // DLE EOT 1 of an online printer with the drawer closed: fixed bits only (0x12).
    CHECK(run(io, [&] { return status(t); }) == 0x12);
    // GS I 67 answers "_TM-T20II\0" in one IN transfer; read_some hands it out in pieces.
    auto parts = run(io, [&]() -> asio::awaitable<std::string> {
        co_await t.write(std::string("\x1d\x49\x43", 3), 1s);
        std::string got;
        char b[4];
        while (got.size() < 10) got.append(b, co_await t.read_some(b, 1s));
        co_return got;
    });
    CHECK(parts == std::string("_TM-T20II\0", 10));
    t.close();
    CHECK_FALSE(t.is_open());
    CHECK(bench().bytes_written("open") == 6);
}

TEST_CASE("usb transport: a silent printer makes a read time out after its own deadline") {
    Printer p("silent", "port=1-5 serial=T2 --stall");
    asio::io_context io;
    transport::UsbTransport t(io.get_executor(), p.port);
    run(io, [&]() -> asio::awaitable<void> { co_await t.open(2s); });
    const auto t0 = Clock::now();
    auto e = transport_error(io, [&]() -> asio::awaitable<void> {
        co_await t.write(kStatus, 1s);
        char b;
        co_await t.read_some(std::span<char>(&b, 1), 300ms);
    });
    CHECK(e.kind() == Kind::timeout);
    CHECK(std::string(e.what()).find("usb 1-5: read: no data within 300 ms") == 0);
    CHECK(elapsed_since(t0) >= 290ms);
    CHECK(elapsed_since(t0) < 2s);
    CHECK(t.is_open());  // a timeout is not a lost link
}

TEST_CASE("usb transport: a cancelled read gives its transfer back and the link carries on") {
    Printer p("cancel", "port=1-6 serial=T3");
    asio::io_context io;
    transport::UsbTransport t(io.get_executor(), p.port);
    run(io, [&]() -> asio::awaitable<void> { co_await t.open(2s); });
    // Nothing was asked, so nothing comes: the timer wins and `||` cancels the read.
    auto which = run(io, [&]() -> asio::awaitable<std::size_t> {
        char b;
        asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
        auto first = co_await (t.read_some(std::span<char>(&b, 1), 5s) || timer.async_wait(asio::use_awaitable));
        co_return first.index();
    });
    CHECK(which == 1);
    CHECK(run(io, [&] { return status(t); }) == 0x12);  // the next exchange is not confused
}

TEST_CASE("usb transport: unplugging fails a waiting read as closed, and the link reports it gone") {
    Printer p("unplug", "port=1-7 serial=T4 --stall");
    asio::io_context io;
    transport::UsbTransport t(io.get_executor(), p.port);
    run(io, [&]() -> asio::awaitable<void> { co_await t.open(2s); });
    CHECK_FALSE(t.peer_closed());
    auto e = transport_error(io, [&]() -> asio::awaitable<void> {
        co_await t.write(kStatus, 1s);
        asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
        co_await timer.async_wait(asio::use_awaitable);
        char b;
        auto read = t.read_some(std::span<char>(&b, 1), 5s);
        // Pull the plug while the read waits.
        timer.expires_after(100ms);
        auto pull = [&]() -> asio::awaitable<void> {
            co_await timer.async_wait(asio::use_awaitable);
            bench().remove("unplug");
        };
        co_await (std::move(read) && pull());
    });
    CHECK(e.kind() == Kind::closed);
    CHECK(std::string(e.what()).find("device disconnected") != std::string::npos);
    CHECK(t.peer_closed());
    auto again = transport_error(io, [&]() -> asio::awaitable<void> { co_await t.write(kStatus, 1s); });
    CHECK(again.kind() == Kind::closed);
}

TEST_CASE("usb transport: close() ends a waiting read as closed") {
    Printer p("close", "port=1-8 serial=T5 --stall");
    asio::io_context io;
    transport::UsbTransport t(io.get_executor(), p.port);
    run(io, [&]() -> asio::awaitable<void> { co_await t.open(2s); });
    auto e = transport_error(io, [&]() -> asio::awaitable<void> {
        char b;
        asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
        auto closer = [&]() -> asio::awaitable<void> {
            co_await timer.async_wait(asio::use_awaitable);
            t.close();
        };
        co_await (t.read_some(std::span<char>(&b, 1), 5s) && closer());
    });
    CHECK(e.kind() == Kind::closed);
    CHECK(std::string(e.what()).find("closed while waiting") != std::string::npos);
    CHECK_FALSE(t.is_open());
}

TEST_CASE("usb transport: opening an empty port or a device that is no printer fails, and says why") {
    bench();
    Printer gadget("gadget", "port=1-9 kind=other");
    asio::io_context io;
    transport::UsbTransport empty(io.get_executor(), "1-99");
    auto e = transport_error(io, [&]() -> asio::awaitable<void> { co_await empty.open(1s); });
    CHECK(e.kind() == Kind::closed);
    CHECK(std::string(e.what()) == "usb 1-99: no device in USB port 1-99");

    transport::UsbTransport other(io.get_executor(), gadget.port);
    auto e2 = transport_error(io, [&]() -> asio::awaitable<void> { co_await other.open(1s); });
    CHECK(e2.kind() == Kind::io);
    CHECK(std::string(e2.what()).find("1234:5678 has no printer-class interface") != std::string::npos);
    CHECK(bench().bytes_written("gadget") == 0);
}

TEST_CASE("usb transport: the factory makes a USB transport from a usb: address") {
    asio::io_context io;
    auto t = transport::make_transport(transport::parse_address("usb:3-1.2"), io.get_executor());
    CHECK(dynamic_cast<transport::UsbTransport*>(t.get()) != nullptr);
    CHECK(t->address() == "usb:3-1.2");
}
