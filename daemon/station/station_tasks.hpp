// The station's two coroutine helpers, shared by station.cpp and station_runs.cpp.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>

#include "sdk/task.hpp"

namespace certlab::station {

sdk::Task<void> sleep_for(std::chrono::steady_clock::duration d);
/// Runs a station coroutine detached; an exception escaping one is a bug, so it is
/// logged rather than allowed to take the daemon down.
void spawn(boost::asio::io_context& io, sdk::Task<void> task, std::string what);

}  // namespace certlab::station
