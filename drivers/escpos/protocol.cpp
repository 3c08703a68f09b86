#include "escpos/protocol.hpp"

#include <algorithm>

namespace certlab::escpos {
namespace {

constexpr bool bit(std::uint8_t b, int n) { return (b >> n) & 1U; }

// "Transmit real-time status" (DLE EOT): every answer byte has bit 0 off, bit 1 on,
// bit 4 on and bit 7 off, which is how a host tells status apart from other data.
constexpr std::uint8_t status_fixed_mask = 0x93;   // bits 0, 1, 4, 7
constexpr std::uint8_t status_fixed_value = 0x12;  // bits 1, 4 on

// "Transmit printer ID" (GS I): one-byte IDs have the form 0xx0xxxx.
constexpr std::uint8_t id_fixed_mask = 0x90;  // bits 4, 7 off

Bytes bytes(std::initializer_list<int> list) {
    Bytes out;
    out.reserve(list.size());
    for (int b : list) out += static_cast<char>(b);
    return out;
}

template <typename T, typename Build>
Decoded<T> decode_status(std::uint8_t byte, StatusKind kind, Build build) {
    if (auto problem = check_status_fixed_bits(byte, kind); !problem.empty())
        return {std::nullopt, std::move(problem)};
    return {build(byte), {}};
}

}  // namespace

// ---- encoders -------------------------------------------------------------------

// "Initialize printer": clears the print buffer and resets modes; prints nothing.
Bytes encode_init() { return bytes({ctl::ESC, '@'}); }

Bytes encode_status_request(StatusKind kind) {
    return bytes({ctl::DLE, ctl::EOT, static_cast<int>(kind)});
}

Bytes encode_identify_request(IdKind kind) { return bytes({ctl::GS, 'I', static_cast<int>(kind)}); }

Bytes encode_text_line(std::string_view text) {
    Bytes out;
    out.reserve(text.size() + 1);
    for (unsigned char c : text) out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
    out += ctl::LF;
    return out;
}

// "Select cut mode and cut paper", function A: m = 0 full cut, m = 1 partial cut.
Bytes encode_cut(CutKind kind) { return bytes({ctl::GS, 'V', kind == CutKind::full ? 0 : 1}); }

// Same command, function B: m = 65 full / 66 partial, after feeding n motion units.
Bytes encode_feed_and_cut(CutKind kind, std::uint8_t feed) {
    return bytes({ctl::GS, 'V', kind == CutKind::full ? 65 : 66, feed});
}

// "Generate pulse": m = 0 drives connector pin 2, m = 1 pin 5.
Bytes encode_drawer_pulse(DrawerPin pin, std::uint8_t on_units, std::uint8_t off_units) {
    return bytes({ctl::ESC, 'p', pin == DrawerPin::pin2 ? 0 : 1, on_units, off_units});
}

Bytes encode_recover(RecoverMode mode) { return bytes({ctl::DLE, ctl::ENQ, static_cast<int>(mode)}); }

std::uint8_t pulse_units(std::int64_t ms) {
    // ESC p counts in 2 ms steps and 0 means "no pulse", which would be a silent no-op.
    std::int64_t units = (std::max<std::int64_t>(ms, 0) + 1) / 2;
    return static_cast<std::uint8_t>(std::clamp<std::int64_t>(units, 1, 255));
}

// ---- decoders -------------------------------------------------------------------

std::string check_status_fixed_bits(std::uint8_t byte, StatusKind kind) {
    if ((byte & status_fixed_mask) == status_fixed_value) return {};
    return "malformed answer " + hex(byte) + " to " + request_name(kind) +
           ": fixed bits (0 off, 1 on, 4 on, 7 off) do not hold";
}

Decoded<PrinterStatus> decode_printer_status(std::uint8_t byte) {
    return decode_status<PrinterStatus>(byte, StatusKind::printer, [](std::uint8_t b) {
        return PrinterStatus{bit(b, 2), bit(b, 3), bit(b, 5), bit(b, 6)};
    });
}

Decoded<OfflineCause> decode_offline_cause(std::uint8_t byte) {
    return decode_status<OfflineCause>(byte, StatusKind::offline_cause, [](std::uint8_t b) {
        return OfflineCause{bit(b, 2), bit(b, 3), bit(b, 5), bit(b, 6)};
    });
}

Decoded<ErrorCause> decode_error_cause(std::uint8_t byte) {
    return decode_status<ErrorCause>(byte, StatusKind::error_cause, [](std::uint8_t b) {
        return ErrorCause{bit(b, 2), bit(b, 3), bit(b, 5), bit(b, 6)};
    });
}

// The near-end and end sensors each own two bits; printers set both of a pair.
// A pair with only one bit set is read as "detected": a half-reported paper end
// must not let a job through.
Decoded<RollPaper> decode_roll_paper(std::uint8_t byte) {
    return decode_status<RollPaper>(byte, StatusKind::roll_paper, [](std::uint8_t b) {
        return RollPaper{bit(b, 2) || bit(b, 3), bit(b, 5) || bit(b, 6)};
    });
}

Decoded<std::uint8_t> decode_id_byte(std::uint8_t byte, IdKind kind) {
    if ((byte & id_fixed_mask) != 0)
        return {std::nullopt, "malformed answer " + hex(byte) + " to " + request_name(kind) +
                                  ": bits 4 and 7 must be off"};
    return {byte, {}};
}

Decoded<std::string> decode_id_text(std::string_view answer, IdKind kind) {
    auto fail = [&](std::string_view why) {
        return Decoded<std::string>{std::nullopt, "malformed answer " + hex(answer) + " to " +
                                                      request_name(kind) + ": " + std::string(why)};
    };
    if (answer.size() < 2 || answer.front() != '_') return fail("expected header 0x5F");
    if (answer.back() != ctl::NUL) return fail("expected NUL terminator");
    if (answer.size() > max_id_text_answer) return fail("answer too long");
    std::string_view text = answer.substr(1, answer.size() - 2);
    bool printable = std::all_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u != 0x7F;
    });
    if (!printable) return fail("text contains control bytes");
    return {std::string(text), {}};
}

std::string request_name(StatusKind kind) {
    return "DLE EOT " + std::to_string(static_cast<int>(kind));
}

std::string request_name(IdKind kind) { return "GS I " + std::to_string(static_cast<int>(kind)); }

std::string hex(std::uint8_t byte) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return {'0', 'x', digits[byte >> 4], digits[byte & 0xF]};
}

std::string hex(std::string_view data) {
    std::string out;
    for (unsigned char c : data) {
        if (!out.empty()) out += ' ';
        out += hex(static_cast<std::uint8_t>(c));
    }
    return out.empty() ? "(no bytes)" : out;
}

}  // namespace certlab::escpos
