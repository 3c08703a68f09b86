#include "sdk/transport.hpp"

#include <array>

#include "sdk/error.hpp"

namespace certlab::sdk {

using Clock = std::chrono::steady_clock;

Task<void> Stream::write(std::string_view data, Duration timeout) {
    if (transcript_) transcript_->tx(data);
    co_await transport_.write(data, timeout);
}

Task<void> Stream::fill(Clock::time_point deadline) {
    auto left = deadline - Clock::now();
    if (left <= Duration::zero())
        throw TransportError(TransportError::Kind::timeout, "no response before the deadline");
    std::array<char, 512> chunk;
    std::size_t n = co_await transport_.read_some(chunk, left);
    if (transcript_) transcript_->rx(std::string_view(chunk.data(), n));
    buffer_.append(chunk.data(), n);
}

Task<std::string> Stream::read_exact(std::size_t n, Duration timeout) {
    auto deadline = Clock::now() + timeout;
    while (buffer_.size() < n) co_await fill(deadline);
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    co_return out;
}

Task<std::string> Stream::read_until(std::string_view delim, std::size_t max_size,
                                     Duration timeout) {
    auto deadline = Clock::now() + timeout;
    std::size_t searched = 0;
    for (;;) {
        auto pos = buffer_.find(delim, searched);
        if (pos != std::string::npos) {
            std::size_t end = pos + delim.size();
            std::string out = buffer_.substr(0, end);
            buffer_.erase(0, end);
            co_return out;
        }
        if (buffer_.size() >= max_size)
            throw ProtocolError("response exceeded " + std::to_string(max_size) +
                                " bytes without a terminator");
        searched = buffer_.size() >= delim.size() ? buffer_.size() - delim.size() + 1 : 0;
        co_await fill(deadline);
    }
}

void Stream::discard_input() {
    if (!buffer_.empty() && transcript_)
        transcript_->note("discarded " + std::to_string(buffer_.size()) + " stale bytes");
    buffer_.clear();
    transport_.discard_input();
}

}  // namespace certlab::sdk
