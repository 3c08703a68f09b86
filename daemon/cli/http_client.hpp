// The CLI's one way to the daemon: a small synchronous HTTP/1.1 client with a
// deadline on every request. No certlab_core here; the CLI only speaks the API.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
    bool tls = false;  ///< https://
    std::string host;
    std::uint16_t port = 8470;
    std::string base;  ///< path prefix without trailing slash, usually empty
    std::string text;  ///< as given, for messages
};

/// Parses `http[s]://host[:port][/prefix]` (the scheme may be left out: http). Throws
/// CliError(exit_usage) naming what is wrong.
[[nodiscard]] StationUrl parse_station_url(std::string_view url);

struct HttpResponse {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

/// How the CLI proves who it is and whom it trusts.
struct ClientAuth {
    std::string token;    ///< bearer token; empty: none sent (a loopback station without tokens)
    std::string ca_file;  ///< PEM CA certificates for https; empty: the system's
};

/// The token from $CERTLAB_TOKEN, or else from the file `token_file` (or
/// $CERTLAB_TOKEN_FILE), first line, trimmed. Never from the command line, where
/// every user of the machine could read it in the process list. Throws CliError
/// when the file cannot be read or is readable by others.
[[nodiscard]] std::string read_token(const std::string& token_file);

/// Gets a streamed body's bytes as they arrive; false stops reading.
using BodySink = std::function<bool(std::string_view)>;

class HttpClient {
public:
    HttpClient(StationUrl station, std::chrono::seconds timeout, ClientAuth auth = {})
        : station_(std::move(station)), timeout_(timeout), auth_(std::move(auth)) {}

    /// Both throw ConnectionError when the daemon cannot be reached or does not
    /// answer within the timeout; any HTTP status is returned, not thrown.
    [[nodiscard]] HttpResponse get(std::string_view path) const;
    [[nodiscard]] HttpResponse post_json(std::string_view path, std::string body) const;

    /// GET `path` as a stream (server-sent events): a 200 answer's body goes to
    /// `on_data` as it arrives, until the server ends it or `on_data` returns false;
    /// `idle` bounds each wait for more (heartbeats keep a live stream busy). Sends
    /// `Last-Event-ID` when given. Another status is returned with its body.
    [[nodiscard]] HttpResponse stream(std::string_view path, const std::string& last_event_id,
                                      std::chrono::seconds idle, const BodySink& on_data) const;

    [[nodiscard]] const StationUrl& station() const { return station_; }
    [[nodiscard]] const ClientAuth& auth() const { return auth_; }

private:
    [[nodiscard]] HttpResponse request(bool post, std::string_view path, std::string body) const;
    // Beast's request type stays out of this header (it is included by every command).
    template <class Request>
    [[nodiscard]] HttpResponse perform(Request& req, const BodySink* on_data, std::chrono::seconds idle) const;

    StationUrl station_;
    std::chrono::seconds timeout_;
    ClientAuth auth_;
};

}  // namespace certlab::cli
