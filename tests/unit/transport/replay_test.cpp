// ReplayTransport: serves a capture's reads, holds writes to the recorded bytes, throws
// recorded failures again, and says precisely where a driver departs from the capture.
#include <doctest/doctest.h>

#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>

#include "run_io.hpp"
#include "transport/replay.hpp"

using namespace certlab;
using namespace certlab::test;
using transport::ReplayTransport;

namespace {

// Lines: 1 magic, 2 address, 3 open, 4-5 a status exchange, 6 invoke marker,
// 7-8 a split write, 9 a read of 3 bytes, 10 a read timeout, 11 close.
constexpr std::string_view text =
    "# certlab capture v1\n"
    "# address: tcp:127.0.0.1:9100\n"
    "0.000000 @ open tcp:127.0.0.1:9100\n"
    "0.000100 > 10 04 01  |...|\n"
    "0.000200 < 16  |.|\n"
    "0.000300 @ invoke printer.status {}\n"
    "0.000400 > 1b 40  |.@|\n"
    "0.000410 > 41 42 43  |ABC|\n"
    "0.000500 < 31 32 33  |123|\n"
    "0.001500 ! read timeout tcp 127.0.0.1:9100: read: no data within 1 s\n"
    "0.002000 @ close\n";

struct Replay {
    boost::asio::io_context io;
    transport::Capture capture = transport::parse_capture(text, "t.capture");
    ReplayTransport t{capture};

    void open() {
        run(io, [&]() -> sdk::Task<void> { co_await t.open(1s); });
    }
    void write(std::string bytes) {
        run(io, [&, bytes]() -> sdk::Task<void> { co_await t.write(bytes, 1s); });
    }
    std::string read(std::size_t max) {
        return run(io, [&, max]() -> sdk::Task<std::string> {
            std::array<char, 64> buf{};
            auto n = co_await t.read_some(std::span<char>(buf.data(), max), 1s);
            co_return std::string(buf.data(), n);
        });
    }
    std::string failure(const std::function<void()>& f) {
        try {
            f();
        } catch (const sdk::TransportError& e) {
            return e.what();
        }
        return "no failure";
    }
};

}  // namespace

TEST_CASE("replay serves a whole capture to a driver doing what it did") {
    Replay r;
    CHECK(r.t.address() == "tcp:127.0.0.1:9100");
    CHECK_FALSE(r.t.is_open());
    r.open();
    CHECK(r.t.is_open());
    r.write(std::string("\x10\x04\x01", 3));
    CHECK(r.read(64) == "\x16");
    r.write("\x1b@AB");  // two recorded writes, any split of the bytes
    r.write("C");
    CHECK(r.read(2) == "12");  // a short buffer takes a recorded chunk in parts
    CHECK(r.read(64) == "3");
    auto e = transport_error(r.io, [&]() -> sdk::Task<void> {
        std::array<char, 4> buf{};
        (void)co_await r.t.read_some(buf, 1s);
    });
    CHECK(e.kind() == sdk::TransportError::Kind::timeout);
    CHECK(std::string(e.what()) == "tcp 127.0.0.1:9100: read: no data within 1 s");
    r.t.close();
    CHECK_FALSE(r.t.is_open());
    CHECK(r.t.unreplayed().empty());
    CHECK(r.t.written() == 8);
}

TEST_CASE("replay stops a write that differs, naming offset, line, expected and got") {
    Replay r;
    r.open();
    r.write(std::string("\x10\x04\x01", 3));
    CHECK(r.read(64) == "\x16");
    const auto what = r.failure([&] { r.write("\x1b@AXC"); });
    CHECK(what ==
          "replay: write differs from the capture at written-byte offset 6 (capture line 8, byte 1 of that record): "
          "expected 41 42 43, got 41 58 43");
}

TEST_CASE("replay says when a driver reads where it wrote, or writes where it read") {
    {
        Replay r;
        r.open();
        const auto what = r.failure([&] { (void)r.read(8); });
        CHECK(what == "replay: the driver reads, but the capture's next record (capture line 4) is a write of 10 04 01");
    }
    {
        Replay r;
        r.open();
        r.write("\x10\x04");
        const auto what = r.failure([&] { (void)r.read(8); });
        CHECK(what.find("is a write of 10 04 01, of which 2 byte(s) were written") != std::string::npos);
    }
    {
        Replay r;
        r.open();
        r.write(std::string("\x10\x04\x01", 3));
        const auto what = r.failure([&] { r.write("\x10"); });
        CHECK(what == "replay: the driver writes 10, but the capture's next record (capture line 5) is a read of 16");
    }
}

TEST_CASE("replay keeps a driver inside the operation it replays") {
    Replay r;
    // The status exchange alone: lines 3-5 are records 0-2; the invoke marker is record 3.
    r.t.window(0, 3);
    r.open();
    r.write(std::string("\x10\x04\x01", 3));
    CHECK(r.t.unreplayed() == "1 recorded exchange record(s) not replayed, the first at capture line 5: a read of 16");
    CHECK(r.read(64) == "\x16");
    CHECK(r.t.unreplayed().empty());
    const auto what = r.failure([&] { (void)r.read(8); });
    CHECK(what.find("replay: the driver reads, but the capture has no more input for this operation") == 0);
    const auto more = r.failure([&] { r.write("\x10"); });
    CHECK(more.find("replay: the driver writes 10, but the capture has no more writes for this operation") == 0);

    // The action: after its marker, up to the end.
    r.t.window(4, r.capture.records.size());
    r.write("\x1b@");
    // The rest of the write, the read, the timeout and the close were not replayed.
    CHECK(r.t.unreplayed().find("4 recorded exchange record(s) not replayed, the first at capture line 8") == 0);
}

TEST_CASE("replay throws recorded failures of open, write and a cancelled read") {
    boost::asio::io_context io;
    auto capture = transport::parse_capture(
        "# certlab capture v1\n"
        "0.1 @ open tcp:h:1\n"
        "0.2 ! open closed tcp h:1: connect: Connection refused\n"
        "0.3 @ open tcp:h:1\n"
        "0.4 > 41\n"
        "0.5 ! write closed tcp h:1: write: connection closed by peer (broken pipe)\n"
        "0.6 @ open tcp:h:1\n"
        "0.7 ! read cancelled Operation canceled\n");
    ReplayTransport t(capture);
    auto e = transport_error(io, [&]() -> sdk::Task<void> { co_await t.open(1s); });
    CHECK(e.kind() == sdk::TransportError::Kind::closed);
    CHECK(std::string(e.what()) == "tcp h:1: connect: Connection refused");
    CHECK_FALSE(t.is_open());

    run(io, [&]() -> sdk::Task<void> { co_await t.open(1s); });
    e = transport_error(io, [&]() -> sdk::Task<void> { co_await t.write("A", 1s); });
    CHECK(e.kind() == sdk::TransportError::Kind::closed);
    CHECK(std::string(e.what()).find("broken pipe") != std::string::npos);

    run(io, [&]() -> sdk::Task<void> { co_await t.open(1s); });
    bool aborted = false;
    try {
        run(io, [&]() -> sdk::Task<void> {
            std::array<char, 4> buf{};
            (void)co_await t.read_some(buf, 1s);
        });
    } catch (const boost::system::system_error& x) {
        aborted = x.code() == boost::asio::error::operation_aborted;
    }
    CHECK(aborted);
}

TEST_CASE("replay refuses to open where the capture does not") {
    Replay r;
    r.t.window(4, r.capture.records.size());
    const auto what = r.failure([&] { r.open(); });
    CHECK(what == "replay: the driver opens the link, but the capture's next record (capture line 7) is a write of 1b 40");
    const auto closed = r.failure([&] { r.write("x"); });
    CHECK(closed == "replay: write: the link is not open");
}
