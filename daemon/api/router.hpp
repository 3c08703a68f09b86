// The API's route table: method + path pattern (with `{name}` segments) -> handler.
// Transport-free on purpose, so routing and error mapping are testable without a
// socket and the server only converts to and from Beast messages.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certlab::api {

using StringMap = std::map<std::string, std::string, std::less<>>;

struct Request {
    std::string method;        ///< "GET", "POST", ... as sent
    std::string target;        ///< raw request target, for logs
    std::string path;          ///< raw (still percent-encoded) path of the target
    StringMap query;           ///< decoded query parameters; the last one of a name wins
    StringMap params;          ///< decoded `{name}` segments, filled by the router
    std::string content_type;
    std::string if_none_match;  ///< the If-None-Match header, for cached static files
    std::string body;

    /// The query parameter, or nullopt when absent.
    [[nodiscard]] std::optional<std::string_view> query_param(std::string_view name) const;
};

struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

/// Thrown by a handler to answer with an `application/problem+json` error.
class HttpError : public std::runtime_error {
public:
    HttpError(unsigned status, const std::string& detail)
        : std::runtime_error(detail), status_(status) {}
    [[nodiscard]] unsigned status() const { return status_; }

private:
    unsigned status_;
};

/// An RFC 7807 problem document: {"type","title","status","detail"}.
[[nodiscard]] Response problem(unsigned status, std::string_view detail);

/// Splits a request target into path and decoded query. Throws HttpError(400) on a
/// malformed percent escape.
void parse_target(std::string_view target, Request& req);

/// Percent-decodes `s` ('+' becomes a space only when `plus_is_space`).
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// Where a handler may run when the server serves on a thread of its own (api/server.hpp).
enum class Affinity {
    /// On the station's executor: the handler reads or changes the station's state.
    station,
    /// On whichever thread serves the connection: the handler reads only the store
    /// (whose calls are serialized), StationView's thread-safe devices(), and
    /// state of its own that is safe to share.
    any,
};

class Router {
public:
    using Handler = std::function<Response(const Request&)>;

    /// Registers `method pattern`, e.g. ("GET", "/v1/runs/{id}/steps"). `max_body`
    /// [bytes], when not 0, replaces the server's request body limit for this route
    /// (an upload); see body_limit().
    void add(std::string method, std::string_view pattern, Handler handler, std::size_t max_body = 0,
             Affinity affinity = Affinity::station);
    /// The same, for a handler that may run on any thread (Affinity::any).
    void add_any(std::string method, std::string_view pattern, Handler handler) {
        add(std::move(method), pattern, std::move(handler), 0, Affinity::any);
    }

    /// Where the route `method path` (path without query) must run; Affinity::station
    /// for an unknown route or a malformed path, whose error dispatch() answers.
    [[nodiscard]] Affinity affinity(std::string_view method, std::string_view path) const;

    /// The body limit of the route `method path` (path without query), when it has
    /// its own; asked by the server once the request head is read.
    [[nodiscard]] std::optional<std::size_t> body_limit(std::string_view method, std::string_view path) const;
    /// The largest limit any route has of its own (0: none has).
    [[nodiscard]] std::size_t largest_body_limit() const { return largest_body_; }

    /// Finds the route and runs it. Never throws for a handler's failure: unknown
    /// path -> 404, known path with another method -> 405 with Allow, HttpError ->
    /// its status, any other exception -> 500. Fills req.params.
    [[nodiscard]] Response dispatch(Request& req) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;  ///< literal, or "{name}" for a parameter
        Handler handler;
        std::size_t max_body = 0;  ///< [bytes] 0: the server's limit
        Affinity affinity = Affinity::station;
    };
    [[nodiscard]] static bool match(const Route& route, const std::vector<std::string_view>& path,
                                    StringMap* params);

    std::vector<Route> routes_;
    std::size_t largest_body_ = 0;
};

}  // namespace certlab::api
