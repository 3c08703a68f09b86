#include "transport/serial.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>

#include "sdk/error.hpp"
#include "transport/io_wait.hpp"

namespace certlab::transport {
namespace {

using sdk::TransportError;
using Kind = TransportError::Kind;
using detail::Clock;
using detail::Ready;

/// Owns a raw fd until it is handed to the stream_descriptor.
class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

speed_t speed_constant(unsigned baud) {
    switch (baud) {
        case 1200: return B1200;
        case 2400: return B2400;
        case 4800: return B4800;
        case 9600: return B9600;
        case 19200: return B19200;
        case 38400: return B38400;
        case 57600: return B57600;
        case 115200: return B115200;
        case 230400: return B230400;
        case 460800: return B460800;
        case 921600: return B921600;
    }
    // SerialOptions built in code rather than parsed can still hold anything.
    throw sdk::ConfigError("baud: " + std::to_string(baud) + " is not a standard rate");
}

tcflag_t size_flag(int data_bits) {
    switch (data_bits) {
        case 5: return CS5;
        case 6: return CS6;
        case 7: return CS7;
        case 8: return CS8;
    }
    throw sdk::ConfigError("data_bits: expected 5, 6, 7 or 8, got " + std::to_string(data_bits));
}

/// Raw mode plus the line settings. VMIN=1/VTIME=0 rather than VMIN=0: on an
/// O_NONBLOCK fd both never block, but with VMIN=0 Linux returns 0 for "no data",
/// which would be indistinguishable from a hangup; with VMIN=1 it returns EAGAIN.
termios make_termios(termios t, const SerialOptions& o) {
    cfmakeraw(&t);
    t.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= CLOCAL | CREAD | size_flag(o.data_bits);  // CLOCAL: no carrier needed
    t.c_iflag &= ~(IXON | IXOFF | IXANY | INPCK);
    if (o.parity != SerialOptions::Parity::none) {
        t.c_cflag |= PARENB;
        t.c_iflag |= INPCK;
        if (o.parity == SerialOptions::Parity::odd) t.c_cflag |= PARODD;
    }
    if (o.stop_bits == 2) t.c_cflag |= CSTOPB;
    if (o.flow == SerialOptions::Flow::rtscts) t.c_cflag |= CRTSCTS;
    if (o.flow == SerialOptions::Flow::xonxoff) t.c_iflag |= IXON | IXOFF;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    const speed_t speed = speed_constant(o.baud);
    cfsetispeed(&t, speed);
    cfsetospeed(&t, speed);
    return t;
}

/// Pseudo-terminal slaves carry bytes, not bits: Linux forces CS8 and clears PARENB
/// on them, so their framing cannot be read back. A simulator on a pty must still
/// accept the line settings configured for the real device.
bool is_pty(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) return false;
    const unsigned m = major(st.st_rdev);
    return m >= 136 && m <= 143;  // UNIX98_PTY_SLAVE_MAJOR .. + UNIX98_PTY_MAJOR_COUNT - 1
}

}  // namespace

struct SerialTransport::Impl {
    Impl(boost::asio::any_io_executor ex, std::string p, SerialOptions o, std::string a)
        : path(std::move(p)),
          address(a.empty() ? "serial:" + path : std::move(a)),
          label("serial " + path),
          options(o),
          fd(ex),
          read_deadline(ex),
          write_deadline(ex) {}

    [[noreturn]] void fail(Kind kind, const std::string& what) const {
        throw TransportError(kind, label + ": " + what);
    }
    [[noreturn]] void fail_errno(const char* op, int err) const {
        if (err == EIO) fail(Kind::closed, "device disconnected (EIO)");
        fail(Kind::io, std::string(op) + ": " + std::strerror(err));
    }
    void require_open(const char* op) const {
        if (!fd.is_open()) fail(Kind::closed, std::string(op) + ": port is not open");
    }
    void configure(int raw) const;

    std::string path;
    std::string address;
    std::string label;  ///< "serial /dev/ttyUSB0", the prefix of every message
    SerialOptions options;
    boost::asio::posix::stream_descriptor fd;
    detail::Deadline read_deadline;   ///< separate per direction, so a reader and a
    detail::Deadline write_deadline;  ///< writer may wait at the same time
};

void SerialTransport::Impl::configure(int raw) const {
    termios current{};
    if (::tcgetattr(raw, &current) != 0) {
        int err = errno;
        if (err == ENOTTY)
            throw sdk::ConfigError(label + ": not a terminal device (tcgetattr: " +
                                   std::strerror(err) + ")");
        fail_errno("tcgetattr", err);
    }
    const termios wanted = make_termios(current, options);
    // tcsetattr succeeds if *any* change was applied, and fails with EINVAL when the
    // driver refused all of them (a pty asked for 7E1 again): either way, what counts
    // is what the driver kept, so read it back.
    if (::tcsetattr(raw, TCSANOW, &wanted) != 0 && errno != EINVAL) fail_errno("tcsetattr", errno);
    termios got{};
    if (::tcgetattr(raw, &got) != 0) fail_errno("tcgetattr", errno);
    if (cfgetospeed(&got) != cfgetospeed(&wanted))
        fail(Kind::io, "device does not support baud " + std::to_string(options.baud));
    constexpr tcflag_t line_bits = CSIZE | PARENB | PARODD | CSTOPB;
    if ((got.c_cflag & line_bits) != (wanted.c_cflag & line_bits) && !is_pty(raw))
        fail(Kind::io, "device does not support the requested data bits/parity/stop bits");
}

SerialTransport::SerialTransport(boost::asio::any_io_executor ex, std::string path,
                                 SerialOptions options, std::string address)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(path), options, std::move(address))) {}

SerialTransport::~SerialTransport() = default;

const std::string& SerialTransport::address() const { return impl_->address; }
const std::string& SerialTransport::path() const noexcept { return impl_->path; }
const SerialOptions& SerialTransport::options() const noexcept { return impl_->options; }
bool SerialTransport::is_open() const noexcept { return impl_->fd.is_open(); }

bool SerialTransport::peer_closed() noexcept {
    if (!impl_->fd.is_open()) return false;
    // A pty whose master closed, or a USB adapter unplugged, reports POLLHUP/POLLERR.
    pollfd p{impl_->fd.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

sdk::Task<void> SerialTransport::open(sdk::Duration /*timeout*/) {
    Impl& s = *impl_;
    close();
    UniqueFd raw(::open(s.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (raw.get() < 0) {
        int err = errno;
        s.fail(Kind::io, std::string("open: ") + std::strerror(err));
    }
    if (::flock(raw.get(), LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) s.fail(Kind::io, "port is in use by another process (flock)");
        s.fail_errno("flock", err);
    }
    s.configure(raw.get());
    ::tcflush(raw.get(), TCIFLUSH);  // bytes from before we opened belong to nobody
    boost::system::error_code ec;
    s.fd.assign(raw.get(), ec);
    if (ec) s.fail(Kind::io, "register with the event loop: " + ec.message());
    raw.release();
    co_return;
}

void SerialTransport::close() noexcept {
    boost::system::error_code ignored;
    impl_->fd.close(ignored);  // pending waits complete with operation_aborted
}

void SerialTransport::discard_input() noexcept {
    if (impl_->fd.is_open()) ::tcflush(impl_->fd.native_handle(), TCIFLUSH);
}

// Fast path: a direct non-blocking read(); only when it would block do we arm the
// deadline and wait for readiness, so a ready byte costs one syscall.
sdk::Task<std::size_t> SerialTransport::read_some(std::span<char> buf, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("read");
    if (buf.empty()) co_return 0;
    const auto until = Clock::now() + timeout;
    for (;;) {
        const ssize_t n = ::read(s.fd.native_handle(), buf.data(), buf.size());
        if (n > 0) co_return static_cast<std::size_t>(n);
        if (n == 0) s.fail(Kind::closed, "device disconnected (hangup)");
        const int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN) s.fail_errno("read", err);
        auto r = co_await detail::wait_ready(s.fd, s.read_deadline,
                                             boost::asio::posix::descriptor_base::wait_read, until);
        if (r.state == Ready::timeout) s.fail(Kind::timeout, "read: no data within " + detail::describe(timeout));
        if (r.state == Ready::closed) s.fail(Kind::closed, "read: port closed while waiting");
        if (r.state == Ready::failed) s.fail(Kind::io, "read: wait: " + r.ec.message());
    }
}

sdk::Task<void> SerialTransport::write(std::string_view data, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("write");
    const auto until = Clock::now() + timeout;
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(s.fd.native_handle(), data.data() + done, data.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        const int err = n < 0 ? errno : EAGAIN;  // 0 written: treat as "full", wait
        if (err == EINTR) continue;
        if (err != EAGAIN) s.fail_errno("write", err);
        auto r = co_await detail::wait_ready(s.fd, s.write_deadline,
                                             boost::asio::posix::descriptor_base::wait_write, until);
        if (r.state == Ready::timeout)
            s.fail(Kind::timeout, "write: sent " + std::to_string(done) + " of " +
                                      std::to_string(data.size()) + " bytes within " +
                                      detail::describe(timeout) + " (device not accepting data)");
        if (r.state == Ready::closed) s.fail(Kind::closed, "write: port closed while waiting");
        if (r.state == Ready::failed) s.fail(Kind::io, "write: wait: " + r.ec.message());
    }
}

}  // namespace certlab::transport
