#include "station/station_tasks.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace certlab::station {
namespace asio = boost::asio;

sdk::Task<void> sleep_for(std::chrono::steady_clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

/// Runs a station coroutine detached; an exception escaping one is a bug, so it is
/// logged rather than allowed to take the daemon down.
void spawn(asio::io_context& io, sdk::Task<void> task, std::string what) {
    asio::co_spawn(io, std::move(task), [what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{} ended with an unexpected error: {}", what, ex.what());
        }
    });
}

}  // namespace certlab::station
