// Byte streams to devices, and the buffered Stream drivers read and write through.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sdk/task.hpp"
#include "sdk/transcript.hpp"

namespace certlab::sdk {

using Duration = std::chrono::steady_clock::duration;

/// A byte stream to one device (serial tty, TCP socket, USB endpoint pair, child
/// process). Every operation has a deadline; failures throw TransportError. A
/// transport knows nothing of the protocol spoken over it.
class Transport {
public:
    virtual ~Transport() = default;

    /// The address it was made from, e.g. `serial:/dev/ttyUSB0` or `tcp:127.0.0.1:9100`.
    [[nodiscard]] virtual const std::string& address() const = 0;
    virtual Task<void> open(Duration timeout) = 0;
    virtual void close() noexcept = 0;
    [[nodiscard]] virtual bool is_open() const noexcept = 0;
    /// Writes all of `data` or throws.
    virtual Task<void> write(std::string_view data, Duration timeout) = 0;
    /// Reads at least one and at most `buf.size()` bytes, or throws (timeout, closed).
    virtual Task<std::size_t> read_some(std::span<char> buf, Duration timeout) = 0;
    /// Drops input received but not yet read (stale bytes before a new request).
    virtual void discard_input() noexcept {}
    /// True when the peer is known to be gone (hangup, connection closed), checked
    /// without reading or writing a byte; lets an idle device be seen as lost.
    [[nodiscard]] virtual bool peer_closed() noexcept { return false; }
};

/// What drivers use: reads with framing helpers, a size limit on every read, and a
/// tap that copies every byte into the current step's transcript.
class Stream {
public:
    explicit Stream(Transport& transport) : transport_(transport) {}

    [[nodiscard]] Transport& transport() { return transport_; }
    /// Bytes exchanged from now on are also appended to `t` (nullptr stops the tap).
    void set_transcript(Transcript* t) { transcript_ = t; }
    [[nodiscard]] Transcript* transcript() const { return transcript_; }

    Task<void> write(std::string_view data, Duration timeout);
    /// Exactly `n` bytes within `timeout` (one deadline for the whole read).
    Task<std::string> read_exact(std::size_t n, Duration timeout);
    /// Bytes up to and including `delim`; fails past `max_size` bytes.
    Task<std::string> read_until(std::string_view delim, std::size_t max_size, Duration timeout);
    /// Drops buffered and pending input; noted in the transcript when anything was dropped.
    void discard_input();
    /// Bytes already received but not yet consumed by a read.
    [[nodiscard]] std::size_t buffered() const { return buffer_.size(); }

private:
    Task<void> fill(std::chrono::steady_clock::time_point deadline);

    Transport& transport_;
    Transcript* transcript_ = nullptr;
    std::string buffer_;
};

}  // namespace certlab::sdk
