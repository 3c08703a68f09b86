// A transport that serves a recorded capture back to a driver, for golden tests.
#pragma once

#include <cstddef>
#include <string>

#include "sdk/transport.hpp"
#include "transport/capture.hpp"

namespace certlab::transport {

/// Plays the transport side of a capture: writes must be the recorded bytes (any
/// split of them), reads return the recorded chunks, recorded failures are thrown
/// again (same kind, same message). Timing is not reproduced: everything is served at
/// once. A driver that departs from the recording gets TransportError(io) with a
/// message starting "replay:" that names the capture line, the offset among the
/// written bytes, and what was expected and got.
///
/// The caller (the golden harness) walks the capture's device-layer markers and
/// limits the transport to the records of one operation at a time with window(), so a
/// driver that reads more than it did when recorded cannot eat the next action's bytes.
class ReplayTransport final : public sdk::Transport {
public:
    explicit ReplayTransport(const Capture& capture);

    /// The address recorded in the capture header, as the driver saw it then.
    [[nodiscard]] const std::string& address() const override { return address_; }
    /// Consumes the next `@ open`; throws the `! open` failure recorded after it.
    sdk::Task<void> open(sdk::Duration timeout) override;
    /// Consumes an `@ close` if it is next.
    void close() noexcept override;
    [[nodiscard]] bool is_open() const noexcept override { return open_; }
    sdk::Task<void> write(std::string_view data, sdk::Duration timeout) override;
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration timeout) override;

    /// Serves records [first, end) from now on (indexes into capture.records). The
    /// device-layer markers inside are skipped; `@ discard` is informative only.
    void window(std::size_t first, std::size_t end);
    /// Describes the exchange records of the current window not replayed yet ("" when
    /// all were): a driver that stopped short of what it did when recorded.
    [[nodiscard]] std::string unreplayed() const;
    /// Bytes written so far that matched the capture.
    [[nodiscard]] std::size_t written() const { return tx_offset_; }

private:
    /// Index of the next record the transport consumes (write, read, failure, open,
    /// close), skipping markers it has no part in; end_ when none is left.
    [[nodiscard]] std::size_t next() const;
    [[noreturn]] void diverge(const std::string& what) const;
    [[nodiscard]] std::string where(std::size_t i) const;
    void throw_failure_if_next(std::string_view op);

    const Capture& capture_;
    std::string address_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    std::size_t partial_ = 0;    ///< bytes of records[pos_] already served (write or read)
    std::size_t tx_offset_ = 0;  ///< bytes written so far, over the whole capture
    bool open_ = false;
};

}  // namespace certlab::transport
