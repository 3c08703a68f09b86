#include "exec/child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>

extern char** environ;

namespace certlab::exec {
namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

namespace {

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

/// An owned file descriptor (closed on every path out of spawn()).
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~Fd() { reset(); }
    [[nodiscard]] int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

struct Pipe {
    Fd read, write;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    return {Fd(fds[0]), Fd(fds[1])};
}

/// Only our ends are non-blocking: the child gets ordinary blocking stdio.
void set_non_blocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl O_NONBLOCK");
}

/// A child that dies leaves a pipe without a reader; writing to it must fail with
/// EPIPE rather than kill certlabd with SIGPIPE. Sockets in certlabd already send with
/// MSG_NOSIGNAL, so ignoring the signal process-wide changes nothing else; children
/// get default dispositions back (POSIX_SPAWN_SETSIGDEF).
void ignore_sigpipe() {
    static std::once_flag once;
    std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

/// Cancels a descriptor's pending operations when a deadline passes. A timer handler
/// that fires late (after disarm, or after the owner is gone) finds its token expired.
class Deadline {
public:
    explicit Deadline(const asio::any_io_executor& ex) : timer_(ex) {}
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    ~Deadline() { disarm(); }

    void arm(Clock::time_point at, Descriptor& d) {
        auto token = std::make_shared<bool>(false);
        token_ = token;
        timer_.expires_at(at);
        timer_.async_wait([weak = std::weak_ptr<bool>(token), &d](const boost::system::error_code& ec) {
            auto t = weak.lock();
            if (ec || !t) return;
            *t = true;
            boost::system::error_code ignored;
            d.cancel(ignored);
        });
    }

    /// Stops the clock; true when it ran out (and cancelled the descriptor).
    bool disarm() noexcept {
        try {
            timer_.cancel();  // so a finished wait leaves no pending work behind
        } catch (...) {
        }
        bool expired = token_ && *token_;
        token_.reset();
        return expired;
    }

private:
    asio::steady_timer timer_;
    std::shared_ptr<bool> token_;
};

/// Forwards the child's stderr line by line. Owns its descriptor and outlives the
/// ChildProcess if need be (shared with its coroutine); stop() ends it.
class StderrPump : public std::enable_shared_from_this<StderrPump> {
public:
    StderrPump(const asio::any_io_executor& ex, int fd, ChildProcess::LineSink sink)
        : fd_(ex, fd), sink_(std::move(sink)), last_refill_(Clock::now()) {}

    static void start(std::shared_ptr<StderrPump> self) {
        auto ex = self->fd_.get_executor();
        asio::co_spawn(ex, run(std::move(self)), asio::detached);
    }
    void stop() noexcept {
        boost::system::error_code ignored;
        fd_.close(ignored);
    }

private:
    static constexpr std::size_t max_line = 4096;  ///< longer lines are cut [bytes]
    static constexpr double burst = 200;           ///< lines let through at once
    static constexpr double rate = 50;             ///< lines per second after a burst

    static sdk::Task<void> run(std::shared_ptr<StderrPump> self) {
        std::array<char, 4096> chunk;
        for (;;) {
            auto [ec, n] = co_await self->fd_.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
            if (ec || n == 0) break;
            self->take(std::string_view(chunk.data(), n));
        }
        if (!self->partial_.empty()) self->emit(self->partial_);
        self->partial_.clear();
    }

    void take(std::string_view data) {
        partial_.append(data);
        std::size_t start = 0;
        for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
            emit(std::string_view(partial_).substr(start, nl - start));
            start = nl + 1;
        }
        partial_.erase(0, start);
        if (partial_.size() > max_line) {
            emit(partial_);
            partial_.clear();
        }
    }

    /// A child that floods stderr must not flood the daemon's log: a token bucket.
    void emit(std::string_view line) {
        auto now = Clock::now();
        tokens_ = std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - last_refill_).count());
        last_refill_ = now;
        if (tokens_ < 1) {
            ++dropped_;
            return;
        }
        tokens_ -= 1;
        if (dropped_) {
            sink_("(" + std::to_string(dropped_) + " stderr lines dropped: too many too fast)");
            dropped_ = 0;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > max_line) sink_(std::string(line.substr(0, max_line)) + " [cut]");
        else sink_(line);
    }

    Descriptor fd_;
    ChildProcess::LineSink sink_;
    std::string partial_;
    double tokens_ = burst;
    Clock::time_point last_refill_;
    std::size_t dropped_ = 0;
};

ExitStatus decode(int status) {
    if (WIFSIGNALED(status)) return {0, WTERMSIG(status)};
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0};
}

}  // namespace

std::string ExitStatus::describe() const {
    if (signal) {
        const char* name = sigabbrev_np(signal);
        return "killed by signal " + std::to_string(signal) + (name ? std::string(" (SIG") + name + ")" : "");
    }
    return "exited with status " + std::to_string(code);
}

struct ChildProcess::Impl {
    Descriptor in;     ///< our end of the child's stdin
    Descriptor out;    ///< our end of the child's stdout
    Descriptor pidfd;  ///< readable once the child has exited (closed when pidfds are unavailable)
    std::shared_ptr<StderrPump> err;
    std::string out_buffer;  ///< stdout bytes read but not yet returned as a line
};

ChildProcess::ChildProcess(const asio::any_io_executor& ex, pid_t pid) : ex_(ex), pid_(pid) {}

std::shared_ptr<ChildProcess> ChildProcess::spawn(const asio::any_io_executor& ex,
                                                  const std::vector<std::string>& argv, LineSink on_stderr) {
    if (argv.empty()) throw std::invalid_argument("exec: empty argv");
    ignore_sigpipe();
    Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
    // The child must not inherit the daemon's sockets, devices or database.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own process group, so a kill reaches whatever it started; a clean signal
    // state, whatever the daemon blocks or ignores.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "cannot start " + argv[0]);

    std::shared_ptr<ChildProcess> child(new ChildProcess(ex, pid));
    // From here the destructor kills and reaps the child if anything below throws.
    // The raw syscall: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++ callers. Without
    // pidfds (kernels before 5.3, valgrind) wait_exit() polls instead.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    set_non_blocking(in.write.get());
    set_non_blocking(out.read.get());
    set_non_blocking(err.read.get());
    child->impl_ = std::make_unique<Impl>(Impl{Descriptor(ex, in.write.release()), Descriptor(ex, out.read.release()),
                                               Descriptor(ex), nullptr, {}});
    if (pidfd.get() >= 0) child->impl_->pidfd.assign(pidfd.release());
    child->impl_->err = std::make_shared<StderrPump>(ex, err.read.release(), std::move(on_stderr));
    StderrPump::start(child->impl_->err);
    return child;  // the child's ends of the pipes close here, as `in`, `out`, `err` go
}

ChildProcess::~ChildProcess() {
    kill_now();
    if (impl_ && impl_->err) impl_->err->stop();
}

sdk::Task<ChildProcess::Io> ChildProcess::write(std::string_view data, Clock::time_point deadline) {
    if (!impl_->in.is_open()) co_return Io::closed;
    Deadline clock(ex_);
    clock.arm(deadline, impl_->in);
    auto [ec, n] = co_await asio::async_write(impl_->in, asio::buffer(data.data(), data.size()),
                                              asio::as_tuple(asio::use_awaitable));
    const bool expired = clock.disarm();
    if (!ec) co_return Io::ok;
    if (expired) co_return Io::timeout;
    if (ec == asio::error::operation_aborted) co_return Io::aborted;
    co_return Io::closed;  // EPIPE: the child closed its stdin or exited
}

sdk::Task<ChildProcess::Io> ChildProcess::read_line(std::string& line, std::size_t max_size,
                                                    Clock::time_point deadline) {
    auto& buf = impl_->out_buffer;
    std::array<char, 4096> chunk;
    for (;;) {
        if (auto nl = buf.find('\n'); nl != std::string::npos) {
            line.assign(buf, 0, nl);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            buf.erase(0, nl + 1);
            co_return Io::ok;
        }
        if (buf.size() > max_size) co_return Io::too_long;
        if (!impl_->out.is_open()) co_return Io::closed;
        Deadline clock(ex_);
        clock.arm(deadline, impl_->out);
        auto [ec, n] = co_await impl_->out.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
        const bool expired = clock.disarm();
        if (expired) co_return Io::timeout;
        if (ec == asio::error::operation_aborted) co_return Io::aborted;
        if (ec || n == 0) co_return Io::closed;  // end of file: the child closed stdout or died
        buf.append(chunk.data(), n);
    }
}

void ChildProcess::cancel_io() noexcept {
    boost::system::error_code ignored;
    if (!impl_) return;
    impl_->in.cancel(ignored);
    impl_->out.cancel(ignored);
}

void ChildProcess::close_stdin() noexcept {
    boost::system::error_code ignored;
    if (impl_) impl_->in.close(ignored);
}

bool ChildProcess::try_reap() noexcept {
    if (status_) return true;
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid_, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid_) status_ = decode(st);
    else if (r < 0) status_ = ExitStatus{-1, 0};  // ECHILD: reaped elsewhere; nothing left to wait for
    return status_.has_value();
}

void ChildProcess::signal_group(int sig) noexcept {
    // Only while unreaped: until then neither the pid nor the group id can be reused.
    if (status_) return;
    if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);  // it may have left its group
}

sdk::Task<std::optional<ExitStatus>> ChildProcess::wait_exit(Clock::time_point deadline) {
    while (!try_reap()) {
        if (Clock::now() >= deadline) co_return std::nullopt;
        if (!impl_->pidfd.is_open()) {
            asio::steady_timer poll(ex_, std::min(deadline, Clock::now() + std::chrono::milliseconds(10)));
            co_await poll.async_wait(asio::use_awaitable);
            continue;
        }
        // Checked before each wait: the pidfd signals only the change, not the state.
        Deadline clock(ex_);
        clock.arm(deadline, impl_->pidfd);
        auto [ec] = co_await impl_->pidfd.async_wait(Descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
        const bool expired = clock.disarm();
        // Only the deadline and the caller's cancellation abort a wait on the pidfd.
        if (ec == asio::error::operation_aborted && !expired) throw boost::system::system_error(ec);
        if (expired) {
            if (try_reap()) break;
            co_return std::nullopt;
        }
    }
    co_return status_;
}

sdk::Task<ExitStatus> ChildProcess::stop(Clock::duration grace, int first_signal) {
    close_stdin();
    if (!try_reap()) {
        if (first_signal) signal_group(first_signal);
        auto exited = co_await wait_exit(Clock::now() + grace);
        if (!exited) {
            signal_group(SIGKILL);
            // SIGKILL cannot be caught; a short wait covers the kernel tearing it down.
            exited = co_await wait_exit(Clock::now() + std::chrono::seconds(2));
            if (!exited) kill_now();
        }
    }
    co_return *status_;
}

void ChildProcess::kill_now() noexcept {
    if (status_) return;
    signal_group(SIGKILL);
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid_, &st, 0);  // returns promptly: SIGKILL cannot be caught or ignored
    while (r < 0 && errno == EINTR);
    status_ = r == pid_ ? decode(st) : ExitStatus{-1, 0};
}

}  // namespace certlab::exec
