// The CLI's one way to the daemon: a small synchronous HTTP/1.1 client with a
// deadline on every request. No certlab_core here; the CLI only speaks the API.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace certlab::cli {

/// Process exit codes (documented in `certlab --help` and docs/API.md).
enum ExitCode : int {
    exit_ok = 0,
    exit_run_failed = 1,  ///< the run's outcome is fail: the device did the wrong thing
    exit_run_error = 2,   ///< error, timeout, aborted, interrupted, skipped: not a verdict
    exit_usage = 3,       ///< bad arguments, unreachable daemon, request refused
};

/// A failure that ends the command with `code` after printing the message.
class CliError : public std::runtime_error {
public:
    CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    [[nodiscard]] int code() const { return code_; }

private:
    int code_;
};

/// The daemon could not be reached or did not answer (as opposed to answering
/// with an error status). Polling loops retry these.
class ConnectionError : public CliError {
public:
    explicit ConnectionError(const std::string& message) : CliError(exit_usage, message) {}
};

struct StationUrl {
    std::string host;
    std::uint16_t port = 8470;
    std::string base;  ///< path prefix without trailing slash, usually empty
    std::string text;  ///< as given, for messages
};

/// Parses `http://host[:port][/prefix]` (the scheme may be left out). Throws
/// CliError(exit_usage) naming what is wrong.
[[nodiscard]] StationUrl parse_station_url(std::string_view url);

struct HttpResponse {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

class HttpClient {
public:
    HttpClient(StationUrl station, std::chrono::seconds timeout)
        : station_(std::move(station)), timeout_(timeout) {}

    /// Both throw ConnectionError when the daemon cannot be reached or does not
    /// answer within the timeout; any HTTP status is returned, not thrown.
    [[nodiscard]] HttpResponse get(std::string_view path) const;
    [[nodiscard]] HttpResponse post_json(std::string_view path, std::string body) const;

    [[nodiscard]] const StationUrl& station() const { return station_; }

private:
    [[nodiscard]] HttpResponse request(bool post, std::string_view path, std::string body) const;

    StationUrl station_;
    std::chrono::seconds timeout_;
};

}  // namespace certlab::cli
