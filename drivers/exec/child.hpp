// A driver child process: started from an argv (never through a shell), spoken to
// over non-blocking pipes with deadlines, its stderr forwarded line by line, and
// always reaped. Private to drivers/exec.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/task.hpp"

namespace certlab::exec {

using Clock = std::chrono::steady_clock;

/// How a child ended, as waitpid(2) told.
struct ExitStatus {
    int code = 0;    ///< exit status when it exited
    int signal = 0;  ///< the signal that ended it (0 when it exited)

    /// "exited with status 3", "killed by signal 9 (SIGKILL)".
    [[nodiscard]] std::string describe() const;
};

class ChildProcess {
public:
    using LineSink = std::function<void(std::string_view line)>;

    /// Starts `argv` (argv[0] is looked up in PATH when it has no slash) in its own
    /// process group, with stdin and stdout on pipes and every other descriptor closed.
    /// Each stderr line goes to `on_stderr` (rate-limited). Throws std::system_error.
    static std::shared_ptr<ChildProcess> spawn(const boost::asio::any_io_executor& ex,
                                               const std::vector<std::string>& argv, LineSink on_stderr);
    /// Kills (SIGKILL, whole process group) and reaps a child that is still running.
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const boost::asio::any_io_executor& executor() const { return ex_; }

    enum class Io {
        ok,
        timeout,   ///< the deadline passed
        closed,    ///< the child closed its end (or exited)
        aborted,   ///< cancelled: by cancel_io(), or the calling coroutine was cancelled
        too_long,  ///< read_line: no newline within the size limit
    };

    /// Writes all of `data` to the child's stdin before `deadline`.
    sdk::Task<Io> write(std::string_view data, Clock::time_point deadline);
    /// Reads one line from the child's stdout (newline stripped) into `line`.
    sdk::Task<Io> read_line(std::string& line, std::size_t max_size, Clock::time_point deadline);
    /// Aborts a pending read or write (they return Io::aborted).
    void cancel_io() noexcept;
    /// End of input for the child: a well-behaved driver exits.
    void close_stdin() noexcept;

    /// Waits until the child exits or `deadline` passes; reaps it when it exited.
    sdk::Task<std::optional<ExitStatus>> wait_exit(Clock::time_point deadline);
    /// Ends the child: stdin closed (end of input), then `first_signal` unless it is 0,
    /// up to `grace` to exit, then SIGKILL. Reaped on return.
    sdk::Task<ExitStatus> stop(Clock::duration grace, int first_signal);
    /// SIGKILL and a blocking reap, for paths that cannot wait (destructor, cancellation).
    void kill_now() noexcept;
    /// Set once the child has been reaped.
    [[nodiscard]] const std::optional<ExitStatus>& exit_status() const { return status_; }
    /// False once the child has exited (it is reaped then); never blocks.
    [[nodiscard]] bool running() noexcept { return !try_reap(); }

private:
    struct Impl;
    ChildProcess(const boost::asio::any_io_executor& ex, pid_t pid);
    /// Reaps without blocking; true once reaped.
    bool try_reap() noexcept;
    void signal_group(int sig) noexcept;

    boost::asio::any_io_executor ex_;
    pid_t pid_;
    std::optional<ExitStatus> status_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace certlab::exec
