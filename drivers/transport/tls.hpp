// TLS over TCP (HTTPS devices): the server's certificate is verified against a CA file
// and the expected server name before a byte of the protocol is sent.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "sdk/settings.hpp"
#include "sdk/transport.hpp"
#include "transport/address.hpp"

namespace certlab::transport {

/// Fills what the address query left out of `a.tls` from device settings `tls_ca`
/// and `tls_server_name` (the query wins). Throws sdk::ConfigError naming the setting.
void fill_tls_options(Address& a, const sdk::Settings& settings);

/// TLS 1.2+ client over TCP (TCP_NODELAY). A certificate that does not chain to the CA
/// file or does not name the server is refused at open() with a TransportError (`io`)
/// saying why (OpenSSL's verification result); an unreadable CA file is a ConfigError.
/// Not thread-safe: use it from one executor (strand).
class TlsTransport final : public sdk::Transport {
public:
    /// Reads the CA file once here, so a bad path stops certlabd at start.
    TlsTransport(boost::asio::any_io_executor ex, std::string host, std::uint16_t port, TlsOptions tls,
                 std::string address = {});
    ~TlsTransport() override;
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;

    [[nodiscard]] const std::string& address() const override;
    /// Resolves, connects and completes the handshake, all within `timeout`.
    /// Reconnects when already open (a fresh TLS session).
    sdk::Task<void> open(sdk::Duration timeout) override;
    void close() noexcept override;
    [[nodiscard]] bool is_open() const noexcept override;
    /// The TCP connection ended, or the server sent its close_notify.
    [[nodiscard]] bool peer_closed() noexcept override;
    sdk::Task<void> write(std::string_view data, sdk::Duration timeout) override;
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration timeout) override;
    /// Decrypts and drops what has already arrived, without waiting (bounded at 256 KiB).
    void discard_input() noexcept override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace certlab::transport
