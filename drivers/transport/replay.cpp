#include "transport/replay.hpp"

#include <algorithm>
#include <cstring>

#include "sdk/error.hpp"

namespace certlab::transport {
namespace {

using Kind = CaptureRecord::Kind;

/// `10 04 01`, at most `max` bytes then `... (N bytes)`.
std::string hex(std::string_view bytes, std::size_t max = 16) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(bytes[i]);
        if (i) out += ' ';
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    if (bytes.size() > max) out += " ... (" + std::to_string(bytes.size()) + " bytes)";
    if (bytes.empty()) out = "(nothing)";
    return out;
}

/// Records the transport itself consumes; the rest are the device layer's.
bool is_exchange(const CaptureRecord& r) {
    if (r.kind == Kind::write) return !r.bytes.empty();
    if (r.kind == Kind::read || r.kind == Kind::error) return true;
    return r.name == marker::open || r.name == marker::close;
}

std::string describe(const CaptureRecord& r) {
    switch (r.kind) {
        case Kind::write: return "a write of " + hex(r.bytes);
        case Kind::read: return "a read of " + hex(r.bytes);
        case Kind::error: return "a failed " + r.name + " (" + r.error_kind + ": " + r.text + ")";
        case Kind::marker: return "@ " + r.name + (r.text.empty() ? "" : " " + r.text);
    }
    return "?";
}

}  // namespace

ReplayTransport::ReplayTransport(const Capture& capture)
    // The recorded address: a driver may derive things from it (HTTP sends it as Host).
    : capture_(capture), address_(capture.header.address), end_(capture.records.size()) {}

std::size_t ReplayTransport::next() const {
    std::size_t i = pos_;
    while (i < end_ && !is_exchange(capture_.records[i])) ++i;
    return i;
}

std::string ReplayTransport::where(std::size_t i) const {
    if (i >= capture_.records.size()) return "the end of the capture";
    return "capture line " + std::to_string(capture_.records[i].line);
}

void ReplayTransport::diverge(const std::string& what) const {
    throw sdk::TransportError(sdk::TransportError::Kind::io, "replay: " + what);
}

void ReplayTransport::throw_failure_if_next(std::string_view op) {
    const auto i = next();
    if (i >= end_) return;
    const auto& r = capture_.records[i];
    if (r.kind != Kind::error || r.name != op) return;
    pos_ = i + 1;
    partial_ = 0;
    throw_recorded(r.error_kind, r.text);
}

void ReplayTransport::window(std::size_t first, std::size_t end) {
    pos_ = std::min(first, capture_.records.size());
    end_ = std::min(end, capture_.records.size());
    partial_ = 0;
}

std::string ReplayTransport::unreplayed() const {
    std::size_t n = 0;
    std::size_t first = end_;
    for (std::size_t i = pos_; i < end_; ++i)
        if (is_exchange(capture_.records[i])) {
            if (first == end_) first = i;
            ++n;
        }
    if (n == 0) return {};
    std::string out = std::to_string(n) + " recorded exchange record(s) not replayed, the first at " + where(first) +
                      ": " + describe(capture_.records[first]);
    if (first == pos_ && partial_ > 0) out += " (" + std::to_string(partial_) + " byte(s) of it were)";
    return out;
}

sdk::Task<void> ReplayTransport::open(sdk::Duration) {
    const auto i = next();
    if (i >= end_) diverge("the driver opens the link, but the capture has no more sessions here");
    const auto& r = capture_.records[i];
    if (r.kind != Kind::marker || r.name != marker::open)
        diverge("the driver opens the link, but the capture's next record (" + where(i) + ") is " + describe(r));
    pos_ = i + 1;
    partial_ = 0;
    throw_failure_if_next("open");
    open_ = true;
    co_return;
}

void ReplayTransport::close() noexcept {
    open_ = false;
    const auto i = next();
    if (i < end_ && capture_.records[i].kind == Kind::marker && capture_.records[i].name == marker::close) {
        pos_ = i + 1;
        partial_ = 0;
    }
}

sdk::Task<void> ReplayTransport::write(std::string_view data, sdk::Duration) {
    if (!open_) throw sdk::TransportError(sdk::TransportError::Kind::closed, "replay: write: the link is not open");
    std::size_t done = 0;
    while (done < data.size()) {
        const auto i = next();
        if (i >= end_)
            diverge("the driver writes " + hex(data.substr(done)) + ", but the capture has no more writes for this operation (" +
                    where(i) + ")");
        const auto& r = capture_.records[i];
        if (r.kind != Kind::write)
            diverge("the driver writes " + hex(data.substr(done)) + ", but the capture's next record (" + where(i) +
                    ") is " + describe(r));
        if (i != pos_) partial_ = 0;
        pos_ = i;
        const std::string_view expected = std::string_view(r.bytes).substr(partial_);
        const std::size_t n = std::min(expected.size(), data.size() - done);
        const auto got = data.substr(done, n);
        const auto [e, g] = std::mismatch(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(n), got.begin());
        if (e != expected.begin() + static_cast<std::ptrdiff_t>(n)) {
            const auto k = static_cast<std::size_t>(e - expected.begin());
            // The offset among all bytes the capture says were written, so it can be
            // found again whichever way the driver split its writes.
            std::size_t offset = 0;
            for (std::size_t j = 0; j < i; ++j)
                if (capture_.records[j].kind == Kind::write) offset += capture_.records[j].bytes.size();
            offset += partial_ + k;
            // Shown from a few bytes before the difference, aligned, so the eye finds it.
            const std::size_t from = k >= 8 ? k - 8 : 0;
            const std::string lead = from > 0 ? "... " : "";
            diverge("write differs from the capture at written-byte offset " + std::to_string(offset) + " (" +
                    where(i) + ", byte " + std::to_string(partial_ + k) + " of that record): expected " + lead +
                    hex(expected.substr(from)) + ", got " + lead + hex(data.substr(done + from)));
        }
        partial_ += n;
        done += n;
        tx_offset_ += n;
        if (partial_ == r.bytes.size()) {
            pos_ = i + 1;
            partial_ = 0;
        }
    }
    throw_failure_if_next("write");
    co_return;
}

sdk::Task<std::size_t> ReplayTransport::read_some(std::span<char> buf, sdk::Duration) {
    if (!open_) throw sdk::TransportError(sdk::TransportError::Kind::closed, "replay: read: the link is not open");
    if (buf.empty()) co_return 0;
    const auto i = next();
    if (i >= end_)
        diverge("the driver reads, but the capture has no more input for this operation (" + where(i) +
                "): it asked for more than when it was recorded");
    const auto& r = capture_.records[i];
    if (r.kind == Kind::error && r.name == "read") {
        pos_ = i + 1;
        partial_ = 0;
        throw_recorded(r.error_kind, r.text);
    }
    if (r.kind != Kind::read) {
        std::string what = "the driver reads, but the capture's next record (" + where(i) + ") is " + describe(r);
        if (i == pos_ && partial_ > 0) what += ", of which " + std::to_string(partial_) + " byte(s) were written";
        diverge(what);
    }
    if (i != pos_) partial_ = 0;
    pos_ = i;
    const std::size_t n = std::min(buf.size(), r.bytes.size() - partial_);
    std::memcpy(buf.data(), r.bytes.data() + partial_, n);
    partial_ += n;
    if (partial_ == r.bytes.size()) {
        pos_ = i + 1;
        partial_ = 0;
    }
    co_return n;
}

}  // namespace certlab::transport
