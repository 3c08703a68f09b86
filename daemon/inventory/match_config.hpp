// Reads a device profile's matching rules from YAML:
//
//   match:
//     kind: usb                       # usb | serial | net
//     vid: "04b8"                     # hex ids: case-insensitive, 0x allowed
//     product: "TM-T88*"              # a value with * ? [ is a glob (fnmatch)
//     port_path: { parent: "1-4" }    # that USB port or any port below it
//     serial_number: { glob: "X5*" }  # explicit operator; { exact: "a[1]" } is literal
//     txt.ty: "*Epson*"               # an mDNS TXT record key
//   priority: 10                      # top level, beside match:
//   probe: escpos.gs_i                # optional identifying probe
//   identify: { model: "TM-*" }       # optional conditions on the probe's answer
//
// Every mistake is a ConfigError "file:line:column: key: expected ...".
#pragma once

#include <array>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/yaml_util.hpp"
#include "inventory/match_spec.hpp"

namespace certlab::inventory {

/// Identifying probes a profile may allow (the safe-probe rule: nothing else is sent).
inline constexpr std::array<std::string_view, 2> known_probes{"escpos.gs_i", "scpi.idn"};

/// Keys a `match:` section may use, besides `txt.<key>`.
inline constexpr std::array<std::string_view, 10> match_keys{
    "kind", "address", "vid", "pid", "serial_number", "manufacturer", "product", "port_path", "mdns_service",
    "mdns_type"};

/// Keys an `identify:` section may use: the fields probes report.
inline constexpr std::array<std::string_view, 4> identify_keys{"manufacturer", "model", "serial_number",
                                                               "firmware"};

/// Parses the `match:` mapping itself (conditions only; priority stays 0).
[[nodiscard]] MatchSpec read_match(const config::YamlFile& f, const YAML::Node& match_node);

/// Parses a whole profile's matching rules: `match:` (required) plus the top-level
/// `priority:` (-1000..1000, default 0), `probe:` and `identify:` (needs a probe).
[[nodiscard]] MatchSpec read_profile_match(const config::YamlFile& f, const YAML::Node& profile);

}  // namespace certlab::inventory
