// Deadlines for readiness waits, shared by the serial and TCP transports. Private to
// drivers/transport: it pulls in Asio timers, which public headers must not.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "sdk/task.hpp"
#include "sdk/transport.hpp"

namespace certlab::transport::detail {

using Clock = std::chrono::steady_clock;

/// One reusable timer for one direction of I/O. While armed, expiry runs a callback
/// that cancels the I/O object. Timer handlers hold only a weak reference and the
/// generation they were armed for, so a handler that fires late (after disarm, after
/// a new arm, or after the owner is destroyed) does nothing.
class Deadline {
public:
    explicit Deadline(const boost::asio::any_io_executor& ex) : timer_(ex) {}
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    /// `on_expiry` may refer to the owner's members (never to a coroutine frame): it
    /// only runs while this Deadline, and so its owner, is alive.
    template <typename OnExpiry>
    void arm(Clock::time_point at, OnExpiry on_expiry) {
        token_->expired = false;
        const std::uint64_t generation = ++token_->generation;
        timer_.expires_at(at);
        timer_.async_wait([weak = std::weak_ptr<Token>(token_), generation,
                           on_expiry](const boost::system::error_code& ec) {
            if (ec) return;  // cancelled: the owner may already be gone
            auto token = weak.lock();
            if (!token || token->generation != generation) return;
            token->expired = true;
            on_expiry();
        });
    }

    /// Stops the clock; true when it ran out (and cancelled the I/O) since arm().
    bool disarm() noexcept {
        ++token_->generation;
        try {
            timer_.cancel();  // so an idle transport leaves no pending work behind
        } catch (...) {
        }
        return std::exchange(token_->expired, false);
    }

private:
    struct Token {
        std::uint64_t generation = 0;
        bool expired = false;
    };
    boost::asio::steady_timer timer_;
    std::shared_ptr<Token> token_ = std::make_shared<Token>();
};

enum class Ready { yes, timeout, closed, failed };

struct WaitResult {
    Ready state;
    boost::system::error_code ec;  ///< set when state == failed
};

/// Waits until `io` (descriptor or socket) is ready for `what` or `until` passes.
/// Cancellation of the calling coroutine propagates as system_error(operation_aborted).
template <typename IoObject>
sdk::Task<WaitResult> wait_ready(IoObject& io, Deadline& deadline,
                                 typename IoObject::wait_type what, Clock::time_point until) {
    namespace asio = boost::asio;
    for (;;) {
        deadline.arm(until, [&io] {
            boost::system::error_code ignored;
            io.cancel(ignored);
        });
        auto [ec] = co_await io.async_wait(what, asio::as_tuple(asio::use_awaitable));
        const bool expired = deadline.disarm();
        if (!ec) co_return WaitResult{Ready::yes, {}};
        if (expired) co_return WaitResult{Ready::timeout, {}};
        if (!io.is_open()) co_return WaitResult{Ready::closed, {}};
        if (ec != asio::error::operation_aborted) co_return WaitResult{Ready::failed, ec};
        // Aborted, but neither by our deadline nor by close(): either the caller was
        // cancelled (propagate), or the other direction's deadline cancelled every
        // operation on the object (wait again).
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(ec);
    }
}

/// "500 ms", or "250 µs" below a millisecond, for timeout messages.
inline std::string describe(sdk::Duration d) {
    using namespace std::chrono;
    auto us = duration_cast<microseconds>(d).count();
    if (us >= 1000 || us <= 0) return std::to_string(us / 1000) + " ms";
    return std::to_string(us) + " µs";
}

}  // namespace certlab::transport::detail
