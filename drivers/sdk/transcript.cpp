#include "sdk/transcript.hpp"

#include "sdk/value.hpp"

namespace certlab::sdk {

void Transcript::add(TranscriptEntry::Dir dir, std::string_view bytes) {
    auto now = std::chrono::steady_clock::now();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - start_).count();
    // A response that arrives in several reads is one entry.
    if (dir == TranscriptEntry::Dir::rx && !entries_.empty() &&
        entries_.back().dir == TranscriptEntry::Dir::rx) {
        entries_.back().bytes.append(bytes);
        return;
    }
    entries_.push_back({dir, us, std::string(bytes)});
}

std::string Transcript::render() const {
    std::string out;
    for (const auto& e : entries_) {
        out += static_cast<char>(e.dir);
        out += ' ';
        out += e.dir == TranscriptEntry::Dir::note ? e.bytes : render_bytes(e.bytes);
        out += '\n';
    }
    return out;
}

}  // namespace certlab::sdk
