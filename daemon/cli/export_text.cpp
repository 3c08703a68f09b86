#include "cli/export_text.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace certlab::cli::exporting {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

/// The code point at the front of `s` and its length in bytes; length 0 for an
/// invalid sequence (overlong forms, surrogates and values past U+10FFFF included).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view s) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char c = b(0);
    if (c < 0x80) return {c, 1};
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || c > 0xF4 || s.size() < len) return {0, 0};
    char32_t cp = c & (0x7F >> len);
    for (std::size_t i = 1; i < len; ++i) {
        if ((b(i) & 0xC0) != 0x80) return {0, 0};
        cp = cp << 6 | (b(i) & 0x3F);
    }
    static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
    return {cp, len};
}

bool xml_char(char32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
}

std::string escape(std::string_view s, bool attribute) {
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    while (!s.empty()) {
        auto [cp, len] = decode_utf8(s);
        if (len == 0 || !xml_char(cp)) {
            out += replacement;
            s.remove_prefix(len == 0 ? 1 : len);
            continue;
        }
        switch (cp) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += attribute ? "&quot;" : "\""; break;
        case '\'': out += attribute ? "&apos;" : "'"; break;
        case '\t': out += attribute ? "&#9;" : "\t"; break;
        case '\n': out += attribute ? "&#10;" : "\n"; break;
        // A raw CR is read back as LF by any XML parser: keep it as a reference.
        case '\r': out += "&#13;"; break;
        default: out.append(s.substr(0, len));
        }
        s.remove_prefix(len);
    }
    return out;
}

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string xml_text(std::string_view s) { return escape(s, false); }
std::string xml_attr(std::string_view s) { return escape(s, true); }

std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        auto [cp, len] = decode_utf8(s);
        if (len == 0) {
            out += replacement;
            s.remove_prefix(1);
        } else {
            out.append(s.substr(0, len));
            s.remove_prefix(len);
        }
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        for (int shift : {18, 12, 6, 0}) out += b64_alphabet[(v >> shift) & 0x3F];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
        out += b64_alphabet[(v >> 18) & 0x3F];
        out += b64_alphabet[(v >> 12) & 0x3F];
        out += rest == 2 ? b64_alphabet[(v >> 6) & 0x3F] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        if (pad == 1 && text[i + 2] == '=') return std::nullopt;  // "x=y=" is not padding
        std::uint32_t v = 0;
        for (int k = 0; k < 4 - pad; ++k) {
            int d = b64_value(text[i + k]);
            if (d < 0) return std::nullopt;
            v = v << 6 | static_cast<std::uint32_t>(d);
        }
        v <<= 6 * pad;
        // Padding bits must be zero, so every byte string has one encoding.
        if ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF))) return std::nullopt;
        out += static_cast<char>(v >> 16 & 0xFF);
        if (pad < 2) out += static_cast<char>(v >> 8 & 0xFF);
        if (pad < 1) out += static_cast<char>(v & 0xFF);
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

std::string printable(std::string_view bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : bytes) {
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
        } else {
            out += '<';
            out += digits[c >> 4];
            out += digits[c & 0xF];
            out += '>';
        }
    }
    return out;
}

std::optional<std::int64_t> parse_time_ms(std::string_view iso) {
    // YYYY-MM-DDTHH:MM:SS[.fff...]Z
    if (iso.size() < 20 || iso.back() != 'Z' || iso[4] != '-' || iso[7] != '-' || iso[10] != 'T' || iso[13] != ':' ||
        iso[16] != ':')
        return std::nullopt;
    auto num = [&](std::size_t at, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = at; i < at + len; ++i) {
            if (iso[i] < '0' || iso[i] > '9') return -1;
            v = v * 10 + (iso[i] - '0');
        }
        return v;
    };
    std::tm tm{};
    int fields[] = {num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)};
    for (int f : fields)
        if (f < 0) return std::nullopt;
    tm.tm_year = fields[0] - 1900;
    tm.tm_mon = fields[1] - 1;
    tm.tm_mday = fields[2];
    tm.tm_hour = fields[3];
    tm.tm_min = fields[4];
    tm.tm_sec = fields[5];
    std::int64_t ms = 0;
    std::string_view rest = iso.substr(19, iso.size() - 20);
    if (!rest.empty()) {
        if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
        int scale = 100;
        for (char c : rest.substr(1)) {
            if (c < '0' || c > '9') return std::nullopt;
            ms += (c - '0') * scale;
            scale /= 10;
        }
    }
    return static_cast<std::int64_t>(::timegm(&tm)) * 1000 + ms;
}

std::string readable_time(std::string_view iso) {
    if (!parse_time_ms(iso)) return std::string(iso);
    return std::string(iso.substr(0, 10)) + " " + std::string(iso.substr(11, 8)) + " UTC";
}

std::string junit_timestamp(std::string_view iso) {
    if (!parse_time_ms(iso)) return {};
    return std::string(iso.substr(0, 19));
}

const Json& member(const Json& obj, const char* key) {
    static const Json none;
    if (!obj.is_object()) return none;
    auto it = obj.find(key);
    return it == obj.end() ? none : *it;
}

const Json& list(const Json& obj, const char* key) {
    static const Json empty = Json::array();
    const auto& m = member(obj, key);
    return m.is_array() ? m : empty;
}

std::string number(double v, int digits) {
    if (!std::isfinite(v)) return "-";
    char buf[64];
    // %g turns 12345 into 1.234e+04: large values keep every integer digit instead.
    if (std::fabs(v) >= std::pow(10.0, digits)) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

}  // namespace certlab::cli::exporting
