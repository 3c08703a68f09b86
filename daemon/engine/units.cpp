#include "engine/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace certlab::engine {
namespace {

enum class Dim { none, time, voltage, current, power, mass, data, frequency, length, ratio, temperature, rotation };

struct Unit {
    std::string_view symbol;
    Dim dim;
    double scale;  ///< multiply to get the dimension's base unit
};

// Base units: s, V, A, W, g, B, Hz, m, %, rpm; temperature only in degC, also written °C
// (no offset math).
constexpr std::array units{
    Unit{"", Dim::none, 1},        Unit{"s", Dim::time, 1},       Unit{"ms", Dim::time, 1e-3},
    Unit{"us", Dim::time, 1e-6},   Unit{"min", Dim::time, 60},    Unit{"h", Dim::time, 3600},
    Unit{"V", Dim::voltage, 1},    Unit{"mV", Dim::voltage, 1e-3}, Unit{"A", Dim::current, 1},
    Unit{"mA", Dim::current, 1e-3}, Unit{"uA", Dim::current, 1e-6}, Unit{"W", Dim::power, 1},
    Unit{"mW", Dim::power, 1e-3},  Unit{"g", Dim::mass, 1},       Unit{"kg", Dim::mass, 1e3},
    Unit{"mg", Dim::mass, 1e-3},   Unit{"lb", Dim::mass, 453.59237}, Unit{"oz", Dim::mass, 28.349523125},
    Unit{"B", Dim::data, 1},       Unit{"KiB", Dim::data, 1024},  Unit{"MiB", Dim::data, 1048576},
    Unit{"Hz", Dim::frequency, 1}, Unit{"kHz", Dim::frequency, 1e3}, Unit{"m", Dim::length, 1},
    Unit{"mm", Dim::length, 1e-3}, Unit{"%", Dim::ratio, 1},      Unit{"degC", Dim::temperature, 1},
    Unit{"°C", Dim::temperature, 1},  Unit{"rpm", Dim::rotation, 1},
};

const Unit* find_unit(std::string_view symbol) {
    for (const auto& u : units)
        if (u.symbol == symbol) return &u;
    return nullptr;
}

}  // namespace

bool known_unit(std::string_view symbol) { return find_unit(symbol) != nullptr; }

std::optional<Quantity> parse_quantity(std::string_view text) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
        return s;
    };
    text = trim(text);
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || !std::isfinite(v)) return std::nullopt;
    auto unit = trim(std::string_view(ptr, text.data() + text.size() - ptr));
    if (!known_unit(unit)) return std::nullopt;
    return Quantity{v, std::string(unit)};
}

std::optional<double> convert(double value, std::string_view from, std::string_view to) {
    const auto* f = find_unit(from);
    const auto* t = find_unit(to);
    if (!f || !t || f->dim != t->dim) return std::nullopt;
    if (f == t) return value;
    return value * f->scale / t->scale;
}

}  // namespace certlab::engine
