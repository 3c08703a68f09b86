// NCI General Purpose scale protocol, host side (Avery Weigh-Tronix control document
// SCP-01, "NCI standard"), as spoken by Brecknell / Avery Weigh-Tronix / NCI POS and
// bench scales. Pure: requests out as bytes, responses in as bytes; no I/O.
//
//   W<CR>  ->  <LF>  1.25lb<CR><LF>S hh..<CR><ETX>   weight, unit and status
//   S<CR>  ->  <LF>S hh..<CR><ETX>                   status
//   Z<CR>  ->  <LF>S hh..<CR><ETX>                   zero, then status
//   U<CR>  ->  <LF>kg<CR><LF>S hh..<CR><ETX>          next unit, then status
//   other  ->  <LF>?<CR><ETX>                        unrecognised command
//
// `S` before the status bytes is the form of POS scales (Brecknell 67xx, Avery
// Weigh-Tronix 6702/6712); the form printed in SCP-01 itself has none (Dialect).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace certlab::scale {

/// Raw bytes on the wire.
using Bytes = std::string;

inline constexpr char lf = '\n';
inline constexpr char cr = '\r';
inline constexpr char etx = '\x03';

/// Longest line between <LF> and <CR> [bytes]: a weight such as "xxxx.xxuu" or a
/// lb-oz display is well below it.
inline constexpr std::size_t max_line = 24;
/// Status bytes after which the chain must end: SCP-01 defines three, some
/// indicators send a fourth.
inline constexpr std::size_t max_status_bytes = 4;
/// Longest response, framing included [bytes]: anything longer is a runaway stream.
inline constexpr std::size_t max_response = 1 + max_line + 2 + 1 + max_status_bytes + 2;

// ---- requests (host -> scale) ------------------------------------------------------

enum class Request { weight, status, zero, units };

/// The bytes of a request: its letter and <CR> (`W\r`).
[[nodiscard]] Bytes encode(Request r);
/// The request as a transcript or error message names it: `W`, `S`, `Z`, `U`.
[[nodiscard]] std::string_view name(Request r);

// ---- units ------------------------------------------------------------------------

enum class Unit { lb, kg, oz, g };

/// `lb`, `kg`, `oz`, `g` (also the engine's unit symbols).
[[nodiscard]] std::string_view to_string(Unit u);
/// One of lb, kg, oz, g in any case (scales send `LB` or `lb`); nullopt otherwise.
[[nodiscard]] std::optional<Unit> parse_unit(std::string_view text);

// ---- responses (scale -> host) ------------------------------------------------------

/// How a scale frames its status line.
struct Dialect {
    bool status_prefix = true;  ///< an `S` before the status bytes (POS scales)
    friend bool operator==(const Dialect&, const Dialect&) = default;
};

/// The status bytes of SCP-01. Each byte has bits 4 and 5 set; bit 6 of byte 1 is 0
/// and of the others says "another byte follows"; bit 7 is the character's parity,
/// which a 7-bit line (7E1) never delivers, so it must be 0 here.
struct Status {
    // byte 1
    bool motion = false;             ///< bit 0: weight not stable
    bool at_zero = false;            ///< bit 1: centre of zero
    bool ram_error = false;          ///< bit 2
    bool eeprom_error = false;       ///< bit 3
    // byte 2
    bool under_capacity = false;     ///< bit 0: below the weighing range
    bool over_capacity = false;      ///< bit 1: above the weighing range
    bool rom_error = false;          ///< bit 2
    bool calibration_error = false;  ///< bit 3: faulty calibration data
    // byte 3, when the scale sends it
    std::optional<bool> high_range;          ///< bits 0-1: 11 high range, 00 low range
    std::optional<bool> net;                 ///< bit 2: net (tared) rather than gross weight
    std::optional<bool> initial_zero_error;  ///< bit 3
    /// The status bytes as received (2 to max_status_bytes); byte 4 is kept, not decoded.
    Bytes bytes;

    /// A RAM, ROM, EEPROM or calibration error.
    [[nodiscard]] bool fault() const { return ram_error || eeprom_error || rom_error || calibration_error; }
    /// The flags that are set, for messages: "motion, over capacity" ("ok" when none).
    [[nodiscard]] std::string describe() const;
};

/// The status bytes for `s`'s flags: two bytes, or three when any byte-3 field is set.
/// `s.bytes` is ignored.
[[nodiscard]] Bytes encode_status(const Status& s);

/// One complete response frame.
struct Response {
    /// The line before the status line (W and U), without <LF> and <CR>; none for S and Z.
    std::optional<std::string> data;
    Status status;
    /// `<LF>?<CR><ETX>`: the scale did not recognise the command (no status then).
    bool unrecognised = false;
};

/// The frame a scale sends for `r` (the data line, the status line with r.status.bytes):
/// what decoding it gives back. For tests and the fuzzer.
[[nodiscard]] Bytes encode_response(const Response& r, Dialect d = {});

/// Incremental, strict decoder of one response frame. Feed it bytes as they arrive;
/// it stops at the <ETX> that ends the frame, or at the first byte that cannot be part
/// of one (a control byte out of place, a byte with bit 7 set, a line over max_line,
/// a bad status byte), so garbage is refused without waiting for a terminator.
class Decoder {
public:
    explicit Decoder(Dialect d = {}) : dialect_(d) {}

    /// Consumes bytes up to and including the frame's <ETX>, or up to and including
    /// the first invalid byte; returns how many it consumed (never more than given).
    /// Nothing is consumed once done() or failed().
    std::size_t feed(std::string_view bytes);

    [[nodiscard]] bool done() const { return state_ == State::done; }
    [[nodiscard]] bool failed() const { return state_ == State::failed; }
    /// The decoded frame; valid once done().
    [[nodiscard]] const Response& response() const { return response_; }
    /// Why the frame was refused (quotes the bytes seen); set once failed().
    [[nodiscard]] const std::string& error() const { return error_; }
    /// The bytes consumed so far.
    [[nodiscard]] const Bytes& seen() const { return seen_; }
    /// Ready for the next frame.
    void reset();

private:
    enum class State { start, line, after_cr, status_cr, done, failed };

    bool step(char c);
    bool fail(const std::string& expected);
    bool end_status_line();

    Dialect dialect_;
    State state_ = State::start;
    std::string line_;    ///< the line being received
    std::string first_;   ///< a completed first line, while its status line comes
    bool second_ = false; ///< the line being received is the status line after a data line
    Response response_;
    std::string error_;
    Bytes seen_;
};

/// Decodes a status line (without <LF>/<CR>): the `S` when the dialect has one, then
/// 2..max_status_bytes valid status bytes. Empty error on success.
[[nodiscard]] std::optional<Status> decode_status_line(std::string_view line, Dialect d, std::string& error);

// ---- the data line ----------------------------------------------------------------

/// What the data line of a weight response says.
struct Reading {
    std::string display;          ///< the line as sent, e.g. "   1.25lb"
    std::optional<double> value;  ///< in `unit`; none when the display shows no weight
    Unit unit = Unit::lb;
    int decimals = 0;             ///< digits after the decimal point as displayed
    bool lb_oz = false;           ///< a "2lb 3.5oz" display; value is in lb
};

/// Result of decoding a line: the value, or why not.
template <typename T>
struct Decoded {
    std::optional<T> value;
    std::string error;  ///< set when `value` is empty: quotes the line and says what was expected

    [[nodiscard]] explicit operator bool() const { return value.has_value(); }
    [[nodiscard]] const T& operator*() const { return *value; }
    [[nodiscard]] const T* operator->() const { return &*value; }
};

/// A weight line: `[blanks][-]digits[.digits][blanks]unit[blanks]`, or lb-oz
/// (`2lb 3.5oz`), or display characters without digits followed by a unit (an
/// out-of-range display such as "-------lb"; value then empty).
[[nodiscard]] Decoded<Reading> decode_reading(std::string_view line);
/// The data line of a U response: the new unit alone (`kg`, SCP-01), or a weight in the
/// new unit (indicators that answer U like W).
[[nodiscard]] Decoded<Unit> decode_units_line(std::string_view line);

/// Bytes for humans inside quotes: printable ASCII as is, others as <0D>.
[[nodiscard]] std::string quote(std::string_view bytes);

}  // namespace certlab::scale
