// Applies device profiles' `match:` sections to discovered Resources. The rules are
// data (see match_config.hpp); this file only knows the three operators and how to
// explain a decision to a technician.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "inventory/match_spec.hpp"
#include "sdk/resource.hpp"

namespace certlab::inventory {

/// USB ids are written many ways ("04B8", "0x04b8", "4b8"); all become "04b8".
/// nullopt unless the text is an optional 0x followed by 1 to 4 hex digits.
[[nodiscard]] std::optional<std::string> normalize_usb_id(std::string_view text);

/// vid and pid are the keys compared as hex ids (case-insensitive, 0x allowed).
[[nodiscard]] bool is_usb_id_key(std::string_view key);

/// A value with any of * ? [ is a glob pattern (fnmatch syntax).
[[nodiscard]] bool has_glob_chars(std::string_view text);

/// Empty when `pattern` is a usable glob; otherwise what is wrong with it. fnmatch
/// quietly treats an unclosed '[' as a literal, which hides typos, so we reject it.
[[nodiscard]] std::string glob_problem(std::string_view pattern);

/// True when `path` is the USB port `parent` or a port below it: parent "1-4" takes
/// "1-4", "1-4.2", "1-4.2.1" and interfaces such as "1-4.2:1.0", but not "1-40".
[[nodiscard]] bool port_path_within(std::string_view path, std::string_view parent);

/// Whether the probe's answer (`identity`: model, manufacturer, firmware, ...) meets
/// the profile's `identify:` conditions. On false, `why` names the first that fails.
[[nodiscard]] bool identify_matches(const MatchSpec& spec,
                                    const std::map<std::string, std::string>& identity,
                                    std::string& why);

/// Decides which profile a Resource is. Built once per configuration load; match()
/// is const and allocation-light so a full bench rescan stays cheap.
class Matcher {
public:
    using Profile = std::pair<std::string /*profile id*/, MatchSpec>;

    /// Throws sdk::ConfigError when a spec has no conditions (it would match every
    /// port, breaking the safe-probe rule) or a condition is malformed.
    explicit Matcher(const std::vector<Profile>& profiles);

    /// All of a profile's conditions must hold; the highest priority wins; a tie
    /// between different profiles at the top priority is no match. The reason
    /// always says why, naming profiles and the failing condition.
    [[nodiscard]] MatchResult match(const sdk::Resource& r) const;

    [[nodiscard]] std::size_t size() const { return profiles_.size(); }

private:
    enum class Field { kind, address, attribute };
    struct Condition {
        Field field = Field::attribute;
        MatchCondition::Op op = MatchCondition::Op::exact;
        bool usb_id = false;  ///< compare normalized lower-case hex
        std::string key;
        std::string value;    ///< pre-normalized (lower-case hex for vid/pid)
    };
    struct Compiled {
        std::string id;
        int priority = 0;
        std::vector<Condition> all;
    };
    struct View;  // a resource with its hex ids normalized once per match()

    [[nodiscard]] static bool holds(const Condition& c, const View& v);
    [[nodiscard]] static std::string explain_failure(const Condition& c, const View& v);

    std::vector<Compiled> profiles_;
};

}  // namespace certlab::inventory
