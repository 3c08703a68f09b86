// The bytes exchanged with a device during one step, in order, with timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace certlab::sdk {

struct TranscriptEntry {
    enum class Dir : char { tx = '>', rx = '<', note = '#' };
    Dir dir;
    std::int64_t offset_us;  ///< time since the transcript started [us]
    std::string bytes;       ///< raw bytes (tx/rx) or text (note)
};

class Transcript {
public:
    Transcript() : start_(std::chrono::steady_clock::now()) {}

    void tx(std::string_view bytes) { add(TranscriptEntry::Dir::tx, bytes); }
    void rx(std::string_view bytes) { add(TranscriptEntry::Dir::rx, bytes); }
    void note(std::string_view text) { add(TranscriptEntry::Dir::note, text); }
    /// Restores an entry as stored (offset kept as given).
    void append(TranscriptEntry e) { entries_.push_back(std::move(e)); }
    void clear() {
        entries_.clear();
        start_ = std::chrono::steady_clock::now();
    }

    [[nodiscard]] const std::vector<TranscriptEntry>& entries() const { return entries_; }
    [[nodiscard]] bool empty() const { return entries_.empty(); }
    /// Human-readable form, one line per entry: `> 10 04 01` / `< 16`.
    [[nodiscard]] std::string render() const;

private:
    void add(TranscriptEntry::Dir dir, std::string_view bytes);

    std::chrono::steady_clock::time_point start_;
    std::vector<TranscriptEntry> entries_;
};

}  // namespace certlab::sdk
