// A serial line on any tty node: USB adapters, on-board UARTs, pseudo-terminals.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "sdk/transport.hpp"
#include "transport/address.hpp"

namespace certlab::transport {

/// Serial I/O through termios on a non-blocking tty fd. Uses no modem-line ioctls
/// (TIOCMGET), so it works on pseudo-terminal slaves, which libserialport cannot
/// open. Takes an advisory flock on open so two stations never share one port.
/// Not thread-safe: use it from one executor (strand).
class SerialTransport final : public sdk::Transport {
public:
    /// `address` is what address() reports; empty means "serial:" + path.
    SerialTransport(boost::asio::any_io_executor ex, std::string path, SerialOptions options = {},
                    std::string address = {});
    ~SerialTransport() override;
    SerialTransport(const SerialTransport&) = delete;
    SerialTransport& operator=(const SerialTransport&) = delete;

    [[nodiscard]] const std::string& address() const override;
    /// Opens and configures the tty; reopens when already open. A tty opened with
    /// O_NONBLOCK does not wait for carrier, so open itself never waits.
    sdk::Task<void> open(sdk::Duration timeout) override;
    void close() noexcept override;
    [[nodiscard]] bool is_open() const noexcept override;
    [[nodiscard]] bool peer_closed() noexcept override;
    sdk::Task<void> write(std::string_view data, sdk::Duration timeout) override;
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration timeout) override;
    /// tcflush(TCIFLUSH): drops what the kernel has received but nobody has read.
    void discard_input() noexcept override;

    [[nodiscard]] const std::string& path() const noexcept;
    [[nodiscard]] const SerialOptions& options() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace certlab::transport
