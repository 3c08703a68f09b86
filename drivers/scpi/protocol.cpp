#include "scpi/protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace certlab::scpi {
namespace {

// SCPI-99: instruments answer 9.9E37 for an overload ("+infinity") and
// 9.91E37 when there is no value to report ("not a number"); neither is a reading.
constexpr double scpi_infinity = 9.9e37;
constexpr double scpi_nan = 9.91e37;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_printable(unsigned char c) { return c >= 0x20 && c < 0x7F; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

template <typename T>
Decoded<T> malformed(std::string_view answer, std::string_view expected) {
    return {std::nullopt, "malformed answer " + quote(answer) + ": expected " + std::string(expected)};
}

/// Length of an IEEE 488.2 decimal number at the start of `s` (sign, mantissa with at
/// least one digit, optional exponent); 0 when there is none.
std::size_t number_length(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i, ++digits;
    }
    if (digits == 0) return 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        std::size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        std::size_t exp_digits = 0;
        while (j < s.size() && is_digit(s[j])) ++j, ++exp_digits;
        if (exp_digits == 0) return 0;  // "1E" or "1E+" is not a number
        i = j;
    }
    return i;
}

/// from_chars does not take a leading '+', which SCPI instruments like to send.
std::string_view without_plus(std::string_view s) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    return s;
}

Command with_number(const char* header, double v) {
    auto text = format_number(v);
    if (!text) throw std::invalid_argument(std::string(header) + ": value is not a finite number");
    return {std::string(header) + " " + *text};
}

}  // namespace

// ---- encoders -------------------------------------------------------------------
// Short forms throughout: every SCPI instrument accepts them, and they keep
// transcripts readable. VOLT and CURR address the default ([SOURce:]) output.

namespace cmd {
Command identify() { return {"*IDN?"}; }
Command reset() { return {"*RST"}; }
Command clear_status() { return {"*CLS"}; }
Command output(bool on) { return {on ? "OUTP ON" : "OUTP OFF"}; }
Command output_query() { return {"OUTP?"}; }
Command voltage(double volts) { return with_number("VOLT", volts); }
Command voltage_query() { return {"VOLT?"}; }
Command current(double amps) { return with_number("CURR", amps); }
Command current_query() { return {"CURR?"}; }
Command measure_voltage() { return {"MEAS:VOLT?"}; }
Command measure_current() { return {"MEAS:CURR?"}; }
Command next_error() { return {"SYST:ERR?"}; }
}  // namespace cmd

std::optional<Command> custom_query(std::string_view text) {
    text = trim(text);
    if (text.size() < 2 || text.back() != '?') return std::nullopt;
    auto header = text.substr(0, text.size() - 1);
    bool ok = std::all_of(header.begin(), header.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == ':' || c == '*' || c == '_';
    });
    if (!ok) return std::nullopt;
    return Command{std::string(text)};
}

std::optional<std::string> format_number(double v) {
    if (!std::isfinite(v)) return std::nullopt;
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    if (ec != std::errc()) return std::nullopt;
    return std::string(buf, end);
}

// ---- decoders -------------------------------------------------------------------

std::string ErrorEntry::to_string() const {
    std::string out = std::to_string(code) + ",\"";
    for (char c : message) {
        out += c;
        if (c == '"') out += '"';  // 488.2 string data doubles an embedded quote
    }
    return out + "\"";
}

Decoded<std::string> decode_message(std::string_view message) {
    if (message.size() > max_message)
        return malformed<std::string>(message.substr(0, 32), "at most " + std::to_string(max_message) + " bytes");
    if (message.empty() || message.back() != terminator)
        return malformed<std::string>(message, "a message ending in a newline");
    auto text = message.substr(0, message.size() - 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    bool ascii = std::all_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return is_printable(u) || u == '\t';
    });
    if (!ascii) return malformed<std::string>(message, "printable ASCII text (IEEE 488.2 response data)");
    return {std::string(text), {}};
}

Decoded<double> decode_number(std::string_view text) {
    auto t = trim(text);
    auto len = number_length(t);
    if (len == 0 || len != t.size()) return malformed<double>(text, "a number (NR1, NR2 or NR3)");
    double v = 0;
    auto digits = without_plus(t);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || !std::isfinite(v))
        return malformed<double>(text, "a number within the range of a double");
    if (std::fabs(v) >= scpi_nan)
        return malformed<double>(text, "a reading, got SCPI not-a-number (9.91E37)");
    if (std::fabs(v) >= scpi_infinity)
        return malformed<double>(text, "a reading, got SCPI overload (9.9E37)");
    return {v, {}};
}

Decoded<bool> decode_bool(std::string_view text) {
    auto t = upper(trim(text));
    if (t == "1" || t == "+1" || t == "ON") return {true, {}};
    if (t == "0" || t == "+0" || t == "OFF") return {false, {}};
    return malformed<bool>(text, "a boolean (0, 1, ON or OFF)");
}

Decoded<Identity> decode_identity(std::string_view text) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
        auto comma = text.find(',', start);
        fields.emplace_back(trim(text.substr(start, comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    if (fields.size() != 4)
        return malformed<Identity>(text, "4 comma-separated fields (manufacturer, model, serial number, firmware), got " +
                                             std::to_string(fields.size()));
    if (fields[0].empty() || fields[1].empty())
        return malformed<Identity>(text, "a manufacturer and a model in the first two fields");
    return {Identity{fields[0], fields[1], fields[2], fields[3]}, {}};
}

Decoded<ErrorEntry> decode_error(std::string_view text) {
    constexpr std::string_view form = "<code>,\"<message>\" such as -113,\"Undefined header\"";
    auto t = trim(text);
    auto comma = t.find(',');
    if (comma == std::string_view::npos) return malformed<ErrorEntry>(text, form);
    auto code_text = trim(t.substr(0, comma));
    int code = 0;
    auto digits = without_plus(code_text);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code);
    if (code_text.empty() || digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
        code < -32768 || code > 32767)
        return malformed<ErrorEntry>(text, std::string(form) + " (code: an integer from -32768 to 32767)");
    auto rest = trim(t.substr(comma + 1));
    if (rest.size() < 2 || rest.front() != '"') return malformed<ErrorEntry>(text, form);
    std::string message;
    std::size_t i = 1;
    for (; i < rest.size(); ++i) {
        if (rest[i] != '"') {
            message += rest[i];
        } else if (i + 1 < rest.size() && rest[i + 1] == '"') {
            message += '"';
            ++i;
        } else {
            break;  // the closing quote
        }
    }
    if (i + 1 != rest.size()) return malformed<ErrorEntry>(text, std::string(form) + " (one quoted message, nothing after it)");
    return {ErrorEntry{code, std::move(message)}, {}};
}

std::string quote(std::string_view bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out = "\"";
    for (unsigned char c : bytes) {
        if (is_printable(c) && c != '<') {
            out += static_cast<char>(c);
        } else {
            out += '<';
            out += digits[c >> 4];
            out += digits[c & 0xF];
            out += '>';
        }
    }
    return out + "\"";
}

}  // namespace certlab::scpi
