// ESC/POS codec, host side: encoders for the commands the station sends and decoders
// for what a printer answers. Pure: bytes in, bytes or values out; no I/O.
// Section names refer to Epson's "ESC/POS Command Reference".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace certlab::escpos {

/// Raw bytes on the wire (may contain NUL).
using Bytes = std::string;

namespace ctl {
inline constexpr char NUL = 0x00;
inline constexpr char EOT = 0x04;
inline constexpr char ENQ = 0x05;
inline constexpr char LF = 0x0A;
inline constexpr char DLE = 0x10;
inline constexpr char DC4 = 0x14;
inline constexpr char ESC = 0x1B;
inline constexpr char FS = 0x1C;
inline constexpr char GS = 0x1D;
}  // namespace ctl

/// The `n` of `DLE EOT n` ("Transmit real-time status").
enum class StatusKind : std::uint8_t { printer = 1, offline_cause = 2, error_cause = 3, roll_paper = 4 };

/// The `n` of `GS I n` ("Transmit printer ID"). 1..3 answer one byte; 65.. answer
/// "printer information B": `_` + text + NUL.
enum class IdKind : std::uint8_t {
    model_id = 1,
    type_id = 2,
    version_id = 3,
    firmware = 65,
    maker = 66,
    model = 67,
    serial = 68,
    extra_info = 69,  ///< model specific (mounted fonts, code page...)
};

enum class CutKind : std::uint8_t { full, partial };
enum class DrawerPin : std::uint8_t { pin2, pin5 };
/// The `n` of `DLE ENQ n` ("Send real-time request to printer").
enum class RecoverMode : std::uint8_t { restart_line = 1, clear_buffers = 2 };

/// DLE EOT 1: printer status.
struct PrinterStatus {
    bool drawer_pin3_high = false;         ///< bit 2: drawer kick connector pin 3 level
    bool offline = false;                  ///< bit 3
    bool waiting_online_recovery = false;  ///< bit 5
    bool feed_button_pressed = false;      ///< bit 6
    friend bool operator==(const PrinterStatus&, const PrinterStatus&) = default;
};

/// DLE EOT 2: offline cause.
struct OfflineCause {
    bool cover_open = false;      ///< bit 2
    bool feed_button = false;     ///< bit 3: paper being fed by the feed button
    bool paper_end_stop = false;  ///< bit 5: printing stopped by a paper end
    bool error = false;           ///< bit 6: an error occurred (see DLE EOT 3)
    friend bool operator==(const OfflineCause&, const OfflineCause&) = default;
};

/// DLE EOT 3: error cause.
struct ErrorCause {
    bool recoverable = false;       ///< bit 2 (recover with DLE ENQ)
    bool autocutter = false;        ///< bit 3
    bool unrecoverable = false;     ///< bit 5
    bool auto_recoverable = false;  ///< bit 6 (e.g. head overheat; clears by itself)
    friend bool operator==(const ErrorCause&, const ErrorCause&) = default;
};

/// DLE EOT 4: roll paper sensor status.
struct RollPaper {
    bool near_end = false;  ///< bits 2,3: near-end sensor reports paper near end
    bool end = false;       ///< bits 5,6: end sensor reports no paper
    friend bool operator==(const RollPaper&, const RollPaper&) = default;
};

/// A decoded value, or why the bytes could not be decoded.
template <typename T>
struct Decoded {
    std::optional<T> value;
    std::string error;  ///< set when `value` is empty; names the bytes in hex and the request

    [[nodiscard]] explicit operator bool() const { return value.has_value(); }
    [[nodiscard]] const T& operator*() const { return *value; }
    [[nodiscard]] const T* operator->() const { return &*value; }
};

// ---- encoders (host -> printer) -------------------------------------------------

[[nodiscard]] Bytes encode_init();                              ///< ESC @
[[nodiscard]] Bytes encode_status_request(StatusKind kind);     ///< DLE EOT n
[[nodiscard]] Bytes encode_identify_request(IdKind kind);       ///< GS I n
/// The line followed by LF. Control bytes (< 0x20, 0x7F) in `text` become '?', so a
/// line can never smuggle a command into the printer.
[[nodiscard]] Bytes encode_text_line(std::string_view text);
[[nodiscard]] Bytes encode_cut(CutKind kind);                   ///< GS V 0|1
/// GS V 65|66 n: feed to the cut position plus `feed` motion units, then cut.
[[nodiscard]] Bytes encode_feed_and_cut(CutKind kind, std::uint8_t feed);
/// ESC p m t1 t2: on time t1 x 2 ms, off time t2 x 2 ms.
[[nodiscard]] Bytes encode_drawer_pulse(DrawerPin pin, std::uint8_t on_units, std::uint8_t off_units);
[[nodiscard]] Bytes encode_recover(RecoverMode mode);           ///< DLE ENQ n

/// Milliseconds to ESC p 2 ms units, rounded and clamped to 1..255.
[[nodiscard]] std::uint8_t pulse_units(std::int64_t ms);

// ---- decoders (printer -> host) -------------------------------------------------

/// Checks the fixed bits every DLE EOT answer carries (bit 0 = 0, bit 1 = 1,
/// bit 4 = 1, bit 7 = 0); an empty string when they hold, else the complaint.
[[nodiscard]] std::string check_status_fixed_bits(std::uint8_t byte, StatusKind kind);

[[nodiscard]] Decoded<PrinterStatus> decode_printer_status(std::uint8_t byte);
[[nodiscard]] Decoded<OfflineCause> decode_offline_cause(std::uint8_t byte);
[[nodiscard]] Decoded<ErrorCause> decode_error_cause(std::uint8_t byte);
[[nodiscard]] Decoded<RollPaper> decode_roll_paper(std::uint8_t byte);

/// A one-byte GS I answer (n = 1..3); bits 4 and 7 must be 0 ("0xx0xxxx").
[[nodiscard]] Decoded<std::uint8_t> decode_id_byte(std::uint8_t byte, IdKind kind);
/// A "printer information B" answer: `_` + text + NUL, as read up to and including NUL.
[[nodiscard]] Decoded<std::string> decode_id_text(std::string_view answer, IdKind kind);
/// Longest printer information B answer we accept, header and NUL included [bytes].
inline constexpr std::size_t max_id_text_answer = 82;

/// The request as a human names it: "DLE EOT 4", "GS I 67".
[[nodiscard]] std::string request_name(StatusKind kind);
[[nodiscard]] std::string request_name(IdKind kind);
/// "0x72" for one byte; "0xFF 0xEE" for several.
[[nodiscard]] std::string hex(std::string_view bytes);
[[nodiscard]] std::string hex(std::uint8_t byte);

}  // namespace certlab::escpos
