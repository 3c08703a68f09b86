// Matching is data: a device profile's `match:` section, and the result of
// applying it to a Resource. No `if (vid == ...)` in code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sdk/resource.hpp"

namespace certlab::inventory {

/// One condition on one resource attribute (or `kind` / `address`).
struct MatchCondition {
    enum class Op { exact, glob, parent };  ///< parent: port_path is this path or below it
    std::string key;      ///< kind, address, vid, pid, serial_number, manufacturer, product, port_path, mdns_service, txt.<k>
    Op op = Op::exact;
    std::string value;    ///< text to compare; hex ids compared case-insensitively
    std::string where;    ///< file:line:column
};

/// A profile's `match:` section: every condition must hold.
struct MatchSpec {
    std::vector<MatchCondition> all;
    int priority = 0;           ///< higher wins when several profiles match
    /// The identifying probe the profile allows once matched (e.g. "escpos.gs_i",
    /// "scpi.idn"); empty = none. Its answer may refine the match.
    std::string probe;
    /// Conditions on the probe's answer (model, manufacturer, firmware: glob).
    std::vector<MatchCondition> identify;
};

struct MatchResult {
    std::string profile;        ///< empty when unmatched
    int priority = 0;
    std::string reason;         ///< why unmatched / which rule matched, for people
};

}  // namespace certlab::inventory
