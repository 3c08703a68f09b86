#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace certlab::test {

Process Process::start(std::vector<std::string> argv, std::filesystem::path stderr_file) {
    return start(std::move(argv), Options{std::move(stderr_file), false});
}

Process Process::start(std::vector<std::string> argv, Options options) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    int infd[2] = {-1, -1};
    if (options.stdin_pipe && pipe2(infd, O_CLOEXEC) != 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    if (options.stdin_pipe) posix_spawn_file_actions_adddup2(&fa, infd[0], STDIN_FILENO);
    else posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (!options.stderr_file.empty())
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, options.stderr_file.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    Process p;
    int rc = posix_spawn(&p.pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (infd[0] >= 0) close(infd[0]);
    if (rc != 0) {
        close(pipefd[0]);
        if (infd[1] >= 0) close(infd[1]);
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    p.out_fd_ = pipefd[0];
    p.in_fd_ = infd[1];
    return p;
}

Process::Process(Process&& o) noexcept
    : pid_(o.pid_), out_fd_(o.out_fd_), in_fd_(o.in_fd_), buffer_(std::move(o.buffer_)), status_(o.status_) {
    o.pid_ = -1;
    o.out_fd_ = -1;
    o.in_fd_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
    if (this != &o) {
        reset();
        pid_ = o.pid_;
        out_fd_ = o.out_fd_;
        in_fd_ = o.in_fd_;
        buffer_ = std::move(o.buffer_);
        status_ = o.status_;
        o.pid_ = -1;
        o.out_fd_ = -1;
        o.in_fd_ = -1;
    }
    return *this;
}

Process::~Process() { reset(); }

void Process::reset() noexcept {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        waitpid(pid_, &st, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (in_fd_ >= 0) close(in_fd_);
    pid_ = -1;
    out_fd_ = -1;
    in_fd_ = -1;
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
        pollfd pfd{out_fd_, POLLIN, 0};
        if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
        char buf[4096];
        ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n <= 0) return std::nullopt;
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

std::string Process::read_all(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (out_fd_ >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd pfd{out_fd_, POLLIN, 0};
        if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[4096];
        ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n <= 0) break;
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
    return std::exchange(buffer_, {});
}

void Process::signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

bool Process::write_stdin(std::string_view text) {
    if (in_fd_ < 0) return false;
    // A child that has exited makes write() raise SIGPIPE: block it for this thread
    // and swallow the one raised, so the test sees `false` instead of dying.
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    bool ok = true;
    while (ok && !text.empty()) {
        const ssize_t n = ::write(in_fd_, text.data(), text.size());
        if (n > 0) text.remove_prefix(static_cast<std::size_t>(n));
        else if (n < 0 && errno == EINTR) continue;
        else ok = false;
    }
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return ok;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    bool done = wait_until(
        [&] {
            int st = 0;
            pid_t r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return status_.has_value();
        },
        timeout);
    return done ? status_ : std::nullopt;
}

bool Process::running() { return !wait(std::chrono::milliseconds(0)); }

RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
              std::filesystem::path stderr_file) {
    auto p = Process::start(std::move(argv), std::move(stderr_file));
    RunResult r;
    r.out = p.read_all(timeout);
    auto st = p.wait(timeout);
    r.status = st ? *st : -1;
    return r;
}

TempDir::TempDir() {
    std::string tmpl = "/tmp/certlab-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!std::getenv("CERTLAB_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::filesystem::path bin(const std::string& name) { return std::filesystem::path(CERTLAB_BIN_DIR) / name; }
std::filesystem::path source(const std::string& rel) { return std::filesystem::path(CERTLAB_SOURCE_DIR) / rel; }

}  // namespace certlab::test
