// A raw TCP byte stream (printers on 9100, SCPI on 5025, serial-to-Ethernet bridges).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "sdk/transport.hpp"

namespace certlab::transport {

/// TCP client with TCP_NODELAY (request/response protocols send small frames).
/// Not thread-safe: use it from one executor (strand).
class TcpTransport final : public sdk::Transport {
public:
    /// `host` is a name or an IP literal (IPv6 without brackets). `address` is what
    /// address() reports; empty means "tcp:host:port".
    TcpTransport(boost::asio::any_io_executor ex, std::string host, std::uint16_t port,
                 std::string address = {});
    ~TcpTransport() override;
    TcpTransport(const TcpTransport&) = delete;
    TcpTransport& operator=(const TcpTransport&) = delete;

    [[nodiscard]] const std::string& address() const override;
    /// Resolves (names only) and connects, trying each resolved address in turn, all
    /// within `timeout`. Reconnects when already open.
    sdk::Task<void> open(sdk::Duration timeout) override;
    void close() noexcept override;
    [[nodiscard]] bool is_open() const noexcept override;
    [[nodiscard]] bool peer_closed() noexcept override;
    sdk::Task<void> write(std::string_view data, sdk::Duration timeout) override;
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration timeout) override;
    /// Reads and drops what has already arrived, without waiting (bounded at 256 KiB
    /// so a peer that never stops sending cannot stall the caller).
    void discard_input() noexcept override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace certlab::transport
