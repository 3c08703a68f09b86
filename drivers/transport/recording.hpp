// A transport that records every exchange of the transport it wraps into a capture.
#pragma once

#include <memory>

#include "sdk/transport.hpp"
#include "transport/capture_writer.hpp"

namespace certlab::transport {

/// Decorator: behaves exactly like `inner` (same results, same exceptions) and
/// appends to `capture` what went through it: `@ open ADDRESS`, each write (`>`,
/// before it is sent), each read (`<`, the chunk as it arrived), each failure (`!`,
/// operation, kind, message), `@ discard` and `@ close`. Recording never throws.
class RecordingTransport final : public sdk::Transport {
public:
    RecordingTransport(std::unique_ptr<sdk::Transport> inner, std::shared_ptr<CaptureWriter> capture);

    [[nodiscard]] const std::string& address() const override { return inner_->address(); }
    sdk::Task<void> open(sdk::Duration timeout) override;
    void close() noexcept override;
    [[nodiscard]] bool is_open() const noexcept override { return inner_->is_open(); }
    sdk::Task<void> write(std::string_view data, sdk::Duration timeout) override;
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration timeout) override;
    void discard_input() noexcept override;
    [[nodiscard]] bool peer_closed() noexcept override { return inner_->peer_closed(); }

    [[nodiscard]] sdk::Transport& inner() { return *inner_; }

private:
    std::unique_ptr<sdk::Transport> inner_;
    std::shared_ptr<CaptureWriter> capture_;
};

}  // namespace certlab::transport
