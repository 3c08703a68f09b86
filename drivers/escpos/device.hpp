// ESC/POS codec, device side: what a printer does with the host's byte stream. Used by
// the simulator (fixtures/sim) and by tests; pure like protocol.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "escpos/protocol.hpp"

namespace certlab::escpos::device {

/// One complete unit of the host's stream.
struct Command {
    enum class Kind {
        text,              ///< printable bytes (print data); may be a part of a line
        line_feed,         ///< LF: print the line buffer
        init,              ///< ESC @
        status_request,    ///< DLE EOT 1..4 (`param` = n)
        identify_request,  ///< GS I n (`param` = n)
        cut,               ///< GS V (`cut`, `feed` motion units when `has_feed`)
        drawer_pulse,      ///< ESC p (`pin`, `on_units`, `off_units` in 2 ms units)
        recover,           ///< DLE ENQ n (`param` = n)
        other,             ///< a known command the simulator has no use for
        unknown,           ///< ESC/GS/FS/DLE + a function byte we have no length for
    };
    Kind kind = Kind::other;
    Bytes bytes;  ///< the command's bytes (text: the text); large data blocks are cut short
    std::uint8_t param = 0;
    CutKind cut = CutKind::full;
    bool has_feed = false;
    std::uint8_t feed = 0;       ///< [vertical motion units]
    DrawerPin pin = DrawerPin::pin2;
    std::uint8_t on_units = 0;   ///< [2 ms]
    std::uint8_t off_units = 0;  ///< [2 ms]
};

/// Splits the host's stream into commands, incrementally: feed any chunking of the
/// stream and get the same commands. Parameters of known commands are consumed by
/// length from the command reference; an unknown ESC/GS/FS/DLE sequence consumes only
/// its two introducer bytes (what follows is read as new data, as most printers do).
/// Memory is bounded: data blocks (images, NV data) are skipped, not buffered.
class Parser {
public:
    [[nodiscard]] std::vector<Command> feed(std::string_view data);
    /// True when no partial command is waiting for more bytes.
    [[nodiscard]] bool idle() const { return pending_.empty() && skip_ == 0; }

    /// Largest command kept whole [bytes]; longer data blocks are skipped.
    static constexpr std::size_t max_command = 4096;

private:
    std::string pending_;
    std::size_t skip_ = 0;  ///< bytes of an oversized data block still to drop
};

// ---- answers (printer -> host) ---------------------------------------------------

[[nodiscard]] std::uint8_t encode_status(const PrinterStatus& s);
[[nodiscard]] std::uint8_t encode_status(const OfflineCause& s);
[[nodiscard]] std::uint8_t encode_status(const ErrorCause& s);
[[nodiscard]] std::uint8_t encode_status(const RollPaper& s);
/// A "printer information B" answer: `_` + text + NUL (control bytes dropped).
[[nodiscard]] Bytes encode_id_text(std::string_view text);

}  // namespace certlab::escpos::device
