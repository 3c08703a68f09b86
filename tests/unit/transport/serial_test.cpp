#include "transport/serial.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <climits>
#include <cstdio>
#include <string>

#include "sdk/error.hpp"
#include "transport/factory.hpp"
#include "unit/transport/run_io.hpp"

using namespace certlab;
using namespace certlab::test;
using transport::SerialOptions;
using transport::SerialTransport;
using Kind = sdk::TransportError::Kind;
using boost::asio::awaitable;

namespace {

/// A pseudo-terminal pair. The test plays the device on the master side; the
/// transport opens the slave by name, as it would /dev/ttyUSB0.
struct Pty {
    int master = -1;
    int slave = -1;  ///< kept open to read the line settings back with tcgetattr
    std::string path;

    Pty() {
        std::array<char, PATH_MAX> name{};
        REQUIRE(::openpty(&master, &slave, name.data(), nullptr, nullptr) == 0);
        path = name.data();
    }
    ~Pty() {
        close_master();
        if (slave >= 0) ::close(slave);
    }
    void close_master() {
        if (master >= 0) ::close(master);
        master = -1;
    }
    void device_sends(std::string_view bytes) const {
        REQUIRE(::write(master, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    }
    /// What the transport wrote, read from the master until `n` bytes or 2 s.
    [[nodiscard]] std::string device_receives(std::size_t n) const {
        std::string out;
        const auto give_up = Clock::now() + 2s;
        while (out.size() < n && Clock::now() < give_up) {
            pollfd p{master, POLLIN, 0};
            if (::poll(&p, 1, 100) != 1) continue;
            std::array<char, 256> buf;
            ssize_t got = ::read(master, buf.data(), std::min(buf.size(), n - out.size()));
            if (got > 0) out.append(buf.data(), static_cast<std::size_t>(got));
        }
        return out;
    }
    /// Waits until bytes sent by the "device" are readable on the slave side.
    [[nodiscard]] bool slave_readable() const {
        pollfd p{slave, POLLIN, 0};
        return ::poll(&p, 1, 2000) == 1;
    }
    [[nodiscard]] termios line_settings() const {
        termios t{};
        REQUIRE(::tcgetattr(slave, &t) == 0);
        return t;
    }
};

/// Whether this kernel keeps data bits and parity on a pty (current Linux forces
/// CS8 and no parity there), measured by setting 7E1 directly on a fresh pair.
bool pty_keeps_framing() {
    Pty probe;
    termios t = probe.line_settings();
    t.c_cflag = (t.c_cflag & ~CSIZE) | CS7 | PARENB;
    if (::tcsetattr(probe.slave, TCSANOW, &t) != 0) return false;  // EINVAL: refused
    const termios got = probe.line_settings();
    return (got.c_cflag & (CSIZE | PARENB)) == (CS7 | PARENB);
}

awaitable<std::string> read_text(sdk::Transport& t, sdk::Duration timeout) {
    std::array<char, 64> buf;
    std::size_t n = co_await t.read_some(buf, timeout);
    co_return std::string(buf.data(), n);
}

}  // namespace

TEST_CASE("transport: serial write and read over a pty") {
    boost::asio::io_context ioc;
    Pty pty;
    SerialTransport port(ioc.get_executor(), pty.path);
    CHECK(port.address() == "serial:" + pty.path);
    CHECK_FALSE(port.is_open());

    run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
    REQUIRE(port.is_open());

    run(ioc, [&]() -> awaitable<void> { co_await port.write("PING\r\n", 1s); });
    CHECK(pty.device_receives(6) == "PING\r\n");  // raw mode: no CR/LF translation

    pty.device_sends("PONG\n");
    CHECK(run(ioc, [&] { return read_text(port, 1s); }) == "PONG\n");

    // Through the sdk::Stream that drivers use, including a reply split across reads.
    sdk::Stream stream(port);
    pty.device_sends("12.5 k");
    std::string line = run(ioc, [&]() -> awaitable<std::string> {
        co_await sleep_for(20ms);
        pty.device_sends("g\r\n");
        co_return co_await stream.read_until("\r\n", 64, 1s);
    });
    CHECK(line == "12.5 kg\r\n");

    port.close();
    CHECK_FALSE(port.is_open());
    auto e = transport_error(ioc, [&] { return read_text(port, 1s); });
    CHECK(e.kind() == Kind::closed);
}

TEST_CASE("transport: serial read timeout fires within bounds and the port stays usable") {
    boost::asio::io_context ioc;
    Pty pty;
    SerialTransport port(ioc.get_executor(), pty.path);
    run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });

    const auto start = Clock::now();
    auto e = transport_error(ioc, [&] { return read_text(port, 200ms); });
    const auto took = elapsed_since(start);
    CHECK(e.kind() == Kind::timeout);
    CHECK(std::string(e.what()) == "serial " + pty.path + ": read: no data within 200 ms");
    CHECK(took >= 190ms);
    CHECK(took < 2s);

    // The expired timer cancelled the wait, not the descriptor.
    pty.device_sends("late");
    CHECK(run(ioc, [&] { return read_text(port, 1s); }) == "late");

    // Many short timeouts in a row: a stale timer handler must never hit a later read.
    for (int i = 0; i < 20; ++i) {
        auto again = transport_error(ioc, [&] { return read_text(port, 1ms); });
        CHECK(again.kind() == Kind::timeout);
        pty.device_sends("x");
        CHECK(run(ioc, [&] { return read_text(port, 1s); }) == "x");
    }
}

TEST_CASE("transport: serial hangup when the pty master closes") {
    boost::asio::io_context ioc;

    SUBCASE("while a read is waiting") {
        Pty pty;
        SerialTransport port(ioc.get_executor(), pty.path);
        run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        const auto start = Clock::now();
        auto e = transport_error(ioc, [&]() -> awaitable<std::string> {
            boost::asio::steady_timer unplug(co_await boost::asio::this_coro::executor, 50ms);
            unplug.async_wait([&](auto) { pty.close_master(); });
            co_return co_await read_text(port, 5s);
        });
        CHECK(e.kind() == Kind::closed);
        CHECK(std::string(e.what()).starts_with("serial " + pty.path + ": device disconnected"));
        CHECK(elapsed_since(start) < 2s);  // noticed at once, not at the deadline
    }
    SUBCASE("before a write") {
        Pty pty;
        SerialTransport port(ioc.get_executor(), pty.path);
        run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        pty.close_master();
        auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await port.write("x", 1s); });
        CHECK(e.kind() == Kind::closed);
        CHECK(std::string(e.what()) == "serial " + pty.path + ": device disconnected (EIO)");
    }
}

TEST_CASE("transport: serial line settings are applied to the tty") {
    boost::asio::io_context ioc;
    Pty pty;

    SUBCASE("19200 7E2, RTS/CTS, via address and factory") {
        auto a = transport::parse_address("serial:" + pty.path +
                                          "?baud=19200&parity=even&data_bits=7&stop_bits=2&flow=rtscts");
        auto port = transport::make_transport(a, ioc.get_executor());
        CHECK(port->address() == a.text);
        run(ioc, [&]() -> awaitable<void> { co_await port->open(1s); });
        const termios t = pty.line_settings();
        CHECK(cfgetospeed(&t) == B19200);
        CHECK(cfgetispeed(&t) == B19200);
        if (pty_keeps_framing()) {
            CHECK((t.c_cflag & CSIZE) == CS7);
            CHECK((t.c_cflag & PARENB) != 0);
        }
        CHECK((t.c_cflag & PARODD) == 0);
        CHECK((t.c_cflag & CSTOPB) != 0);
        CHECK((t.c_cflag & CRTSCTS) != 0);
        CHECK((t.c_iflag & (IXON | IXOFF)) == 0);
        CHECK((t.c_iflag & INPCK) != 0);
        // raw: no echo, no line editing, no output processing
        CHECK((t.c_lflag & (ICANON | ECHO | ISIG)) == 0);
        CHECK((t.c_oflag & OPOST) == 0);
        CHECK((t.c_cflag & (CLOCAL | CREAD)) == (CLOCAL | CREAD));
        CHECK(t.c_cc[VTIME] == 0);
    }
    SUBCASE("115200 8O1, XON/XOFF") {
        SerialOptions o;
        o.baud = 115200;
        o.parity = SerialOptions::Parity::odd;
        o.flow = SerialOptions::Flow::xonxoff;
        SerialTransport port(ioc.get_executor(), pty.path, o);
        run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        const termios t = pty.line_settings();
        CHECK(cfgetospeed(&t) == B115200);
        CHECK((t.c_cflag & CSIZE) == CS8);
        if (pty_keeps_framing()) CHECK((t.c_cflag & (PARENB | PARODD)) == (PARENB | PARODD));
        CHECK((t.c_iflag & INPCK) != 0);  // parity checking follows the parity setting
        CHECK((t.c_cflag & CSTOPB) == 0);
        CHECK((t.c_cflag & CRTSCTS) == 0);
        CHECK((t.c_iflag & (IXON | IXOFF)) == (IXON | IXOFF));
    }
    SUBCASE("the same 7E1 settings twice: nothing left to change is not an error") {
        SerialOptions o;
        o.data_bits = 7;
        o.parity = SerialOptions::Parity::even;
        for (int i = 0; i < 2; ++i) {
            SerialTransport port(ioc.get_executor(), pty.path, o);
            run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
            CHECK(port.is_open());
        }
    }
    SUBCASE("reopening with defaults clears earlier settings") {
        // The tty keeps its termios between opens; a stale parity must not survive.
        SerialOptions odd;
        odd.parity = SerialOptions::Parity::odd;
        odd.stop_bits = 2;
        odd.flow = SerialOptions::Flow::rtscts;
        {
            SerialTransport first(ioc.get_executor(), pty.path, odd);
            run(ioc, [&]() -> awaitable<void> { co_await first.open(1s); });
        }
        SerialTransport port(ioc.get_executor(), pty.path);
        run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        const termios t = pty.line_settings();
        CHECK(cfgetospeed(&t) == B9600);
        CHECK((t.c_cflag & (PARENB | CSTOPB | CRTSCTS)) == 0);
        CHECK((t.c_iflag & INPCK) == 0);
    }
}

TEST_CASE("transport: serial discard_input drops bytes received but not read") {
    boost::asio::io_context ioc;
    Pty pty;
    SerialTransport port(ioc.get_executor(), pty.path);
    run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });

    pty.device_sends("stale status");
    REQUIRE(pty.slave_readable());
    port.discard_input();
    pty.device_sends("fresh");
    CHECK(run(ioc, [&] { return read_text(port, 1s); }) == "fresh");
}

TEST_CASE("transport: serial open failures carry the path and the reason") {
    boost::asio::io_context ioc;

    SUBCASE("missing device") {
        SerialTransport port(ioc.get_executor(), "/dev/certlab-no-such-tty");
        auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        CHECK(e.kind() == Kind::io);
        CHECK(std::string(e.what()) ==
              "serial /dev/certlab-no-such-tty: open: No such file or directory");
        CHECK_FALSE(port.is_open());
    }
    SUBCASE("not a terminal") {
        char name[] = "/tmp/certlab-serial-XXXXXX";
        int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        ::close(fd);
        SerialTransport port(ioc.get_executor(), name);
        CHECK_THROWS_WITH_AS(run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); }),
                             doctest::Contains("not a terminal device"), sdk::ConfigError);
        CHECK_FALSE(port.is_open());
        ::unlink(name);
    }
    SUBCASE("already in use by another transport") {
        Pty pty;
        SerialTransport first(ioc.get_executor(), pty.path);
        SerialTransport second(ioc.get_executor(), pty.path);
        run(ioc, [&]() -> awaitable<void> { co_await first.open(1s); });
        auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await second.open(1s); });
        CHECK(e.kind() == Kind::io);
        CHECK(std::string(e.what()).find("in use by another process") != std::string::npos);
        first.close();  // releases the lock
        run(ioc, [&]() -> awaitable<void> { co_await second.open(1s); });
        CHECK(second.is_open());
    }
    SUBCASE("options that no tty accepts") {
        Pty pty;
        SerialOptions o;
        o.baud = 12345;  // only reachable when options are built in code
        SerialTransport port(ioc.get_executor(), pty.path, o);
        CHECK_THROWS_AS(run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); }),
                        sdk::ConfigError);
        CHECK_FALSE(port.is_open());
    }
}

TEST_CASE("transport: serial write times out when the device never reads") {
    boost::asio::io_context ioc;
    Pty pty;
    SerialTransport port(ioc.get_executor(), pty.path);
    run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });

    const std::string big(1 << 20, 'A');  // far more than the pty buffers hold
    const auto start = Clock::now();
    auto e = transport_error(ioc, [&]() -> awaitable<void> { co_await port.write(big, 200ms); });
    CHECK(e.kind() == Kind::timeout);
    CHECK(std::string(e.what()).find("of 1048576 bytes within 200 ms") != std::string::npos);
    CHECK(elapsed_since(start) < 2s);
}

TEST_CASE("transport: serial reader and writer wait with separate deadlines") {
    // The writer's deadline cancels every wait on the descriptor; the reader, whose
    // own deadline has not passed, must keep waiting and still get its data.
    boost::asio::io_context ioc;
    Pty pty;
    SerialTransport port(ioc.get_executor(), pty.path);
    run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });

    std::string got;
    std::exception_ptr reader_error;
    boost::asio::co_spawn(ioc, [&]() -> awaitable<void> { got = co_await read_text(port, 5s); },
                          [&](std::exception_ptr e) { reader_error = e; });
    const std::string big(1 << 20, 'A');
    auto e = transport_error(ioc, [&]() -> awaitable<void> {
        co_await port.write(big, 100ms);
    });
    CHECK(e.kind() == Kind::timeout);
    CHECK(got.empty());

    pty.device_sends("still here");
    ioc.restart();
    ioc.run_for(5s);
    CHECK_FALSE(reader_error);
    CHECK(got == "still here");
}

TEST_CASE("transport: serial read abandoned by io_context stop, close or cancellation") {
    SUBCASE("io_context stopped and destroyed mid-read frees the coroutine") {
        bool frame_destroyed = false;
        bool completed = false;
        Pty pty;
        {
            boost::asio::io_context ioc;
            SerialTransport port(ioc.get_executor(), pty.path);
            run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
            boost::asio::co_spawn(
                ioc,
                [&]() -> awaitable<void> {
                    FrameSentinel sentinel{&frame_destroyed};
                    co_await read_text(port, 10s);
                },
                [&](std::exception_ptr) { completed = true; });
            ioc.restart();
            ioc.run_for(50ms);
            ioc.stop();
            CHECK_FALSE(frame_destroyed);
            // The transport goes first (declared later), then the io_context, which
            // destroys the suspended coroutine without resuming it.
        }
        CHECK(frame_destroyed);
        CHECK_FALSE(completed);
    }
    SUBCASE("close() while a read waits ends it as closed") {
        boost::asio::io_context ioc;
        Pty pty;
        SerialTransport port(ioc.get_executor(), pty.path);
        run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        auto e = transport_error(ioc, [&]() -> awaitable<std::string> {
            boost::asio::steady_timer later(co_await boost::asio::this_coro::executor, 30ms);
            later.async_wait([&](auto) { port.close(); });
            co_return co_await read_text(port, 5s);
        });
        CHECK(e.kind() == Kind::closed);
        CHECK(std::string(e.what()).find("closed while waiting") != std::string::npos);
    }
    SUBCASE("cancelling the coroutine propagates operation_aborted") {
        boost::asio::io_context ioc;
        Pty pty;
        SerialTransport port(ioc.get_executor(), pty.path);
        run(ioc, [&]() -> awaitable<void> { co_await port.open(1s); });
        boost::asio::cancellation_signal cancel;
        std::exception_ptr error;
        bool completed = false;
        boost::asio::co_spawn(ioc, read_text(port, 5s),
                              boost::asio::bind_cancellation_slot(
                                  cancel.slot(), [&](std::exception_ptr e, std::string) {
                                      completed = true;
                                      error = e;
                                  }));
        ioc.restart();
        ioc.run_for(30ms);
        cancel.emit(boost::asio::cancellation_type::terminal);
        ioc.run_for(1s);
        REQUIRE(completed);
        REQUIRE(error);
        try {
            std::rethrow_exception(error);
        } catch (const boost::system::system_error& se) {
            CHECK(se.code() == boost::asio::error::operation_aborted);
        } catch (...) {
            FAIL("expected system_error(operation_aborted)");
        }
        // The port itself is fine afterwards.
        CHECK(port.is_open());
        pty.device_sends("ok");
        CHECK(run(ioc, [&] { return read_text(port, 1s); }) == "ok");
    }
}
