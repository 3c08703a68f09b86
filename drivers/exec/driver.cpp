// The `exec` driver: the bridge to a driver that runs as a child process and speaks
// JSON lines on stdin/stdout (docs/EXEC-DRIVERS.md). The child can crash, hang or
// babble without harming certlabd: every call has a deadline, and a child that fails
// one is killed (SIGKILL after a grace period) and started again, with backoff, at
// the next call. The step in flight ends `error` with the reason.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cstdio>

#include "exec/child.hpp"
#include "exec/protocol.hpp"
#include "sdk/error.hpp"
#include "sdk/registry.hpp"

namespace certlab::exec {
namespace {

namespace asio = boost::asio;
using sdk::Task;
using sdk::Values;

/// The child failed (died, hung, wrote garbage, broke the protocol). Not a transport
/// or protocol error of the device: the runner records it as `error` ("driver error: …").
class ChildFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// "2 s", "1.5 s", "500 ms".
std::string describe(Clock::duration d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms < 1000) return std::to_string(ms) + " ms";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms) / 1000.0);
    return buf;
}

/// A line for a message: printable, and short enough for a step reason.
std::string excerpt(std::string_view line) {
    constexpr std::size_t limit = 120;
    auto text = sdk::render_bytes(line.substr(0, limit));
    return line.size() > limit ? text + "..." : text;
}

spdlog::level::level_enum to_spdlog(LogLevel l) {
    switch (l) {
        case LogLevel::trace: return spdlog::level::trace;
        case LogLevel::debug: return spdlog::level::debug;
        case LogLevel::info: return spdlog::level::info;
        case LogLevel::warn: return spdlog::level::warn;
        case LogLevel::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

std::string_view kind_name(sdk::TransportError::Kind k) {
    switch (k) {
        case sdk::TransportError::Kind::timeout: return "timeout";
        case sdk::TransportError::Kind::closed: return "closed";
        case sdk::TransportError::Kind::io: return "io";
        case sdk::TransportError::Kind::limit: return "limit";
    }
    return "io";
}

/// Kills the child if a call is left by an exception (the caller's cancellation when
/// the step timed out, for one): a child whose answer was not read is out of step.
/// Touches only the child, never the driver, so it is safe in any unwinding.
class KillUnlessReleased {
public:
    explicit KillUnlessReleased(std::shared_ptr<ChildProcess> child) : child_(std::move(child)) {}
    ~KillUnlessReleased() {
        if (child_) child_->kill_now();
    }
    KillUnlessReleased(const KillUnlessReleased&) = delete;
    KillUnlessReleased& operator=(const KillUnlessReleased&) = delete;
    void release() { child_.reset(); }

private:
    std::shared_ptr<ChildProcess> child_;
};

/// What one request/answer exchange came to. Exactly one of result, error, failure
/// or closed is set.
struct Exchange {
    std::optional<Result> result;
    std::optional<Error> error;
    std::string failure;  ///< the child failed: why (it is then killed and restarted)
    bool closed = false;  ///< close() was called while the exchange was in flight
};

class ExecDriver final : public sdk::Driver {
public:
    explicit ExecDriver(sdk::DriverContext& ctx)
        : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        const auto* command = ctx.settings.find("command");
        if (!command)
            throw sdk::ConfigError("command: the exec driver needs the program to run, e.g. "
                                   "command: python3 /opt/certlab/drivers/my_driver.py");
        try {
            argv_ = split_command(command->value);
        } catch (const sdk::ConfigError& e) {
            throw sdk::ConfigError(where(*command) + e.what());
        }
        call_timeout_ = positive("call_timeout", std::chrono::seconds(2));
        start_timeout_ = positive("start_timeout", std::chrono::seconds(5));
        kill_grace_ = positive("kill_grace", std::chrono::milliseconds(500));
        backoff_ = positive("restart_backoff", std::chrono::milliseconds(200));
        backoff_max_ = std::max(backoff_, positive("restart_backoff_max", std::chrono::seconds(5)));
    }

    ~ExecDriver() override {
        if (child_) child_->kill_now();
    }

    Task<void> open() override {
        opened_ = false;
        co_await ensure_child();
        co_await send_open();
        opened_ = true;
    }

    Task<sdk::Identity> identify() override {
        auto id = ++next_id_;
        Result r = co_await call("identify", id, encode_identify(id));
        auto identity = identity_from(r.values);
        // Which program answered, for the device's record and GET /v1/drivers.
        identity.extra["exec_driver"] = hello_.driver;
        identity.extra["exec_driver_version"] = hello_.version;
        co_return identity;
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        co_await ensure_child();
        const auto name = action.qualified();
        if (std::find(hello_.actions.begin(), hello_.actions.end(), name) == hello_.actions.end())
            throw sdk::ConfigError("exec driver " + hello_.driver + " " + hello_.version + " does not implement " + name);
        auto id = ++next_id_;
        Result r = co_await call(name, id, encode_invoke(id, action, args));
        auto complaint = check_results(action, r.values);
        if (!complaint.empty())
            throw std::runtime_error("exec driver " + hello_.driver + " returned a bad result: " + complaint);
        co_return std::move(r.values);
    }

    void close() noexcept override {
        opened_ = false;
        ++generation_;
        if (!child_) return;
        auto child = std::move(child_);
        child->cancel_io();  // a call in flight ends now
        // End of input asks the child to exit; one that does not is killed after the grace.
        asio::co_spawn(child->executor(), reap(child, kill_grace_, log_), asio::detached);
    }

private:
    static std::string where(const sdk::Settings::Entry& e) { return e.where.empty() ? std::string() : e.where + ": "; }

    Clock::duration positive(const char* key, std::chrono::microseconds fallback) const {
        auto d = ctx_.settings.get_duration(key, fallback);
        if (d <= std::chrono::microseconds::zero()) {
            const auto* e = ctx_.settings.find(key);
            throw sdk::ConfigError((e ? where(*e) : std::string()) + key + ": must be more than 0");
        }
        return d;
    }

    static Task<void> reap(std::shared_ptr<ChildProcess> child, Clock::duration grace,
                           std::shared_ptr<spdlog::logger> log) {
        auto status = co_await child->stop(grace, 0);
        log->debug("exec driver (pid {}) stopped: {}", child->pid(), status.describe());
    }

    Task<void> send_open() {
        auto id = ++next_id_;
        co_await call("open", id, encode_open(id, ctx_.device_id, ctx_.resource, ctx_.settings), false);
    }

    /// Starts the child if there is none (after the backoff that earlier failures
    /// earned); a restarted child is opened again before it gets its first request.
    Task<void> ensure_child() {
        if (child_ && !child_->running()) {
            // Killed by an interrupted call (see KillUnlessReleased), or died while idle:
            // either way the next request goes to a new child, not to a dead pipe.
            auto delay = count_failure();
            log_->warn("exec driver {} (pid {}) {} while no call was in flight; restart in {}", hello_.driver,
                       child_->pid(), child_->exit_status()->describe(), describe(delay));
            child_.reset();
        }
        if (child_) co_return;
        if (auto wait = next_start_ - Clock::now(); wait > Clock::duration::zero()) {
            const auto generation = generation_;
            log_->info("exec driver restarts in {}", describe(wait));
            asio::steady_timer timer(co_await asio::this_coro::executor, wait);
            co_await timer.async_wait(asio::use_awaitable);
            if (generation != generation_)
                throw sdk::TransportError(sdk::TransportError::Kind::closed, "exec driver was closed");
        }
        co_await start_child();
        if (opened_) co_await send_open();
    }

    Task<void> start_child() {
        const auto generation = generation_;
        std::shared_ptr<ChildProcess> child;
        std::string failure;
        auto ex = co_await asio::this_coro::executor;
        try {
            child = ChildProcess::spawn(ex, argv_, [log = log_](std::string_view line) { log->info("stderr: {}", line); });
        } catch (const std::exception& e) {
            failure = std::string("exec driver could not start: ") + e.what();
        }
        if (!failure.empty()) {
            log_->warn("{}; restart in {}", failure, describe(count_failure()));
            throw ChildFailed(failure);
        }
        KillUnlessReleased guard(child);
        Hello hello;
        failure = co_await read_hello(*child, hello);
        if (!failure.empty()) {
            co_await retire(child, failure);
            guard.release();
            throw ChildFailed(failure);
        }
        if (generation != generation_) {
            // close() came while the child was starting: it is not wanted any more.
            co_await child->stop(kill_grace_, SIGTERM);
            guard.release();
            throw sdk::TransportError(sdk::TransportError::Kind::closed, "exec driver was closed while starting");
        }
        guard.release();
        child_ = std::move(child);
        hello_ = std::move(hello);
        log_->info("exec driver {} {} started (pid {}): {} action(s)", hello_.driver, hello_.version, child_->pid(),
                   hello_.actions.size());
    }

    /// Reads the child's hello (log lines may come first); "" or why it failed.
    Task<std::string> read_hello(ChildProcess& child, Hello& hello) {
        const auto deadline = Clock::now() + start_timeout_;
        for (;;) {
            std::string text;
            auto io = co_await child.read_line(text, max_line, deadline);
            if (io == ChildProcess::Io::timeout) co_return "exec driver did not say hello within " + describe(start_timeout_);
            if (io != ChildProcess::Io::ok) {
                std::string why = co_await io_failure(child, io, "before saying hello");
                co_return why;
            }
            Message m;
            std::string bad = parse(text, m);
            if (!bad.empty()) co_return bad;
            if (auto* l = std::get_if<Log>(&m)) {
                forward(*l, argv_.front());
                continue;
            }
            auto* h = std::get_if<Hello>(&m);
            if (!h) co_return "exec driver broke the protocol: its first message must be hello";
            if (h->protocol != protocol_version)
                co_return "exec driver speaks protocol " + std::to_string(h->protocol) + ", certlabd speaks " +
                    std::to_string(protocol_version);
            for (const auto& a : h->actions)
                if (!sdk::find_action(a)) co_return "exec driver offers unknown action '" + a + "'";
            hello = std::move(*h);
            co_return std::string();
        }
    }

    /// One request and its answer; the child's own error answers become the matching
    /// sdk errors. Throws ChildFailed when the child failed (after stopping it).
    /// `proves_health`: an answer shows the child works, so the restart backoff starts
    /// over (not so for open: a child that always fails its first action would
    /// otherwise be restarted at the shortest delay forever).
    Task<Result> call(const std::string& what, std::uint64_t id, const std::string& line, bool proves_health = true) {
        co_await ensure_child();
        auto child = child_;  // this call's child, even if close() lets go of it meanwhile
        KillUnlessReleased guard(child);
        Exchange ex = co_await exchange(*child, id, line);
        if (!ex.failure.empty()) co_await retire(child, ex.failure + " (during " + what + ")");
        guard.release();
        if (ex.closed) throw sdk::TransportError(sdk::TransportError::Kind::closed, "exec driver was closed during " + what);
        if (!ex.failure.empty()) throw ChildFailed(ex.failure);
        if (proves_health) failures_ = 0;
        if (ex.error) throw_error(*ex.error);
        co_return std::move(*ex.result);
    }

    Task<Exchange> exchange(ChildProcess& child, std::uint64_t id, const std::string& line) {
        Exchange ex;
        // The deadline bounds the child's own time; relayed device I/O extends it by
        // what it took (each such I/O is bounded by its own timeout).
        auto deadline = Clock::now() + call_timeout_;
        auto io = co_await child.write(line, deadline);
        while (io == ChildProcess::Io::ok) {
            std::string text;
            io = co_await child.read_line(text, max_line, deadline);
            if (io != ChildProcess::Io::ok) break;
            Message m;
            ex.failure = parse(text, m);
            if (!ex.failure.empty()) co_return ex;
            if (auto* l = std::get_if<Log>(&m)) {
                forward(*l, hello_.driver);
            } else if (auto* r = std::get_if<Result>(&m)) {
                ex.failure = check_id(r->id, id);
                if (ex.failure.empty()) ex.result = std::move(*r);
                co_return ex;
            } else if (auto* e = std::get_if<Error>(&m)) {
                ex.failure = check_id(e->id, id);
                if (ex.failure.empty()) ex.error = std::move(*e);
                co_return ex;
            } else if (auto* rq = std::get_if<Io>(&m)) {
                ex.failure = check_id(rq->id, id);
                if (!ex.failure.empty()) co_return ex;
                const auto t0 = Clock::now();
                std::string reply = co_await serve_io(*rq);
                deadline += Clock::now() - t0;
                io = co_await child.write(reply, deadline);
            } else {
                ex.failure = "exec driver broke the protocol: hello sent twice";
                co_return ex;
            }
        }
        if (io == ChildProcess::Io::aborted) {
            if (child_.get() == &child) throw boost::system::system_error(asio::error::operation_aborted);
            ex.closed = true;  // close() took the child away
            co_return ex;
        }
        if (io == ChildProcess::Io::timeout) {
            ex.failure = "exec driver did not answer within " + describe(call_timeout_);
            co_return ex;
        }
        ex.failure = co_await io_failure(child, io, "");
        co_return ex;
    }

    /// The reason for a read or write that failed other than by timeout.
    Task<std::string> io_failure(ChildProcess& child, ChildProcess::Io io, std::string_view when) {
        std::string suffix;
        if (!when.empty()) suffix = " " + std::string(when);
        if (io == ChildProcess::Io::too_long)
            co_return "exec driver wrote malformed JSON: a line longer than " + std::to_string(max_line) + " bytes";
        // Closed output: the child is dying or dead; its exit status tells which.
        auto status = co_await child.wait_exit(Clock::now() + kill_grace_);
        if (!status) co_return "exec driver closed its output" + suffix;
        if (status->signal) co_return "exec driver crashed (signal " + std::to_string(status->signal) + ")" + suffix;
        co_return "exec driver exited with status " + std::to_string(status->code) + suffix;
    }

    /// Parses a line; "" or the failure it means.
    static std::string parse(const std::string& text, Message& m) {
        try {
            m = parse_message(text);
        } catch (const MalformedJson& e) {
            return "exec driver wrote malformed JSON: " + std::string(e.what()) + " in '" + excerpt(text) + "'";
        } catch (const ProtocolViolation& e) {
            return "exec driver broke the protocol: " + std::string(e.what());
        }
        return {};
    }

    static std::string check_id(std::uint64_t got, std::uint64_t want) {
        if (got == want) return {};
        return "exec driver broke the protocol: answered request " + std::to_string(got) + " while request " +
               std::to_string(want) + " was pending";
    }

    /// Performs the child's I/O on the device link; the reply line for the child.
    Task<std::string> serve_io(const Io& rq) {
        std::string reply;
        try {
            switch (rq.op) {
                case Io::Op::write: {
                    co_await ctx_.io.write(rq.data, rq.timeout);
                    reply = encode_io_result(rq.id, "");
                    break;
                }
                case Io::Op::read: {
                    std::string data = co_await ctx_.io.read_exact(rq.n, rq.timeout);
                    reply = encode_io_result(rq.id, data);
                    break;
                }
                case Io::Op::read_until: {
                    std::string data = co_await ctx_.io.read_until(rq.data, rq.n, rq.timeout);
                    reply = encode_io_result(rq.id, data);
                    break;
                }
                case Io::Op::discard: {
                    ctx_.io.discard_input();
                    reply = encode_io_result(rq.id, "");
                    break;
                }
            }
        } catch (const sdk::TransportError& e) {
            reply = encode_io_error(rq.id, kind_name(e.kind()), e.what());
        } catch (const sdk::ProtocolError& e) {
            reply = encode_io_error(rq.id, "limit", e.what());  // read_until found no delimiter within max
        }
        co_return reply;
    }

    void forward(const Log& l, const std::string& who) {
        log_->log(to_spdlog(l.level), "{}: {}", who, l.message);
        if (l.transcript)
            if (auto* t = ctx_.io.transcript()) t->note(l.message);
    }

    [[noreturn]] void throw_error(const Error& e) {
        switch (e.kind) {
            case ErrorKind::fail: throw sdk::ProtocolError(e.message);
            case ErrorKind::timeout: throw sdk::TransportError(sdk::TransportError::Kind::timeout, e.message);
            case ErrorKind::link: throw sdk::TransportError(sdk::TransportError::Kind::io, e.message);
            case ErrorKind::config: throw sdk::ConfigError(e.message);
            case ErrorKind::driver: break;
        }
        throw std::runtime_error("exec driver " + hello_.driver + ": " + e.message);
    }

    /// Stops a failed child (SIGTERM, SIGKILL after the grace) and holds the next start back.
    Task<void> retire(std::shared_ptr<ChildProcess> child, const std::string& reason) {
        auto status = co_await child->stop(kill_grace_, SIGTERM);
        if (child_ == child) child_.reset();
        auto delay = count_failure();
        log_->warn("{}; pid {} {}; restart in {}", reason, child->pid(), status.describe(), describe(delay));
    }

    /// One more failure in a row: the next start waits longer. Returns the wait.
    Clock::duration count_failure() {
        ++failures_;
        auto delay = backoff_;
        for (int i = 1; i < failures_ && delay < backoff_max_; ++i) delay *= 2;
        delay = std::min(delay, backoff_max_);
        next_start_ = Clock::now() + delay;
        return delay;
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    std::vector<std::string> argv_;
    Clock::duration call_timeout_{};   ///< the child's time to answer one request
    Clock::duration start_timeout_{};  ///< from start to hello
    Clock::duration kill_grace_{};     ///< from SIGTERM (or end of input) to SIGKILL
    Clock::duration backoff_{};        ///< first restart delay, doubled per failure in a row
    Clock::duration backoff_max_{};

    std::shared_ptr<ChildProcess> child_;
    Hello hello_;
    bool opened_ = false;            ///< the daemon opened the device: a new child is opened too
    std::uint64_t next_id_ = 0;
    std::uint64_t generation_ = 0;   ///< bumped by close(), so a pending restart knows
    int failures_ = 0;               ///< child failures in a row
    Clock::time_point next_start_{}; ///< no start before this (backoff)
};

std::vector<std::string> every_capability() {
    std::vector<std::string> names;
    for (const auto& c : sdk::capability_catalog()) names.push_back(c.name);
    return names;
}

sdk::DriverInfo make_info() {
    return {
        "exec",
        "1.0",
        "A driver in a child process speaking JSON lines (docs/EXEC-DRIVERS.md); the profile lists its capabilities",
        // Whatever the child offers; its hello says which actions, checked when it starts.
        every_capability(),
        [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> { return std::make_unique<ExecDriver>(ctx); },
    };
}

}  // namespace
}  // namespace certlab::exec

CERTLAB_REGISTER_DRIVER(certlab::exec::make_info);
