// The stations file: every bench one terminal can ask, by name (`--station bench-3`,
// `certlab fleet status`). One station per line:
//
//   # NAME     URL                          [ca=FILE] [token-file=FILE]
//   bench-1    http://127.0.0.1:8470
//   bench-3    https://bench3.lab:8470      ca=/etc/certlab/lab-ca.pem token-file=~/.config/certlab/bench3.token
//
// It names where tokens are, never holds one.
#pragma once

#include <string>
#include <vector>

namespace certlab::cli {

struct StationEntry {
    std::string name;
    std::string url;
    std::string ca_file;     ///< empty: the system's CAs
    std::string token_file;  ///< empty: $CERTLAB_TOKEN / $CERTLAB_TOKEN_FILE
};

/// $CERTLAB_STATIONS, else ~/.config/certlab/stations.
[[nodiscard]] std::string default_stations_file();

/// Reads a stations file. Throws CliError naming file:line:column and what was
/// expected; `must_exist` false turns a missing file into an empty list.
[[nodiscard]] std::vector<StationEntry> read_stations(const std::string& file, bool must_exist);

}  // namespace certlab::cli
