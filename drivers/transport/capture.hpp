// Captures: a device session as text (docs/CAPTURES.md). Every byte written and read
// at the transport, errors, and markers the device layer adds (open, identify, each
// action and its result), in order, with time offsets. Recorded by RecordingTransport,
// served back by ReplayTransport.
#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certlab::transport {

/// The `# key: value` lines at the top of a capture. Values are single lines.
struct CaptureHeader {
    int version = 1;
    std::string device;         ///< device id in station.yaml
    std::string profile;        ///< profile id in lab-config/devices
    std::string driver;         ///< "escpos 1.0": driver name and version
    std::string address;        ///< transport address recorded from
    std::string manufacturer;   ///< from identify (empty when it never answered)
    std::string model;
    std::string serial_number;
    std::string firmware;
    std::string date;           ///< when recording started, UTC ISO 8601
    std::string notes;          ///< what the recording technician wrote (--record-notes)
    std::string certlab;        ///< certlab version that recorded it
    std::string settings;       ///< station.yaml setting overrides as a JSON object; empty: none
    std::vector<std::pair<std::string, std::string>> extra;  ///< keys this version does not know, kept
};

/// One line (or, for long byte records, a few lines) of a capture.
struct CaptureRecord {
    enum class Kind {
        write,   ///< `>`: bytes the host wrote
        read,    ///< `<`: bytes one read returned, as the chunk arrived
        error,   ///< `!`: an operation failed (op, error kind, message)
        marker,  ///< `@`: an event (name, payload): open, close, discard, identify, invoke, ...
    };
    Kind kind = Kind::marker;
    std::int64_t offset_us = 0;  ///< time since recording started [us]
    std::string bytes;           ///< write, read: the raw bytes
    std::string name;            ///< error: the operation (open, read, write); marker: its name
    std::string error_kind;      ///< error: timeout, closed, io, limit, cancelled, protocol, config, other
    std::string text;            ///< error: the message; marker: its payload (may be empty)
    int line = 0;                ///< line in the capture file it was read from (0: not parsed)
};

/// Marker names. The transport writes open/close/discard; the device layer the rest.
namespace marker {
inline constexpr std::string_view open = "open";              ///< payload: address
inline constexpr std::string_view close = "close";
inline constexpr std::string_view discard = "discard";        ///< stale input dropped
inline constexpr std::string_view identify = "identify";
inline constexpr std::string_view identified = "identified";  ///< payload: identity (JSON)
inline constexpr std::string_view invoke = "invoke";          ///< payload: `capability.action {args}`
inline constexpr std::string_view result = "result";          ///< payload: `capability.action {values}`
inline constexpr std::string_view failed = "error";           ///< payload: `what {"kind":..,"message":..}`
inline constexpr std::string_view lost = "lost";              ///< payload: reason
}  // namespace marker

struct Capture {
    CaptureHeader header;
    std::vector<CaptureRecord> records;
};

/// The first line of every capture of this version.
inline constexpr std::string_view capture_magic = "# certlab capture v1";

/// Header lines, ending with a blank comment line.
[[nodiscard]] std::string format_header(const CaptureHeader& h);
/// One record: a line, or for bytes one line per 16 bytes (continuations indented).
[[nodiscard]] std::string format_record(const CaptureRecord& r);
[[nodiscard]] std::string format_capture(const Capture& c);

/// Parses a capture; throws sdk::ConfigError("NAME:LINE: what was expected").
[[nodiscard]] Capture parse_capture(std::string_view text, std::string_view name = "capture");
/// Reads and parses a capture file; errors name the file.
[[nodiscard]] Capture load_capture(const std::filesystem::path& file);

/// The kind and message of an exception, as `!` records and error markers keep them:
/// TransportError kinds (timeout, closed, io, limit), `cancelled` (operation_aborted:
/// a step deadline cut the call), `protocol`, `config`, `other`.
struct ErrorDescription {
    std::string kind;
    std::string message;
};
[[nodiscard]] ErrorDescription describe_error(std::exception_ptr e);
/// Throws what describe_error() described: TransportError, ProtocolError, ConfigError,
/// boost::system::system_error(operation_aborted), or std::runtime_error.
[[noreturn]] void throw_recorded(const std::string& kind, const std::string& message);

}  // namespace certlab::transport
