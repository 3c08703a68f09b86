#include "transport/recording.hpp"

namespace certlab::transport {

RecordingTransport::RecordingTransport(std::unique_ptr<sdk::Transport> inner, std::shared_ptr<CaptureWriter> capture)
    : inner_(std::move(inner)), capture_(std::move(capture)) {}

// Failures are recorded inside the handler and rethrown unchanged: the caller sees
// exactly what the wrapped transport threw.

sdk::Task<void> RecordingTransport::open(sdk::Duration timeout) {
    capture_->mark(marker::open, inner_->address());
    try {
        co_await inner_->open(timeout);
    } catch (...) {
        capture_->error("open", describe_error(std::current_exception()));
        throw;
    }
}

void RecordingTransport::close() noexcept {
    if (inner_->is_open()) capture_->mark(marker::close);
    inner_->close();
}

sdk::Task<void> RecordingTransport::write(std::string_view data, sdk::Duration timeout) {
    capture_->write(data);
    try {
        co_await inner_->write(data, timeout);
    } catch (...) {
        capture_->error("write", describe_error(std::current_exception()));
        throw;
    }
}

sdk::Task<std::size_t> RecordingTransport::read_some(std::span<char> buf, sdk::Duration timeout) {
    std::size_t n = 0;
    try {
        n = co_await inner_->read_some(buf, timeout);
    } catch (...) {
        capture_->error("read", describe_error(std::current_exception()));
        throw;
    }
    capture_->read(std::string_view(buf.data(), n));
    co_return n;
}

void RecordingTransport::discard_input() noexcept {
    capture_->mark(marker::discard);
    inner_->discard_input();
}

}  // namespace certlab::transport
