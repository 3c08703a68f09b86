// The one Asio header the driver contract needs: actions are coroutines.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace certlab::sdk {

/// Every potentially slow driver or transport operation is a coroutine run on the
/// station's executor. Heavier Asio headers stay in .cpp files.
template <typename T>
using Task = boost::asio::awaitable<T>;

}  // namespace certlab::sdk
