// Physical units for limits and measured values: a unit symbol maps to a
// dimension and a scale, so "250 ms" and "0.25 s" compare equal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certlab::engine {

struct Quantity {
    double value = 0;
    std::string unit;  ///< symbol, "" for a plain number
};

/// Parses "250 ms", "250ms", "3.3V", "-5", "1e3 Hz"; nullopt when malformed or the unit is unknown.
[[nodiscard]] std::optional<Quantity> parse_quantity(std::string_view text);
/// True when `symbol` is a unit this station knows ("" counts as dimensionless).
[[nodiscard]] bool known_unit(std::string_view symbol);
/// `value` in unit `from` expressed in unit `to`; nullopt when the dimensions differ.
[[nodiscard]] std::optional<double> convert(double value, std::string_view from, std::string_view to);

}  // namespace certlab::engine
