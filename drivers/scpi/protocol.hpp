// SCPI codec, host side: the program messages the station sends to a bench power
// supply and decoders for what the instrument answers. Pure: text in, text or values
// out; no I/O. Terms follow IEEE 488.2 (NR1/NR2/NR3, *IDN?) and SCPI-99 (SYST:ERR?).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace certlab::scpi {

/// Raw bytes on the wire.
using Bytes = std::string;

/// Every message, both ways, ends with a newline (IEEE 488.2 "NL^END"); an
/// instrument may put a carriage return before it.
inline constexpr char terminator = '\n';
/// Longest answer we accept, terminator included [bytes]: `*IDN?` and error queue
/// entries are well below it; anything longer is a runaway stream.
inline constexpr std::size_t max_message = 512;

/// One program message, e.g. `VOLT 12` or `MEAS:CURR?`, without its terminator. The
/// text names the command in every error message.
struct Command {
    std::string text;

    /// Queries end in '?' and are answered with exactly one response message.
    [[nodiscard]] bool is_query() const { return !text.empty() && text.back() == '?'; }
    /// The bytes to send: the text and the terminator.
    [[nodiscard]] Bytes wire() const { return text + terminator; }
    friend bool operator==(const Command&, const Command&) = default;
};

// ---- encoders (host -> instrument) ----------------------------------------------

namespace cmd {
[[nodiscard]] Command identify();                ///< *IDN?
[[nodiscard]] Command reset();                   ///< *RST
[[nodiscard]] Command clear_status();            ///< *CLS: empties the error queue
[[nodiscard]] Command output(bool on);           ///< OUTP ON | OUTP OFF
[[nodiscard]] Command output_query();            ///< OUTP?
/// VOLT <v> [V]; throws std::invalid_argument for a value that is not finite.
[[nodiscard]] Command voltage(double volts);
[[nodiscard]] Command voltage_query();           ///< VOLT? (the set-point)
/// CURR <a> [A], the current limit; throws std::invalid_argument when not finite.
[[nodiscard]] Command current(double amps);
[[nodiscard]] Command current_query();           ///< CURR? (the limit)
[[nodiscard]] Command measure_voltage();         ///< MEAS:VOLT?
[[nodiscard]] Command measure_current();         ///< MEAS:CURR?
[[nodiscard]] Command next_error();              ///< SYST:ERR?
}  // namespace cmd

/// A query taken from a device profile (a model-specific one such as
/// `CURR:PROT:TRIP?`): one header ending in '?', printable ASCII, no ';' that could
/// chain a second command. nullopt when it is not such a query.
[[nodiscard]] std::optional<Command> custom_query(std::string_view text);

/// A number as SCPI numeric program data (NRf): the shortest text that reads back
/// as the same double, e.g. `12`, `0.25`, `1e-05`. nullopt when not finite.
[[nodiscard]] std::optional<std::string> format_number(double v);

// ---- decoders (instrument -> host) ----------------------------------------------

/// A decoded value, or why the answer could not be decoded.
template <typename T>
struct Decoded {
    std::optional<T> value;
    std::string error;  ///< set when `value` is empty: quotes the answer and says what was expected

    [[nodiscard]] explicit operator bool() const { return value.has_value(); }
    [[nodiscard]] const T& operator*() const { return *value; }
    [[nodiscard]] const T* operator->() const { return &*value; }
};

/// The four fields of an `*IDN?` answer (IEEE 488.2 10.14).
struct Identity {
    std::string manufacturer;
    std::string model;
    std::string serial_number;  ///< "0" when the instrument does not report one
    std::string firmware;
    friend bool operator==(const Identity&, const Identity&) = default;
};

/// One entry of the error queue: `-113,"Undefined header"`; code 0 is "No error".
struct ErrorEntry {
    int code = 0;
    std::string message;

    [[nodiscard]] bool is_error() const { return code != 0; }
    /// As the instrument wrote it: `-113,"Undefined header"`.
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const ErrorEntry&, const ErrorEntry&) = default;
};

/// The response text of one message as read up to and including its newline: the
/// newline (and a CR before it) removed; refused when it has no terminator, is too
/// long or carries control bytes.
[[nodiscard]] Decoded<std::string> decode_message(std::string_view message);
/// A numeric response: NR1 (`12`), NR2 (`+12.50`) or NR3 (`+1.2000E+01`). SCPI's
/// overload and not-a-number markers (9.9E37, 9.91E37) are refused: no measurement.
[[nodiscard]] Decoded<double> decode_number(std::string_view text);
/// A boolean response: `0`/`1` (also `+0`/`+1`) or `ON`/`OFF` in any case.
[[nodiscard]] Decoded<bool> decode_bool(std::string_view text);
/// An `*IDN?` answer: exactly four comma-separated fields; manufacturer and model
/// must not be empty.
[[nodiscard]] Decoded<Identity> decode_identity(std::string_view text);
/// A `SYST:ERR?` answer: `<code>,"<message>"` (a doubled quote inside the message
/// stands for one quote).
[[nodiscard]] Decoded<ErrorEntry> decode_error(std::string_view text);

/// The answer for humans inside quotes: printable ASCII as is, other bytes as <1B>.
[[nodiscard]] std::string quote(std::string_view bytes);

}  // namespace certlab::scpi
