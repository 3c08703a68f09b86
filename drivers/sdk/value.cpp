#include "sdk/value.hpp"

#include <cstdio>
#include <type_traits>

namespace certlab::sdk {

std::optional<double> Value::as_number() const {
    if (auto* i = std::get_if<std::int64_t>(&data)) return static_cast<double>(*i);
    if (auto* d = std::get_if<double>(&data)) return *d;
    return std::nullopt;
}

std::optional<bool> Value::as_bool() const {
    if (auto* b = std::get_if<bool>(&data)) return *b;
    return std::nullopt;
}

std::string Value::to_string() const {
    std::string s = std::visit(
        [](const auto& v) -> std::string {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::monostate>) return "null";
            else if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
            else if constexpr (std::is_same_v<V, std::int64_t>) return std::to_string(v);
            else if constexpr (std::is_same_v<V, double>) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.6g", v);
                return buf;
            } else if constexpr (std::is_same_v<V, std::string>) return v;
            else {
                std::string out = "[";
                for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
                return out + "]";
            }
        },
        data);
    if (!unit.empty()) s += " " + unit;
    return s;
}

std::string render_bytes(std::string_view bytes) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        if (c >= 0x20 && c < 0x7F && c != '<') {
            out += static_cast<char>(c);
        } else {
            out += '<';
            out += hex[c >> 4];
            out += hex[c & 0xF];
            out += '>';
        }
    }
    return out;
}

}  // namespace certlab::sdk
