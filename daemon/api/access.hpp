// Who may do what through the API: bearer tokens with roles (docs/API.md, "Access").
// Tokens are kept hashed (SHA-256) in a tokens file; the API compares hashes, so the
// file never holds a secret and a leaked copy of it opens nothing. Transport-free,
// like the router, so the role table is testable without a socket.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace certlab::api {

/// Ordered: each role may do everything the ones before it may.
enum class Role : std::uint8_t {
    viewer = 1,    ///< read: status, devices, runs, prompts, events, metrics
    operator_ = 2, ///< start and abort runs, answer prompts, sign-offs, certifications
    admin = 3,     ///< reload the configuration, release a quarantined device
};

[[nodiscard]] std::string_view role_name(Role r);
[[nodiscard]] std::optional<Role> parse_role(std::string_view s);

/// What a request needs: nothing (public), or at least a role.
struct Requirement {
    bool public_ = false;
    Role role = Role::viewer;
};

/// The role a request needs, by method and path (without query). Reads need viewer;
/// writes operator; configuration reload and quarantine release admin. The health
/// check and the dashboard's static assets (no station data) are public.
[[nodiscard]] Requirement required_role(std::string_view method, std::string_view path);

using TokenHash = std::array<std::uint8_t, 32>;

/// SHA-256 of a token, as stored in the tokens file.
[[nodiscard]] TokenHash hash_token(std::string_view token);
[[nodiscard]] std::string to_hex(const TokenHash& h);

struct TokenHolder {
    std::string name;  ///< who the token was given to, for the audit log
    Role role = Role::viewer;
};

/// The tokens a station accepts. Empty (the default): access control is off, which
/// the station allows only on a loopback bind (config checks that).
class TokenTable {
public:
    /// Reads a tokens file: one token per line, `NAME ROLE sha256:HEX`, `#` comments
    /// and blank lines ignored. Throws sdk::ConfigError("file:line:column: ...") on a
    /// malformed line or a repeated name or hash, and when the file can be read,
    /// written or executed by others than its owner and group (mode & 007): it would
    /// let anyone on the machine learn who holds which role. A file without a token
    /// (as the package installs it) gives an empty table: access control off.
    static TokenTable load(const std::filesystem::path& file);

    /// Adds a token (for tests and `load`). Throws std::invalid_argument on a repeat.
    void add(std::string name, Role role, const TokenHash& hash);

    [[nodiscard]] bool empty() const { return by_hash_.empty(); }
    [[nodiscard]] std::size_t size() const { return by_hash_.size(); }

    /// The holder of the token in an `Authorization` header value ("Bearer X"), or
    /// nullopt when the header is missing, not Bearer, or the token unknown.
    [[nodiscard]] const TokenHolder* authenticate(std::string_view authorization) const;

private:
    std::map<TokenHash, TokenHolder> by_hash_;
};

/// The outcome of checking one request.
struct AccessDecision {
    unsigned status = 200;     ///< 200 allowed; 401 no or unknown token; 403 role too low
    std::string detail;        ///< for the problem document when refused
    std::string who;           ///< token holder's name ("" when access control is off)
};

/// Checks `method path` with the request's Authorization header against `tokens`.
/// With no tokens every request is allowed (loopback-only stations).
[[nodiscard]] AccessDecision check_access(const TokenTable& tokens, std::string_view method,
                                          std::string_view path, std::string_view authorization);

}  // namespace certlab::api
