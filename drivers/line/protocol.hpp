// The `line` family's pure parts: request templates, response patterns with named
// captures, and typing of captured text. No I/O; the driver (driver.cpp) frames lines.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/capability.hpp"
#include "sdk/value.hpp"

namespace certlab::line {

/// The longest response the driver accepts, terminator included [bytes].
inline constexpr std::size_t max_response = 4096;

/// A request template: text with `{name}` placeholders for the action's arguments;
/// `{{` and `}}` stand for literal braces. Escapes (`\r`, `\n`, `\t`, `\\`, `\xNN`)
/// let single-quoted YAML carry control bytes.
class Template {
public:
    /// Throws std::invalid_argument naming the offset of the first mistake.
    static Template parse(std::string_view text);

    /// The text with every placeholder replaced by its argument (format_arg).
    /// Throws std::invalid_argument when an argument is missing.
    [[nodiscard]] std::string render(const sdk::Args& args) const;
    /// The placeholder names, in order of first use.
    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }

private:
    struct Piece {
        bool placeholder = false;
        std::string text;  ///< literal bytes, or the argument name
    };
    std::vector<Piece> pieces_;
    std::vector<std::string> names_;
};

/// Resolves `\r`, `\n`, `\t`, `\0`, `\\` and `\xNN`; throws std::invalid_argument otherwise.
[[nodiscard]] std::string unescape(std::string_view text);

/// An argument as it goes on the wire: integers in decimal, numbers in the shortest
/// form that reads back the same, booleans as 1 or 0, text as is.
[[nodiscard]] std::string format_arg(const sdk::Value& v);

/// A response pattern: an ECMAScript-like regular expression (Boost.Regex, Perl
/// syntax) with named captures `(?<name>...)`, matched against the whole response.
class Pattern {
public:
    /// Throws std::invalid_argument with the regex library's message and offset.
    static Pattern compile(std::string_view regex);
    Pattern(Pattern&&) noexcept;
    Pattern& operator=(Pattern&&) noexcept;
    ~Pattern();

    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }
    [[nodiscard]] const std::string& text() const { return text_; }

    /// The named captures that took part in a whole-text match; nullopt when the text
    /// does not match. Throws std::runtime_error when matching is too complex (a
    /// pathological pattern against a hostile response), never hangs.
    [[nodiscard]] std::optional<std::map<std::string, std::string>> match(std::string_view text) const;

private:
    Pattern();
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<std::string> names_;
    std::string text_;
};

/// Types a captured text: integer and number strictly (whole text, finite), boolean
/// from true/false, yes/no, on/off, 1/0 (any case), string as is. nullopt when the
/// text is not of the type.
[[nodiscard]] std::optional<sdk::Value> to_value(std::string_view text, sdk::ValueType type, const std::string& unit);

}  // namespace certlab::line
