// Named values with units: what a capability action takes and returns.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace certlab::sdk {

/// One argument or result of an action. `unit` is a symbol such as "ms", "V", "g"
/// (empty for unitless values).
struct Value {
    using Data = std::variant<std::monostate, bool, std::int64_t, double, std::string,
                              std::vector<std::string>>;
    Data data;
    std::string unit;

    Value() = default;
    Value(bool b) : data(b) {}
    Value(int i) : data(std::int64_t{i}) {}
    Value(std::int64_t i, std::string u = {}) : data(i), unit(std::move(u)) {}
    Value(double d, std::string u = {}) : data(d), unit(std::move(u)) {}
    Value(const char* s) : data(std::string(s)) {}
    Value(std::string s) : data(std::move(s)) {}
    Value(std::vector<std::string> l) : data(std::move(l)) {}

    [[nodiscard]] bool is_null() const { return data.index() == 0; }
    [[nodiscard]] bool is_bool() const { return std::holds_alternative<bool>(data); }
    [[nodiscard]] bool is_number() const {
        return std::holds_alternative<std::int64_t>(data) || std::holds_alternative<double>(data);
    }
    [[nodiscard]] bool is_string() const { return std::holds_alternative<std::string>(data); }
    [[nodiscard]] bool is_list() const {
        return std::holds_alternative<std::vector<std::string>>(data);
    }
    [[nodiscard]] std::optional<double> as_number() const;
    [[nodiscard]] std::optional<bool> as_bool() const;
    /// Display form: `true`, `42`, `3.3 V`, `"text"` is shown without quotes.
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const Value&, const Value&) = default;
};

using Values = std::map<std::string, Value, std::less<>>;
using Args = Values;

/// Renders bytes for humans: printable ASCII as is, everything else as <1B> style hex.
[[nodiscard]] std::string render_bytes(std::string_view bytes);

}  // namespace certlab::sdk
