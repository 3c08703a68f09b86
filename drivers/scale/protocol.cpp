#include "scale/protocol.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace certlab::scale {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_printable(unsigned char c) { return c >= 0x20 && c < 0x7F; }
/// What may stand in a line before its <CR>: printable ASCII, and DEL, which is a
/// valid status byte (0x7F: every flag of byte 2 or 3 set, another byte follows).
bool is_line_byte(unsigned char c) { return c >= 0x20 && c <= 0x7F; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

constexpr std::array<Unit, 4> all_units{Unit::lb, Unit::kg, Unit::oz, Unit::g};

/// The unit `s` ends with (two-letter symbols before `g`, so "kg" is not read as "g").
std::optional<Unit> unit_suffix(std::string_view s, std::size_t& length) {
    for (Unit u : all_units) {
        auto sym = to_string(u);
        if (s.size() >= sym.size() && iequals(s.substr(s.size() - sym.size()), sym)) {
            length = sym.size();
            return u;
        }
    }
    return std::nullopt;
}

template <typename T>
Decoded<T> malformed(std::string_view line, std::string_view expected) {
    return {std::nullopt, "malformed line " + quote(line) + ": expected " + std::string(expected)};
}

/// `[-]digits[.digits]` exactly; the number of decimals through `decimals`.
std::optional<double> parse_decimal(std::string_view s, int& decimals) {
    std::size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    std::size_t int_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
    if (int_digits == 0) return std::nullopt;
    decimals = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i, ++decimals;
        if (decimals == 0) return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

/// `<lb digits>lb<blanks><oz decimal>oz`, e.g. "2lb 3.5oz"; value in lb.
std::optional<Reading> parse_lb_oz(std::string_view t) {
    auto lb_at = t.find_first_not_of("0123456789");
    if (lb_at == 0 || lb_at == std::string_view::npos || t.size() < lb_at + 2 || !iequals(t.substr(lb_at, 2), "lb"))
        return std::nullopt;
    auto rest = t.substr(lb_at + 2);
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest = trim(rest);
    if (rest.size() < 3 || !iequals(rest.substr(rest.size() - 2), "oz")) return std::nullopt;
    int lb_decimals = 0;
    int oz_decimals = 0;
    auto pounds = parse_decimal(t.substr(0, lb_at), lb_decimals);
    auto ounces = parse_decimal(rest.substr(0, rest.size() - 2), oz_decimals);
    if (!pounds || !ounces || *ounces < 0 || *ounces >= 16) return std::nullopt;
    Reading r;
    r.value = *pounds + *ounces / 16;
    r.unit = Unit::lb;
    r.decimals = oz_decimals;
    r.lb_oz = true;
    return r;
}

std::string hex_byte(unsigned char b) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return {'0', 'x', digits[b >> 4], digits[b & 0xF]};
}

}  // namespace

// ---- requests -----------------------------------------------------------------------

Bytes encode(Request r) { return std::string(name(r)) + cr; }

std::string_view name(Request r) {
    switch (r) {
        case Request::weight: return "W";
        case Request::status: return "S";
        case Request::zero: return "Z";
        case Request::units: return "U";
    }
    return "?";
}

// ---- units --------------------------------------------------------------------------

std::string_view to_string(Unit u) {
    switch (u) {
        case Unit::lb: return "lb";
        case Unit::kg: return "kg";
        case Unit::oz: return "oz";
        case Unit::g: return "g";
    }
    return "?";
}

std::optional<Unit> parse_unit(std::string_view text) {
    for (Unit u : all_units)
        if (iequals(text, to_string(u))) return u;
    return std::nullopt;
}

// ---- status -------------------------------------------------------------------------

std::string Status::describe() const {
    std::string out;
    auto add = [&](bool on, const char* what) {
        if (on) out += (out.empty() ? "" : ", ") + std::string(what);
    };
    add(motion, "motion");
    add(at_zero, "at zero");
    add(under_capacity, "under capacity");
    add(over_capacity, "over capacity");
    add(ram_error, "RAM error");
    add(rom_error, "ROM error");
    add(eeprom_error, "EEPROM error");
    add(calibration_error, "faulty calibration");
    add(initial_zero_error.value_or(false), "initial zero error");
    add(net.value_or(false), "net");
    add(high_range.value_or(false), "high range");
    return out.empty() ? "ok" : out;
}

Bytes encode_status(const Status& s) {
    auto bit = [](bool on, int n) { return on ? 1 << n : 0; };
    const bool third = s.high_range || s.net || s.initial_zero_error;
    Bytes out;
    out += static_cast<char>(0x30 | bit(s.motion, 0) | bit(s.at_zero, 1) | bit(s.ram_error, 2) | bit(s.eeprom_error, 3));
    out += static_cast<char>(0x30 | bit(s.under_capacity, 0) | bit(s.over_capacity, 1) | bit(s.rom_error, 2) |
                             bit(s.calibration_error, 3) | bit(third, 6));
    if (third)
        out += static_cast<char>(0x30 | (s.high_range.value_or(false) ? 0x03 : 0) | bit(s.net.value_or(false), 2) |
                                 bit(s.initial_zero_error.value_or(false), 3));
    return out;
}

std::optional<Status> decode_status_line(std::string_view line, Dialect d, std::string& error) {
    auto refuse = [&](const std::string& why) -> std::optional<Status> {
        error = "malformed status " + quote(line) + ": " + why;
        return std::nullopt;
    };
    std::string_view bytes = line;
    if (d.status_prefix) {
        if (bytes.empty() || bytes.front() != 'S') return refuse("expected an S before the status bytes");
        bytes.remove_prefix(1);
    }
    if (bytes.size() < 2 || bytes.size() > max_status_bytes)
        return refuse("expected 2 to " + std::to_string(max_status_bytes) + " status bytes, got " +
                      std::to_string(bytes.size()));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        const std::string which = "status byte " + std::to_string(i + 1) + " (" + hex_byte(b) + ")";
        if (b & 0x80) return refuse(which + " has bit 7 (parity) set: is the line set to 7 data bits?");
        if ((b & 0x30) != 0x30) return refuse(which + ": bits 4 and 5 must be 1");
        const bool follows = b & 0x40;
        if (i == 0 && follows) return refuse(which + ": bit 6 must be 0");
        if (i > 0 && i + 1 < bytes.size() && !follows)
            return refuse(which + " says it is the last, but more follow");
        if (i > 0 && i + 1 == bytes.size() && follows) return refuse(which + " says another follows, but none does");
    }
    const auto b1 = static_cast<unsigned char>(bytes[0]);
    const auto b2 = static_cast<unsigned char>(bytes[1]);
    Status s;
    s.motion = b1 & 0x01;
    s.at_zero = b1 & 0x02;
    s.ram_error = b1 & 0x04;
    s.eeprom_error = b1 & 0x08;
    s.under_capacity = b2 & 0x01;
    s.over_capacity = b2 & 0x02;
    s.rom_error = b2 & 0x04;
    s.calibration_error = b2 & 0x08;
    if (bytes.size() >= 3) {
        const auto b3 = static_cast<unsigned char>(bytes[2]);
        const unsigned range = b3 & 0x03;
        if (range == 0x01 || range == 0x02)
            return refuse("status byte 3 (" + hex_byte(b3) + "): range bits 01 and 10 are undefined");
        s.high_range = range == 0x03;
        s.net = (b3 & 0x04) != 0;
        s.initial_zero_error = (b3 & 0x08) != 0;
    }
    s.bytes = Bytes(bytes);
    error.clear();
    return s;
}

// ---- frames -------------------------------------------------------------------------

Bytes encode_response(const Response& r, Dialect d) {
    if (r.unrecognised) return Bytes{lf, '?', cr, etx};
    Bytes out(1, lf);
    if (r.data) out += *r.data + cr + lf;
    if (d.status_prefix) out += 'S';
    out += r.status.bytes;
    out += cr;
    out += etx;
    return out;
}

void Decoder::reset() {
    state_ = State::start;
    line_.clear();
    first_.clear();
    second_ = false;
    response_ = {};
    error_.clear();
    seen_.clear();
}

std::size_t Decoder::feed(std::string_view bytes) {
    std::size_t used = 0;
    while (used < bytes.size() && state_ != State::done && state_ != State::failed) {
        const char c = bytes[used++];
        seen_ += c;
        if (!step(c)) break;
    }
    return used;
}

bool Decoder::fail(const std::string& expected) {
    state_ = State::failed;
    error_ = "malformed response " + quote(seen_) + ": expected " + expected;
    return false;
}

bool Decoder::end_status_line() {
    std::string why;
    auto status = decode_status_line(line_, dialect_, why);
    if (!status) {
        state_ = State::failed;
        error_ = "malformed response " + quote(seen_) + ": " + why;
        return false;
    }
    response_.status = std::move(*status);
    if (second_) response_.data = std::move(first_);
    state_ = State::done;
    return false;
}

bool Decoder::step(char c) {
    const auto u = static_cast<unsigned char>(c);
    switch (state_) {
        case State::start:
            if (c != lf) return fail("a response starting with <LF>");
            state_ = State::line;
            return true;
        case State::line:
            if (c == cr) {
                if (line_.empty()) return fail("a line before <CR>");
                state_ = second_ ? State::status_cr : State::after_cr;
                return true;
            }
            if (!is_line_byte(u)) return fail("printable ASCII or status bytes before <CR>");
            if (second_) {
                // After a data line only a status line can come: its length is known.
                const std::size_t limit = (dialect_.status_prefix ? 1 : 0) + max_status_bytes;
                if (line_.size() >= limit) return fail("<CR> after at most " + std::to_string(max_status_bytes) + " status bytes");
            } else if (line_.size() >= max_line) {
                return fail("<CR> within " + std::to_string(max_line) + " bytes");
            }
            line_ += c;
            return true;
        case State::after_cr:
            if (c == etx) {
                if (line_ == "?") {
                    response_.unrecognised = true;
                    state_ = State::done;
                    return false;
                }
                return end_status_line();
            }
            if (c == lf) {
                // The line was a data line: printable text, no status bytes.
                for (unsigned char b : line_)
                    if (!is_printable(b)) return fail("printable ASCII in the data line");
                first_ = std::move(line_);
                line_.clear();
                second_ = true;
                state_ = State::line;
                return true;
            }
            return fail("<ETX> or <LF> after <CR>");
        case State::status_cr:
            if (c != etx) return fail("<ETX> after the status line");
            return end_status_line();
        case State::done:
        case State::failed: break;
    }
    return false;
}

// ---- the data line -------------------------------------------------------------------

Decoded<Reading> decode_reading(std::string_view line) {
    constexpr std::string_view form =
        "a weight such as \"  1.25lb\" (blanks, an optional minus, digits with an optional decimal point, a unit "
        "lb, kg, oz or g), a lb-oz weight such as \"2lb 3.5oz\", or display characters without digits and a unit";
    if (line.empty() || line.size() > max_line) return malformed<Reading>(line, form);
    for (unsigned char c : line)
        if (!is_printable(c)) return malformed<Reading>(line, form);
    const auto t = trim(line);
    if (auto r = parse_lb_oz(t)) {
        r->display = std::string(line);
        return {std::move(r), {}};
    }
    std::size_t unit_length = 0;
    auto unit = unit_suffix(t, unit_length);
    if (!unit) return malformed<Reading>(line, form);
    const auto number = trim(t.substr(0, t.size() - unit_length));
    Reading r;
    r.display = std::string(line);
    r.unit = *unit;
    if (auto v = parse_decimal(number, r.decimals)) {
        r.value = *v;
        return {std::move(r), {}};
    }
    // Not a number: what an indicator displays when it shows no weight (over or under
    // capacity, "------"). Digits would be a mangled weight, not a display message.
    r.decimals = 0;
    if (number.empty() || number.find_first_of("0123456789") != std::string_view::npos)
        return malformed<Reading>(line, form);
    return {std::move(r), {}};
}

Decoded<Unit> decode_units_line(std::string_view line) {
    if (auto u = parse_unit(trim(line))) return {*u, {}};
    auto r = decode_reading(line);
    if (r && r->value) return {r->unit, {}};
    return malformed<Unit>(line, "a unit (lb, kg, oz or g) or a weight in the new unit");
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

}  // namespace certlab::scale
