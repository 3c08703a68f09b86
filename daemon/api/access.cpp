#include "api/access.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "sdk/error.hpp"

namespace certlab::api {

namespace {

bool starts_with_segments(std::string_view path, std::string_view prefix) {
    return path.size() >= prefix.size() && path.substr(0, prefix.size()) == prefix;
}

/// Splits "/v1/devices/x/release" into its segments.
std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        auto end = path.find('/');
        out.push_back(path.substr(0, end));
        if (end == std::string_view::npos) break;
        path.remove_prefix(end);
    }
    return out;
}

std::optional<std::uint8_t> hex_digit(char c) {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
    return std::nullopt;
}

std::optional<TokenHash> parse_hash(std::string_view text) {
    constexpr std::string_view prefix = "sha256:";
    if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
    text.remove_prefix(prefix.size());
    TokenHash h{};
    if (text.size() != h.size() * 2) return std::nullopt;
    for (std::size_t i = 0; i < h.size(); ++i) {
        auto hi = hex_digit(text[2 * i]);
        auto lo = hex_digit(text[2 * i + 1]);
        if (!hi || !lo) return std::nullopt;
        h[i] = static_cast<std::uint8_t>(*hi << 4 | *lo);
    }
    return h;
}

}  // namespace

std::string_view role_name(Role r) {
    switch (r) {
        case Role::viewer: return "viewer";
        case Role::operator_: return "operator";
        case Role::admin: return "admin";
    }
    return "?";
}

std::optional<Role> parse_role(std::string_view s) {
    if (s == "viewer") return Role::viewer;
    if (s == "operator") return Role::operator_;
    if (s == "admin") return Role::admin;
    return std::nullopt;
}

Requirement required_role(std::string_view method, std::string_view path) {
    const bool read = method == "GET" || method == "HEAD";
    if (read && (path == "/" || path == "/v1/health" || starts_with_segments(path, "/dashboard/")))
        return {true, Role::viewer};
    if (read) return {false, Role::viewer};
    auto seg = segments(path);
    // POST /v1/reload; POST /v1/devices/{id}/release
    if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "reload") return {false, Role::admin};
    if (seg.size() == 4 && seg[0] == "v1" && seg[1] == "devices" && seg[3] == "release")
        return {false, Role::admin};
    return {false, Role::operator_};
}

TokenHash hash_token(std::string_view token) {
    TokenHash h{};
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), h.data());
    return h;
}

std::string to_hex(const TokenHash& h) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(h.size() * 2);
    for (auto b : h) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

void TokenTable::add(std::string name, Role role, const TokenHash& hash) {
    for (const auto& [h, holder] : by_hash_)
        if (holder.name == name) throw std::invalid_argument("token name '" + name + "' is given twice");
    if (!by_hash_.emplace(hash, TokenHolder{std::move(name), role}).second)
        throw std::invalid_argument("the same token hash is given twice");
}

TokenTable TokenTable::load(const std::filesystem::path& file) {
    const auto where = file.string();
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        throw sdk::ConfigError(where + ": cannot read the API tokens file: " + std::strerror(errno));
    if (st.st_mode & S_IRWXO) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw sdk::ConfigError(where + ": the API tokens file is open to every user of the machine (mode " + mode +
                               "); make it private, e.g. chmod 0640 (owner and the certlab group only)");
    }
    std::ifstream in(file);
    if (!in) throw sdk::ConfigError(where + ": cannot read the API tokens file: " + std::strerror(errno));

    TokenTable table;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        auto at = [&](std::size_t col, const std::string& what) {
            return sdk::ConfigError(where + ":" + std::to_string(number) + ":" + std::to_string(col + 1) + ": " +
                                    what);
        };
        std::vector<std::pair<std::size_t, std::string_view>> fields;  // column, text
        std::string_view rest = line;
        std::size_t col = 0;
        while (col < rest.size()) {
            if (rest[col] == '#') break;
            if (rest[col] == ' ' || rest[col] == '\t' || rest[col] == '\r') {
                ++col;
                continue;
            }
            auto end = rest.find_first_of(" \t\r#", col);
            if (end == std::string_view::npos) end = rest.size();
            fields.emplace_back(col, rest.substr(col, end - col));
            col = end;
        }
        if (fields.empty()) continue;
        if (fields.size() != 3)
            throw at(fields.front().first, "expected `NAME ROLE sha256:HEX` (three fields), found " +
                                               std::to_string(fields.size()));
        auto role = parse_role(fields[1].second);
        if (!role)
            throw at(fields[1].first, "expected a role (viewer, operator or admin), found '" +
                                          std::string(fields[1].second) + "'");
        auto hash = parse_hash(fields[2].second);
        if (!hash)
            throw at(fields[2].first,
                     "expected sha256: and 64 hex digits (the hash `certlab token new` prints, never the token itself)");
        try {
            table.add(std::string(fields[0].second), *role, *hash);
        } catch (const std::invalid_argument& e) {
            throw at(fields[0].first, e.what());
        }
    }
    return table;
}

const TokenHolder* TokenTable::authenticate(std::string_view authorization) const {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size()) return nullptr;
    for (std::size_t i = 0; i < scheme.size() - 1; ++i)  // the scheme is case-insensitive (RFC 7235)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return nullptr;
    if (authorization[scheme.size() - 1] != ' ') return nullptr;
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return nullptr;
    // Looking up the hash reveals nothing usable about a token through timing: finding
    // a hash prefix does not help to find a token.
    auto it = by_hash_.find(hash_token(token));
    return it == by_hash_.end() ? nullptr : &it->second;
}

AccessDecision check_access(const TokenTable& tokens, std::string_view method, std::string_view path,
                            std::string_view authorization) {
    if (tokens.empty()) return {};
    auto need = required_role(method, path);
    if (need.public_) return {};
    if (authorization.empty())
        return {401, "this station needs a bearer token: send `Authorization: Bearer <token>`", ""};
    const auto* holder = tokens.authenticate(authorization);
    if (!holder) return {401, "the bearer token is not one this station accepts", ""};
    if (holder->role < need.role)
        return {403,
                "role " + std::string(role_name(holder->role)) + " may not " + std::string(method) + " " +
                    std::string(path) + ": it needs " + std::string(role_name(need.role)),
                holder->name};
    return {200, "", holder->name};
}

}  // namespace certlab::api
