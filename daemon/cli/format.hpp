// Human output of the CLI: aligned tables, durations, times, outcome colours
// (only on a terminal, and never when NO_COLOR is set).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace certlab::cli {

// Ordered, so --json prints the daemon's documents in the daemon's field order.
using Json = nlohmann::ordered_json;

/// True when stdout is a terminal and NO_COLOR is unset; decided once.
[[nodiscard]] bool use_color();

/// `word` coloured by meaning (pass/certified green, fail/failed/rejected/critical
/// red, error/timeout/aborted/interrupted yellow, running/passed cyan) when
/// use_color(), else unchanged.
[[nodiscard]] std::string paint(std::string_view word);

/// A field as display text: strings as is, numbers and booleans in JSON form,
/// missing or null as "-".
[[nodiscard]] std::string text(const Json& obj, std::string_view key);

/// "850ms", "4.2s", "3m12s", "1h02m", "2d03h"; "-" for null.
[[nodiscard]] std::string format_duration(const Json& seconds);
[[nodiscard]] std::string format_duration(double seconds);

/// "2026-11-29T03:45:41.123Z" -> "2026-11-29 03:45:41Z"; "-" for null.
[[nodiscard]] std::string format_time(const Json& iso);

/// Columns padded to the widest cell; colour codes and UTF-8 do not skew them.
class Table {
public:
    explicit Table(std::vector<std::string> headers);
    void add(std::vector<std::string> row);
    void print(std::ostream& out) const;
    [[nodiscard]] bool empty() const { return rows_.empty(); }

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

/// Display columns `s` takes on a terminal (ANSI escapes count zero).
[[nodiscard]] std::size_t display_width(std::string_view s);

}  // namespace certlab::cli
