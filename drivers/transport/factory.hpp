// Picks the transport for an address, so drivers never care what carries their bytes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "sdk/transport.hpp"
#include "transport/address.hpp"

namespace certlab::transport {

/// A closed transport for `address`; call open() before use.
[[nodiscard]] std::unique_ptr<sdk::Transport> make_transport(const Address& address,
                                                             boost::asio::any_io_executor ex);

}  // namespace certlab::transport
