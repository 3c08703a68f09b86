// station.yaml `api:` beyond bind and port: access control, TLS and request limits
// (docs/API.md, "Access"). Read by load_station_config, which owns the rest.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace YAML {
class Node;
}

namespace certlab::config {

class YamlFile;

struct ApiConfig {
    /// Hashed bearer tokens (api/access.hpp). Empty: none, and then the API serves
    /// loopback only. Defaults to $CREDENTIALS_DIRECTORY/api-tokens when systemd
    /// passed that credential (LoadCredential=api-tokens:...).
    std::filesystem::path tokens_file;
    std::filesystem::path tls_cert;  ///< PEM certificate chain; with tls_key: HTTPS
    std::filesystem::path tls_key;   ///< PEM private key
    /// Serve a non-loopback address without TLS or tokens anyway (logged as a warning).
    bool allow_insecure = false;
    std::size_t max_body = 64 * 1024;            ///< [bytes] larger request bodies get 413
    std::size_t max_header = 8 * 1024;           ///< [bytes] larger request heads get 431
    std::chrono::seconds idle_timeout{30};       ///< a silent keep-alive connection is closed
    std::chrono::seconds request_timeout{10};    ///< to read one request or write one answer
    std::size_t max_connections = 64;            ///< more are closed on accept
    std::string where;                           ///< file:line:column of `api:`, for messages
    std::string insecure_warning;                ///< set when allow_insecure was needed

    [[nodiscard]] bool tls() const { return !tls_cert.empty(); }
};

/// Whether `bind` is a loopback address (127.0.0.0/8 or ::1); false for anything
/// that does not parse.
[[nodiscard]] bool is_loopback_address(const std::string& bind);

/// Reads the keys of `api:` other than bind and port into `api`, resolving paths
/// against the station file, and checks the bind: a non-loopback `bind` without
/// both TLS and tokens fails (file:line:column) unless `allow_insecure: true`.
void read_api_config(const YamlFile& f, const YAML::Node& node, const std::filesystem::path& station_file,
                     const std::string& bind, ApiConfig& api);

}  // namespace certlab::config
