// The template driver's protocol: the three ESC/POS commands that drive a cash drawer
// on a printer's kick port. Pure encode/decode: bytes in, bytes out, nothing opened.
// Copying this folder to start a driver? Replace these with your device's commands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace certlab::tmpl {

using Bytes = std::string;

/// A decoded value, or why the bytes could not be decoded (for ProtocolError).
template <typename T>
struct Decoded {
    std::optional<T> value;
    std::string error;  ///< set when `value` is empty: the bytes in hex and what was wrong
};

enum class Pin : std::uint8_t { pin2, pin5 };

/// One drawer kick pulse as sent: times are what the device will do, after rounding.
struct Pulse {
    Bytes bytes;          ///< ESC p m t1 t2
    std::int64_t on_ms;   ///< pulse on time actually sent [ms]
    std::int64_t off_ms;  ///< pulse off time actually sent [ms]
};

/// ESC p m t1 t2 ("generate pulse"): times in 2 ms units, rounded and clamped to 1..255.
[[nodiscard]] Pulse encode_pulse(Pin pin, std::int64_t on_ms, std::int64_t off_ms);
/// DLE EOT 1 ("transmit real-time status", printer status): one byte answers.
[[nodiscard]] Bytes encode_status_request();

/// What DLE EOT 1 says about the drawer.
struct DrawerStatus {
    bool pin3_high = false;  ///< bit 2: level of kick connector pin 3 (the drawer switch)
    bool offline = false;    ///< bit 3
    friend bool operator==(const DrawerStatus&, const DrawerStatus&) = default;
};
/// Decodes a DLE EOT 1 answer; refuses one whose fixed bits (0 off, 1 on, 4 on, 7 off) are wrong.
[[nodiscard]] Decoded<DrawerStatus> decode_status(std::uint8_t byte);

/// GS I n ("transmit printer ID") for the text forms: n = 65 firmware, 66 maker,
/// 67 model, 68 serial number.
enum class IdText : std::uint8_t { firmware = 65, maker = 66, model = 67, serial = 68 };
[[nodiscard]] Bytes encode_id_request(IdText which);
/// A text answer is `_` + text + NUL; `answer` is what was read up to and including the NUL.
[[nodiscard]] Decoded<std::string> decode_id_text(std::string_view answer);
/// Longest text answer accepted, `_` and NUL included [bytes].
inline constexpr std::size_t max_id_answer = 82;

/// "0x12 0x00" for messages.
[[nodiscard]] std::string hex(std::string_view bytes);

}  // namespace certlab::tmpl
