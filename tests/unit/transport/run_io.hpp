// Runs transport coroutines to completion inside a test, with a safety limit.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>

#include "sdk/error.hpp"

namespace certlab::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Runs `ioc` until the coroutine made by `fn` (a callable returning awaitable<T>)
/// finishes, then returns its value or rethrows its exception. co_spawn keeps `fn`
/// alive for the coroutine's lifetime, so capturing lambdas are safe here.
template <typename F>
auto run(boost::asio::io_context& ioc, F&& fn) {
    auto done = boost::asio::co_spawn(ioc, std::forward<F>(fn), boost::asio::use_future);
    // One handler at a time, so other coroutines the test left pending (a reader
    // waiting 5 s) do not hold us up; the limit turns a hang into a failure.
    ioc.restart();
    const auto limit = Clock::now() + 20s;
    while (done.wait_for(0s) != std::future_status::ready && Clock::now() < limit &&
           !ioc.stopped())
        ioc.run_one_for(100ms);
    REQUIRE_MESSAGE(done.wait_for(0s) == std::future_status::ready, "coroutine did not finish");
    return done.get();
}

/// Runs `fn` and returns the TransportError it throws; fails the test otherwise.
template <typename F>
sdk::TransportError transport_error(boost::asio::io_context& ioc, F&& fn) {
    try {
        run(ioc, std::forward<F>(fn));
    } catch (const sdk::TransportError& e) {
        return e;
    }
    FAIL("expected a TransportError");
    throw std::logic_error("unreachable");
}

/// Suspends the calling coroutine for `d`.
inline boost::asio::awaitable<void> sleep_for(Clock::duration d) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    co_await t.async_wait(boost::asio::use_awaitable);
}

inline std::chrono::milliseconds elapsed_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

/// Sets a flag when destroyed: proves a coroutine frame was freed, not leaked.
struct FrameSentinel {
    bool* destroyed;
    ~FrameSentinel() { *destroyed = true; }
};

}  // namespace certlab::test
