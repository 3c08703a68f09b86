// IEEE 1284 device ids, as a USB printer-class device answers GET_DEVICE_ID:
// "MFG:EPSON;CMD:ESC/POS;MDL:TM-T20II;CLS:PRINTER;". Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certlab::transport {

/// The fields of a device id in the order sent. Keys are upper-cased and the long
/// spellings the standard allows are shortened (MANUFACTURER -> MFG, COMMAND SET ->
/// CMD, MODEL -> MDL, CLASS -> CLS, DESCRIPTION -> DES), so profiles can rely on one
/// name. Values are trimmed; a key given twice keeps its first value; text without a
/// colon is skipped.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> parse_ieee1284_id(std::string_view text);

/// The id text of a GET_DEVICE_ID answer: two length bytes (big-endian, counting
/// themselves) and the text. Much firmware gets the length wrong (little-endian, or
/// counting only the text), so a length that matches the bytes received read any of
/// those ways is accepted, and the text never runs past the bytes received.
[[nodiscard]] std::string ieee1284_id_text(std::string_view answer);

/// The command sets of a CMD value ("ESC/POS,PJL" -> {"ESC/POS", "PJL"}), trimmed.
[[nodiscard]] std::vector<std::string> ieee1284_command_sets(std::string_view cmd);

}  // namespace certlab::transport
