#include "template/protocol.hpp"

#include <algorithm>
#include <cmath>

namespace certlab::tmpl {
namespace {

constexpr char ESC = 0x1B;
constexpr char DLE = 0x10;
constexpr char EOT = 0x04;
constexpr char GS = 0x1D;

/// Milliseconds to ESC p units of 2 ms: rounded, then clamped to 1..255 (2..510 ms).
std::uint8_t units(std::int64_t ms) {
    auto u = static_cast<std::int64_t>(std::llround(static_cast<double>(std::max<std::int64_t>(ms, 0)) / 2.0));
    return static_cast<std::uint8_t>(std::clamp<std::int64_t>(u, 1, 255));
}

}  // namespace

Pulse encode_pulse(Pin pin, std::int64_t on_ms, std::int64_t off_ms) {
    auto on = units(on_ms);
    auto off = units(off_ms);
    Pulse p;
    p.bytes = {ESC, 'p', static_cast<char>(pin == Pin::pin2 ? 0 : 1), static_cast<char>(on),
               static_cast<char>(off)};
    p.on_ms = on * 2;
    p.off_ms = off * 2;
    return p;
}

Bytes encode_status_request() { return {DLE, EOT, 1}; }

Decoded<DrawerStatus> decode_status(std::uint8_t byte) {
    // Every DLE EOT answer has bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0: this is how a
    // status byte is told apart from stray print data or line noise.
    if ((byte & 0x93) != 0x12)
        return {std::nullopt, "DLE EOT 1 answered " + hex(Bytes(1, static_cast<char>(byte))) +
                                  ": fixed bits (0 off, 1 on, 4 on, 7 off) do not hold"};
    return {DrawerStatus{(byte & 0x04) != 0, (byte & 0x08) != 0}, {}};
}

Bytes encode_id_request(IdText which) { return {GS, 'I', static_cast<char>(which)}; }

Decoded<std::string> decode_id_text(std::string_view answer) {
    if (answer.size() < 2 || answer.front() != '_' || answer.back() != '\0')
        return {std::nullopt, "GS I answered " + hex(answer) + ": expected '_', text and NUL"};
    if (answer.size() > max_id_answer)
        return {std::nullopt, "GS I answered " + std::to_string(answer.size()) + " bytes: longer than the " +
                                  std::to_string(max_id_answer) + " a text answer can be"};
    std::string text(answer.substr(1, answer.size() - 2));
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
        return {std::nullopt, "GS I answered " + hex(answer) + ": control bytes in the text"};
    return {std::move(text), {}};
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : bytes) {
        if (!out.empty()) out += ' ';
        out += "0x";
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    return out;
}

}  // namespace certlab::tmpl
