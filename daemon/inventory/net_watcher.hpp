// Network discovery: a host:port is present while a TCP connect to it succeeds.
// The probe connects and closes at once without sending a byte (safe-probe rule),
// and connection starts are paced so a sweep never floods a partner device.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/watcher.hpp"

namespace certlab::inventory {

struct NetWatchOptions {
    std::vector<std::string> hosts;  ///< "127.0.0.1:9100", "[::1]:80": IP literals, no DNS
    std::vector<std::string> cidrs;  ///< "127.0.0.0/29" (IPv4), each probed on every port
    std::vector<uint16_t> ports;     ///< ports probed on every CIDR address
    double max_connects_per_second = 50;  ///< [1/s] cap on connection starts
    std::chrono::milliseconds connect_timeout{300};
    std::chrono::milliseconds interval{5000};  ///< from one sweep's start to the next
};

/// Largest number of addresses one CIDR may expand to.
inline constexpr std::size_t kMaxCidrAddresses = 4096;

/// Addresses of an IPv4 CIDR. For prefixes up to /30 the network and broadcast
/// addresses are left out. Throws std::invalid_argument with the reason (syntax,
/// prefix out of range, host bits set, more than kMaxCidrAddresses addresses).
[[nodiscard]] std::vector<boost::asio::ip::address> expand_cidr(std::string_view cidr);

/// "1.2.3.4:80" or "[::1]:80" -> endpoint. Throws std::invalid_argument.
[[nodiscard]] boost::asio::ip::tcp::endpoint parse_host_port(std::string_view text);

/// The endpoints a sweep probes: hosts, then every CIDR address on every port,
/// without duplicates. Throws std::invalid_argument on bad options.
[[nodiscard]] std::vector<boost::asio::ip::tcp::endpoint> net_targets(const NetWatchOptions& opts);

/// "tcp:127.0.0.1:9100" ("tcp:[::1]:80" for IPv6).
[[nodiscard]] std::string net_address(const boost::asio::ip::tcp::endpoint& ep);

class NetWatcher final : public Watcher {
public:
    /// Validates the options (std::invalid_argument on a bad host, CIDR or rate).
    NetWatcher(boost::asio::any_io_executor ex, NetWatchOptions opts);
    ~NetWatcher() override;
    NetWatcher(const NetWatcher&) = delete;
    NetWatcher& operator=(const NetWatcher&) = delete;

    [[nodiscard]] std::string name() const override { return "net"; }
    /// Sweeps every interval; the first sweep starts at once. Arrivals of the first
    /// sweep are reported when it completes.
    void start(WatcherSink sink) override;
    /// Cancels the sweep and closes probes in flight. Call on the executor's thread.
    void stop() noexcept override;

private:
    struct State;
    std::shared_ptr<State> state_;  ///< shared with pending handlers
};

}  // namespace certlab::inventory
