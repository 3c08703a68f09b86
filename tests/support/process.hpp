// Child processes for integration tests: started with an argv (never a shell),
// stdout captured line by line, killed and reaped when the handle goes away.
#pragma once

#include <sys/types.h>

#include <time.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certlab::test {

using namespace std::chrono_literals;

class Process {
public:
    /// Starts argv[0] with the given arguments. stdout is captured; stderr goes to
    /// `stderr_file` when given (so a failing test can show the daemon's log).
    static Process start(std::vector<std::string> argv, std::filesystem::path stderr_file = {});
    struct Options {
        std::filesystem::path stderr_file;  ///< as above; empty: the test's stderr
        bool stdin_pipe = false;            ///< stdin is a pipe for write_stdin(), else /dev/null
    };
    static Process start(std::vector<std::string> argv, Options options);
    Process() = default;  ///< no process yet
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    ~Process();

    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Next line of stdout, or nullopt on timeout or end of output.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    /// Everything written to stdout until the process closes it or the timeout passes.
    std::string read_all(std::chrono::milliseconds timeout);
    void signal(int sig);
    /// Writes to the child's stdin (started with stdin_pipe); false when it is gone.
    bool write_stdin(std::string_view text);
    /// Exit status (or 128 + signal) once it ends; nullopt if still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    [[nodiscard]] bool running();

private:
    void reset() noexcept;
    pid_t pid_ = -1;
    int out_fd_ = -1;
    int in_fd_ = -1;
    std::string buffer_;
    std::optional<int> status_;
};

/// Runs a command to completion (bounded), returning exit status and stdout.
struct RunResult {
    int status = -1;
    std::string out;
};
RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 60s,
              std::filesystem::path stderr_file = {});

/// A fresh directory under /tmp, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// Polls `pred` every 10 ms until it holds or `timeout` passes.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (pred()) return true;
        struct timespec ts{0, 10'000'000};
        nanosleep(&ts, nullptr);
    }
    return pred();
}

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);
std::filesystem::path bin(const std::string& name);      ///< a built binary
std::filesystem::path source(const std::string& rel);    ///< a file of the source tree

}  // namespace certlab::test
