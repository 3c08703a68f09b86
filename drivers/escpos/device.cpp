#include "escpos/device.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace certlab::escpos::device {
namespace {

using Kind = Command::Kind;

constexpr std::uint8_t u8(char c) { return static_cast<std::uint8_t>(c); }

/// Total length of the command at the front of `buf` (which holds at least the
/// introducer and function byte), or 0 while more bytes are needed to tell.
using LengthFn = std::size_t (*)(std::string_view buf);

struct Shape {
    char prefix;
    char fn;
    std::size_t params;         ///< fixed parameter bytes after prefix + fn
    LengthFn length = nullptr;  ///< for commands whose length depends on their bytes
};

std::size_t dle_eot(std::string_view b) {
    // "Transmit real-time status": n = 7, 8 and 18 carry one more byte.
    if (b.size() < 3) return 0;
    auto n = u8(b[2]);
    return (n == 7 || n == 8 || n == 18) ? 4 : 3;
}

std::size_t gs_v(std::string_view b) {
    // "Select cut mode and cut paper": functions B, C and D carry a feed amount.
    if (b.size() < 3) return 0;
    static constexpr std::array<std::uint8_t, 6> with_feed{65, 66, 97, 98, 103, 104};
    return std::find(with_feed.begin(), with_feed.end(), u8(b[2])) != with_feed.end() ? 4 : 3;
}

std::size_t esc_star(std::string_view b) {
    // "Select bit-image mode": ESC * m nL nH, then k columns of 1 (8-dot) or 3 (24-dot) bytes.
    if (b.size() < 5) return 0;
    std::size_t columns = u8(b[3]) + 256U * u8(b[4]);
    return 5 + columns * (u8(b[2]) <= 1 ? 1 : 3);
}

std::size_t function_block(std::string_view b) {
    // ESC ( / GS ( functions: fn pL pH, then (pL + pH x 256) bytes.
    if (b.size() < 5) return 0;
    return 5 + u8(b[3]) + 256U * u8(b[4]);
}

std::size_t gs_v0(std::string_view b) {
    // "Print raster bit image": GS v 0 m xL xH yL yH, then (xL+xH*256)*(yL+yH*256) bytes.
    if (b.size() < 8) return 0;
    std::size_t x = u8(b[4]) + 256U * u8(b[5]);
    std::size_t y = u8(b[6]) + 256U * u8(b[7]);
    return 8 + x * y;
}

std::size_t gs_8l(std::string_view b) {
    // GS 8 L p1 p2 p3 p4 m fn ...: a 32-bit length after the 7-byte header.
    if (b.size() < 7) return 0;
    std::size_t n = u8(b[3]) | (std::size_t{u8(b[4])} << 8) | (std::size_t{u8(b[5])} << 16) |
                    (std::size_t{u8(b[6])} << 24);
    return 7 + n;
}

std::size_t gs_star(std::string_view b) {
    // "Define downloaded bit image": GS * x y, then x * y * 8 bytes.
    if (b.size() < 4) return 0;
    return 4 + std::size_t{u8(b[2])} * u8(b[3]) * 8;
}

/// Index of the first NUL at or after `from` plus one, bounded by `limit` bytes total.
std::size_t until_nul(std::string_view b, std::size_t from, std::size_t limit) {
    auto nul = b.find('\0', from);
    if (nul != std::string_view::npos && nul < limit) return nul + 1;
    return b.size() >= limit ? limit : 0;
}

std::size_t esc_d(std::string_view b) {
    // "Set horizontal tab positions": up to 32 positions, NUL terminated.
    return until_nul(b, 2, 2 + 33);
}

std::size_t gs_k(std::string_view b) {
    // "Print barcode": m = 0..6 is NUL terminated; m >= 65 gives a length byte n.
    if (b.size() < 3) return 0;
    if (u8(b[2]) <= 6) return until_nul(b, 3, 3 + 256);
    if (b.size() < 4) return 0;
    return 4 + u8(b[3]);
}

// Lengths from the command reference, for the commands receipt software commonly sends.
constexpr std::array shapes{
    Shape{ctl::DLE, ctl::EOT, 0, dle_eot}, Shape{ctl::DLE, ctl::ENQ, 1},
    Shape{ctl::DLE, ctl::DC4, 3},
    Shape{ctl::ESC, '@', 0}, Shape{ctl::ESC, 'p', 3}, Shape{ctl::ESC, '!', 1},
    Shape{ctl::ESC, '-', 1}, Shape{ctl::ESC, '2', 0}, Shape{ctl::ESC, '3', 1},
    Shape{ctl::ESC, 'a', 1}, Shape{ctl::ESC, 'E', 1}, Shape{ctl::ESC, 'G', 1},
    Shape{ctl::ESC, 'M', 1}, Shape{ctl::ESC, 'R', 1}, Shape{ctl::ESC, 't', 1},
    Shape{ctl::ESC, 'd', 1}, Shape{ctl::ESC, 'e', 1}, Shape{ctl::ESC, 'J', 1},
    Shape{ctl::ESC, '{', 1}, Shape{ctl::ESC, 'V', 1}, Shape{ctl::ESC, 'c', 2},
    Shape{ctl::ESC, '$', 2}, Shape{ctl::ESC, '\\', 2}, Shape{ctl::ESC, ' ', 1},
    Shape{ctl::ESC, 'r', 1}, Shape{ctl::ESC, 'U', 1}, Shape{ctl::ESC, '=', 1},
    Shape{ctl::ESC, 'i', 0}, Shape{ctl::ESC, 'm', 0}, Shape{ctl::ESC, 'L', 0},
    Shape{ctl::ESC, 'S', 0}, Shape{ctl::ESC, 'T', 1}, Shape{ctl::ESC, 'W', 8},
    Shape{ctl::ESC, '%', 1}, Shape{ctl::ESC, '?', 1}, Shape{ctl::ESC, '<', 0},
    Shape{ctl::ESC, 'u', 1}, Shape{ctl::ESC, 'v', 0}, Shape{ctl::ESC, '*', 0, esc_star},
    Shape{ctl::ESC, 'D', 0, esc_d}, Shape{ctl::ESC, '(', 0, function_block},
    Shape{ctl::GS, 'I', 1}, Shape{ctl::GS, 'V', 0, gs_v}, Shape{ctl::GS, '!', 1},
    Shape{ctl::GS, 'B', 1}, Shape{ctl::GS, 'H', 1}, Shape{ctl::GS, 'f', 1},
    Shape{ctl::GS, 'h', 1}, Shape{ctl::GS, 'w', 1}, Shape{ctl::GS, 'L', 2},
    Shape{ctl::GS, 'W', 2}, Shape{ctl::GS, 'P', 2}, Shape{ctl::GS, 'a', 1},
    Shape{ctl::GS, 'r', 1}, Shape{ctl::GS, 'b', 1}, Shape{ctl::GS, '$', 2},
    Shape{ctl::GS, '\\', 2}, Shape{ctl::GS, '^', 3}, Shape{ctl::GS, ':', 0},
    Shape{ctl::GS, '/', 1}, Shape{ctl::GS, 'k', 0, gs_k}, Shape{ctl::GS, 'v', 0, gs_v0},
    Shape{ctl::GS, '(', 0, function_block}, Shape{ctl::GS, '8', 0, gs_8l},
    Shape{ctl::GS, '*', 0, gs_star},
    Shape{ctl::FS, '.', 0}, Shape{ctl::FS, '&', 0}, Shape{ctl::FS, '!', 1},
    Shape{ctl::FS, 'C', 1}, Shape{ctl::FS, 'S', 2}, Shape{ctl::FS, 'W', 1},
    Shape{ctl::FS, '-', 1}, Shape{ctl::FS, 'p', 2},
};

const Shape* find_shape(char prefix, char fn) {
    auto it = std::find_if(shapes.begin(), shapes.end(),
                           [&](const Shape& s) { return s.prefix == prefix && s.fn == fn; });
    return it == shapes.end() ? nullptr : &*it;
}

bool is_introducer(char c) { return c == ctl::ESC || c == ctl::GS || c == ctl::FS || c == ctl::DLE; }
bool is_text(char c) { return u8(c) >= 0x20 && c != 0x7F; }

Command make(Kind kind, std::string_view bytes) {
    Command c;
    c.kind = kind;
    c.bytes = Bytes(bytes);
    return c;
}

/// Gives a complete command its meaning.
Command classify(std::string_view b) {
    auto is = [&](char prefix, char fn) { return b[0] == prefix && b[1] == fn; };
    if (is(ctl::ESC, '@')) return make(Kind::init, b);
    if (is(ctl::DLE, ctl::EOT) && u8(b[2]) >= 1 && u8(b[2]) <= 4) {
        auto c = make(Kind::status_request, b);
        c.param = u8(b[2]);
        return c;
    }
    if (is(ctl::DLE, ctl::ENQ) || is(ctl::GS, 'I')) {
        auto c = make(is(ctl::GS, 'I') ? Kind::identify_request : Kind::recover, b);
        c.param = u8(b[2]);
        return c;
    }
    if (is(ctl::ESC, 'p')) {
        // m = 0 / '0' drives pin 2, m = 1 / '1' pin 5; anything else is ignored.
        auto m = u8(b[2]);
        if (m != 0 && m != 1 && m != '0' && m != '1') return make(Kind::other, b);
        auto c = make(Kind::drawer_pulse, b);
        c.pin = (m == 0 || m == '0') ? DrawerPin::pin2 : DrawerPin::pin5;
        c.on_units = u8(b[3]);
        c.off_units = u8(b[4]);
        return c;
    }
    if (is(ctl::GS, 'V')) {
        auto m = u8(b[2]);
        static constexpr std::array<std::uint8_t, 5> full{0, 48, 65, 97, 103};
        static constexpr std::array<std::uint8_t, 5> partial{1, 49, 66, 98, 104};
        bool is_full = std::find(full.begin(), full.end(), m) != full.end();
        bool is_partial = std::find(partial.begin(), partial.end(), m) != partial.end();
        if (!is_full && !is_partial) return make(Kind::other, b);
        auto c = make(Kind::cut, b);
        c.cut = is_full ? CutKind::full : CutKind::partial;
        c.has_feed = b.size() == 4;
        c.feed = c.has_feed ? u8(b[3]) : 0;
        return c;
    }
    return make(Kind::other, b);
}

}  // namespace

std::vector<Command> Parser::feed(std::string_view data) {
    std::vector<Command> out;
    auto drop = std::min(skip_, data.size());
    data.remove_prefix(drop);
    skip_ -= drop;
    pending_.append(data);

    std::size_t pos = 0;
    while (pos < pending_.size()) {
        std::string_view view = std::string_view(pending_).substr(pos);
        char c = view.front();
        if (is_text(c)) {
            auto run = std::find_if_not(view.begin(), view.end(), is_text) - view.begin();
            out.push_back(make(Kind::text, view.substr(0, run)));
            pos += run;
            continue;
        }
        if (!is_introducer(c)) {
            out.push_back(make(c == ctl::LF ? Kind::line_feed : Kind::other, view.substr(0, 1)));
            ++pos;
            continue;
        }
        if (view.size() < 2) break;
        const Shape* shape = find_shape(c, view[1]);
        if (!shape) {
            out.push_back(make(Kind::unknown, view.substr(0, 2)));
            pos += 2;
            continue;
        }
        std::size_t len = shape->length ? shape->length(view) : 2 + shape->params;
        if (len == 0) break;
        if (len > max_command) {
            // A data block too big to hold: report its first bytes, drop the rest as it
            // comes. Always the same number of them (the block is longer), so how the
            // stream was chunked never changes the command (found by the fuzz target).
            constexpr std::size_t reported = 16;
            static_assert(reported < max_command);
            if (view.size() < reported) break;
            out.push_back(make(Kind::other, view.substr(0, reported)));
            if (view.size() >= len) {
                pos += len;
            } else {
                skip_ = len - view.size();
                pos = pending_.size();
            }
            continue;
        }
        if (view.size() < len) break;
        out.push_back(classify(view.substr(0, len)));
        pos += len;
    }
    pending_.erase(0, pos);
    return out;
}

// "Transmit real-time status" answers: the fixed bits 1 and 4 on, 0 and 7 off.
namespace {
constexpr std::uint8_t fixed = 0x12;
constexpr std::uint8_t at(bool on, int bit) { return on ? static_cast<std::uint8_t>(1U << bit) : 0; }
}  // namespace

std::uint8_t encode_status(const PrinterStatus& s) {
    return fixed | at(s.drawer_pin3_high, 2) | at(s.offline, 3) | at(s.waiting_online_recovery, 5) |
           at(s.feed_button_pressed, 6);
}

std::uint8_t encode_status(const OfflineCause& s) {
    return fixed | at(s.cover_open, 2) | at(s.feed_button, 3) | at(s.paper_end_stop, 5) |
           at(s.error, 6);
}

std::uint8_t encode_status(const ErrorCause& s) {
    return fixed | at(s.recoverable, 2) | at(s.autocutter, 3) | at(s.unrecoverable, 5) |
           at(s.auto_recoverable, 6);
}

std::uint8_t encode_status(const RollPaper& s) {
    return fixed | (s.near_end ? 0x0C : 0) | (s.end ? 0x60 : 0);
}

Bytes encode_id_text(std::string_view text) {
    Bytes out = "_";
    for (unsigned char c : text.substr(0, max_id_text_answer - 2))
        if (c >= 0x20 && c != 0x7F) out += static_cast<char>(c);
    out += ctl::NUL;
    return out;
}

}  // namespace certlab::escpos::device
