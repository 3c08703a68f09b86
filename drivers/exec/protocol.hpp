// The exec driver protocol (docs/EXEC-DRIVERS.md): JSON lines between certlabd and a
// driver child process. Pure encode/decode, no I/O: requests out, messages in.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sdk/capability.hpp"
#include "sdk/driver.hpp"
#include "sdk/resource.hpp"
#include "sdk/settings.hpp"
#include "sdk/value.hpp"

namespace certlab::exec {

/// The protocol version this daemon speaks (the `protocol` of `hello`).
inline constexpr int protocol_version = 1;
/// Longest line either side may send, newline excluded [bytes].
inline constexpr std::size_t max_line = 1 << 20;
/// Longest relayed read or write [bytes].
inline constexpr std::size_t max_io_bytes = 64 * 1024;
/// Longest relayed I/O wait a child may ask for.
inline constexpr std::chrono::milliseconds max_io_timeout{60'000};

/// The line is not JSON (or not a JSON object).
class MalformedJson : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The line is JSON but not a valid message (unknown type, missing or mistyped field).
class ProtocolViolation : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ---- messages from the child ----------------------------------------------------

struct Hello {
    int protocol = 0;
    std::string driver;
    std::string version;
    std::vector<std::string> actions;  ///< `capability.action` names it implements
};

struct Result {
    std::uint64_t id = 0;
    sdk::Values values;
};

/// How the child classifies a failed request; the daemon maps it to an outcome.
enum class ErrorKind {
    fail,     ///< the device did the wrong thing (ProtocolError -> `fail`)
    timeout,  ///< the device did not answer (TransportError timeout -> `timeout`)
    link,     ///< the link to the device failed (TransportError io -> `error`, device lost)
    config,   ///< a bad argument or setting (ConfigError -> `error`)
    driver,   ///< anything else in the driver (-> `error`)
};

struct Error {
    std::uint64_t id = 0;
    ErrorKind kind = ErrorKind::driver;
    std::string message;
};

enum class LogLevel { trace, debug, info, warn, error };

struct Log {
    LogLevel level = LogLevel::info;
    std::string message;
    bool transcript = false;  ///< also a note in the current step's transcript
};

/// A request to do I/O on the device's link, which the daemon owns.
struct Io {
    enum class Op { write, read, read_until, discard };
    std::uint64_t id = 0;  ///< the request being served
    Op op = Op::write;
    std::string data;   ///< write: the bytes; read_until: the delimiter
    std::size_t n = 0;  ///< read: exactly this many bytes; read_until: at most this many
    std::chrono::milliseconds timeout{0};
};

using Message = std::variant<Hello, Result, Error, Log, Io>;

/// Parses one line (without its newline). Throws MalformedJson or ProtocolViolation.
[[nodiscard]] Message parse_message(std::string_view line);

// ---- requests to the child -------------------------------------------------------
// Each returns one line, newline included.

[[nodiscard]] std::string encode_open(std::uint64_t id, const std::string& device_id, const sdk::Resource& resource,
                                      const sdk::Settings& settings);
[[nodiscard]] std::string encode_identify(std::uint64_t id);
[[nodiscard]] std::string encode_invoke(std::uint64_t id, const sdk::ActionSpec& action, const sdk::Args& args);
/// Answer to an Io request: the bytes read (empty for write and discard).
[[nodiscard]] std::string encode_io_result(std::uint64_t id, std::string_view data);
/// An Io request failed: kind is timeout, closed, io or limit.
[[nodiscard]] std::string encode_io_error(std::uint64_t id, std::string_view kind, std::string_view message);

// ---- checks and conversions ------------------------------------------------------

/// Why `values` do not fit the catalog's results of `action` ("" when they do):
/// unknown names and wrong types are driver bugs.
[[nodiscard]] std::string check_results(const sdk::ActionSpec& action, const sdk::Values& values);
/// An identify result as an Identity: manufacturer, model, serial_number and firmware
/// (strings) fill the fields; everything else goes to `extra`.
[[nodiscard]] sdk::Identity identity_from(const sdk::Values& values);

/// Splits a `command` setting into argv: words separated by blanks; "double" or
/// 'single' quotes keep blanks in a word; a backslash escapes the next character
/// (outside single quotes). Nothing is expanded: no variables, globs or ~.
/// Throws sdk::ConfigError on an unterminated quote or an empty command.
[[nodiscard]] std::vector<std::string> split_command(std::string_view command);

[[nodiscard]] std::string to_hex(std::string_view bytes);
/// nullopt when `hex` has odd length or a non-hex digit.
[[nodiscard]] std::optional<std::string> from_hex(std::string_view hex);

}  // namespace certlab::exec
