// station.yaml `upload:`: where the station sends its results (the certification
// record, DESIGN.md section 6) and how it retries. Read by load_station_config.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace YAML {
class Node;
}

namespace certlab::config {

class YamlFile;

struct UploadConfig {
    bool enabled = false;  ///< `upload:` is present
    std::string url;       ///< as written, for messages: https://record.example.net[:port][/prefix]
    std::string host;
    std::uint16_t port = 443;
    std::string base;      ///< path prefix without trailing slash, usually empty
    /// PEM CA certificates the record's certificate must chain to; empty: the system's.
    std::filesystem::path ca_file;
    /// The bearer token, first line of the file. Defaults to systemd's
    /// $CREDENTIALS_DIRECTORY/record-token (LoadCredential=record-token:...).
    std::filesystem::path token_file;
    std::chrono::milliseconds timeout{10000};          ///< connect, handshake, and each request
    std::chrono::milliseconds backoff_initial{500};    ///< first wait after a failure
    std::chrono::milliseconds backoff_max{60000};      ///< the waits double up to this
    std::string where;                                 ///< file:line:column of `upload:`
};

/// Reads `upload:` (when present) into `upload`, resolving paths against the
/// station file; throws sdk::ConfigError(file:line:column) on a bad value.
void read_upload_config(const YamlFile& f, const YAML::Node& node, const std::filesystem::path& station_file,
                        UploadConfig& upload);

}  // namespace certlab::config
