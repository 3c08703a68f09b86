// The `http` family's pure parts: request templates (path and JSON body), HTTP/1.1
// request encoding, an incremental strict response parser, and JSON pointers that turn
// a response body into typed values. No I/O, and no Beast or nlohmann in this header:
// the driver (driver.cpp), the unit tests and the fuzz target include it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/capability.hpp"
#include "sdk/value.hpp"

namespace certlab::http {

/// Bounds on one response: what a device may send before it is refused.
struct Limits {
    std::size_t header_bytes = 16 * 1024;   ///< status line and header fields [bytes]
    std::size_t body_bytes = 1024 * 1024;   ///< decoded body [bytes]
};

/// Longest status line accepted, CR LF included [bytes].
inline constexpr std::size_t max_status_line = 1024;

/// Deepest JSON nesting accepted in a response body (arrays and objects).
inline constexpr int max_json_depth = 64;

struct Header {
    std::string name;
    std::string value;
    friend bool operator==(const Header&, const Header&) = default;
};
using Headers = std::vector<Header>;

/// True for an RFC 9110 token (a method or a header field name).
[[nodiscard]] bool is_token(std::string_view s);
/// Throws std::invalid_argument when `name: value` could not be sent as one header
/// line (not a token, CR/LF or other control bytes in the value).
void check_header(std::string_view name, std::string_view value);

/// A request target template: `/api/orders/{id}/bump?verbose=1`. Arguments are
/// percent-encoded (RFC 3986 unreserved bytes stay as they are), so an argument can
/// never add a path segment or a query. `{{` and `}}` are literal braces.
class PathTemplate {
public:
    /// Throws std::invalid_argument naming the offset of the first mistake (not
    /// starting with '/', spaces, control or non-ASCII bytes, '#', a bad placeholder).
    static PathTemplate parse(std::string_view text);
    /// Throws std::invalid_argument when an argument is missing.
    [[nodiscard]] std::string render(const sdk::Args& args) const;
    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }

private:
    struct Piece {
        bool placeholder = false;
        std::string text;
    };
    std::vector<Piece> pieces_;
    std::vector<std::string> names_;
};

/// A JSON body template: itself JSON, so it is checked once when the profile loads.
/// A string that is exactly `"{name}"` becomes the argument as a JSON value of its
/// type (`"{count}"` → `3`, `"{on}"` → `true`); inside a longer string `{name}` is
/// replaced by the argument's text (`"Order {id}"` → `"Order A12"`), JSON-escaped. An
/// absent optional argument removes its member from the object (null in an array).
/// Object members keep the template's order. `{{`/`}}` inside strings are braces.
class BodyTemplate {
public:
    /// Throws std::invalid_argument with the JSON parser's message or the bad placeholder.
    static BodyTemplate parse(std::string_view text);
    BodyTemplate(BodyTemplate&&) noexcept;
    BodyTemplate& operator=(BodyTemplate&&) noexcept;
    ~BodyTemplate();

    /// Compact JSON. Throws std::invalid_argument when a placeholder of a member that
    /// is not a whole `"{name}"` string has no argument, or a number is not finite.
    [[nodiscard]] std::string render(const sdk::Args& args) const;
    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }
    /// Names used as whole `"{name}"` strings (may be left out when optional).
    [[nodiscard]] const std::vector<std::string>& whole_names() const { return whole_; }

private:
    BodyTemplate();
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<std::string> names_;
    std::vector<std::string> whole_;
};

/// A request: method, target (already rendered), headers and body.
struct Request {
    std::string method = "GET";
    std::string target = "/";
    Headers headers;   ///< sent in order, after Host
    std::string body;  ///< sent with Content-Length; Content-Type is a header like any other
};

/// `METHOD target HTTP/1.1`, `Host`, the headers, `Content-Length` when there is a
/// body or the method is POST, PUT or PATCH, and the body. Throws std::invalid_argument
/// on a method that is not a token, a target with spaces or control bytes, or a bad header.
[[nodiscard]] std::string encode_request(const Request& r, std::string_view host);

/// Expected statuses: `2xx`, `200`, `200,201,204`, `2xx,304`.
class StatusSet {
public:
    /// Throws std::invalid_argument on anything but status codes 100..599 and classes 1xx..5xx.
    static StatusSet parse(std::string_view text);
    [[nodiscard]] bool contains(int status) const;
    [[nodiscard]] const std::string& text() const { return text_; }

private:
    std::vector<int> codes_;    ///< exact codes
    std::vector<int> classes_;  ///< 2 for 2xx
    std::string text_;
};

/// A parsed response. Header names keep their case as sent; look them up with header().
struct Response {
    int version = 11;  ///< 10 or 11
    int status = 0;
    std::string reason;
    Headers headers;
    std::string body;         ///< decoded (chunked transfer coding removed)
    bool keep_alive = true;   ///< false: the server closes the connection after it
    bool chunked = false;

    /// The first header of that name, case-insensitively; nullptr when absent.
    [[nodiscard]] const std::string* header(std::string_view name) const;
    /// `500 Internal Server Error`.
    [[nodiscard]] std::string status_text() const;
};

/// Parses one HTTP/1.x response as its bytes arrive, strictly: the status line is
/// checked byte by byte (garbage fails at once, not at a timeout), then header fields,
/// Content-Length or chunked bodies, size limits. Informational 1xx responses are
/// skipped. A body without a length runs to the end of the connection (feed_eof()).
class ResponseParser {
public:
    explicit ResponseParser(Limits limits = {});
    ResponseParser(ResponseParser&&) noexcept;
    ResponseParser& operator=(ResponseParser&&) noexcept;
    ~ResponseParser();

    /// Takes bytes; returns how many belong to the response: all of them until the
    /// response is complete, fewer when it completed inside `data` (what follows is
    /// not its). The call that fails takes all it was given. After done() or failed()
    /// it takes nothing.
    std::size_t feed(std::string_view data);
    /// The connection closed: completes a response whose body runs to the end of the
    /// connection, and fails any other unfinished one.
    void feed_eof();

    [[nodiscard]] bool done() const { return state_ == State::done; }
    [[nodiscard]] bool failed() const { return state_ == State::failed; }
    /// Why it failed, e.g. `bad status line: 'ICY 200 OK'`; empty unless failed().
    [[nodiscard]] const std::string& error() const { return error_; }
    /// The response's body ends only when the connection closes.
    [[nodiscard]] bool needs_eof() const;
    /// Bytes taken so far (the response's own, 1xx responses included).
    [[nodiscard]] std::size_t taken() const { return taken_; }
    /// The response; complete once done().
    [[nodiscard]] const Response& response() const { return response_; }

private:
    enum class State { reading, done, failed };
    struct Impl;
    void fail(std::string why);
    void complete();
    void parse_pending();
    bool check_status_prefix();

    Limits limits_;
    State state_ = State::reading;
    std::string error_;
    std::string pending_;  ///< bytes taken but not yet consumed by the message parser
    std::size_t taken_ = 0;
    int informational_ = 0;
    Response response_;
    std::unique_ptr<Impl> impl_;
};

/// An RFC 6901 JSON pointer: `""` is the whole document, `/a/0/b~1c` is member `a`,
/// element 0, member `b/c`.
class JsonPointer {
public:
    /// Throws std::invalid_argument: not empty and not starting with '/', or `~` not
    /// followed by 0 or 1.
    static JsonPointer parse(std::string_view text);
    [[nodiscard]] const std::string& text() const { return text_; }
    [[nodiscard]] const std::vector<std::string>& tokens() const { return tokens_; }

private:
    std::string text_;
    std::vector<std::string> tokens_;
};

/// A value found at a pointer, or why there is none.
struct Lookup {
    std::optional<sdk::Value> value;
    std::string error;  ///< set exactly when value is not
};

/// A parsed JSON document (a response body).
class JsonDocument {
public:
    /// Throws std::invalid_argument: not JSON (with the parser's byte offset), nested
    /// deeper than max_json_depth, or not valid UTF-8.
    static JsonDocument parse(std::string_view text);
    JsonDocument(JsonDocument&&) noexcept;
    JsonDocument& operator=(JsonDocument&&) noexcept;
    ~JsonDocument();

    /// The value at `p` as `type` (unit attached to numbers). Strict: an integer is a
    /// JSON integer within int64, a number any JSON number, a boolean true or false, a
    /// string a JSON string, a string list an array of strings. The error names the
    /// pointer and what was there instead (`/display/brightness: expected integer,
    /// found string "80"`), or where the path broke off.
    [[nodiscard]] Lookup get(const JsonPointer& p, sdk::ValueType type, const std::string& unit = {}) const;
    /// True when `p` names a value (of any type).
    [[nodiscard]] bool has(const JsonPointer& p) const;

private:
    JsonDocument();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The `Host` header for a transport address when no `host` setting is given:
/// `tcp:10.0.0.5:8080` → `10.0.0.5:8080`, `tcp:[::1]:80` → `[::1]:80`, and for
/// `tls:` the `server_name` of the query when there is one. Empty when the address
/// is not a network one.
[[nodiscard]] std::string default_host(std::string_view address);

/// At most `max` bytes of a body for a message, control bytes rendered (`<0A>`),
/// `...` appended when cut.
[[nodiscard]] std::string excerpt(std::string_view body, std::size_t max = 200);

}  // namespace certlab::http
