#include "transport/capture.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sdk/error.hpp"

namespace certlab::transport {
namespace {

constexpr std::size_t bytes_per_line = 16;

/// Header values and messages are one line: control characters become spaces.
std::string one_line(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    return out;
}

std::string format_offset(std::int64_t us) {
    if (us < 0) us = 0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(us / 1'000'000),
                  static_cast<long long>(us % 1'000'000));
    return buf;
}

/// `1b 40 0a ...` padded to a fixed width, then `|.@.|`.
std::string hex_line(std::string_view chunk) {
    static const char* digits = "0123456789abcdef";
    std::string hex, ascii;
    for (unsigned char c : chunk) {
        if (!hex.empty()) hex += ' ';
        hex += digits[c >> 4];
        hex += digits[c & 0xF];
        ascii += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '.';
    }
    hex.resize(bytes_per_line * 3 - 1, ' ');
    return hex + "  |" + ascii + "|";
}

struct Parser {
    std::string_view name;
    int line = 0;

    [[noreturn]] void fail(const std::string& what) const {
        throw sdk::ConfigError(std::string(name) + ":" + std::to_string(line) + ": " + what);
    }

    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
        return s;
    }

    /// Splits off the first space-separated word.
    static std::string_view word(std::string_view& s) {
        s = trim(s);
        auto end = s.find(' ');
        auto w = s.substr(0, end);
        s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
        return w;
    }

    std::int64_t offset(std::string_view t) const {
        auto dot = t.find('.');
        auto whole = t.substr(0, dot);
        std::int64_t s = 0, us = 0;
        auto bad = [&] { fail("expected a time offset such as 0.001250 (seconds), got '" + std::string(t) + "'"); };
        if (whole.empty() || std::from_chars(whole.data(), whole.data() + whole.size(), s).ec != std::errc{}) bad();
        if (dot != std::string_view::npos) {
            auto frac = t.substr(dot + 1);
            if (frac.empty() || frac.size() > 6) bad();
            if (std::from_chars(frac.data(), frac.data() + frac.size(), us).ec != std::errc{}) bad();
            for (auto n = frac.size(); n < 6; ++n) us *= 10;
        }
        return s * 1'000'000 + us;
    }

    static int digit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    /// Hex byte pairs up to the `|` of the ASCII column (which is not read).
    std::string hex(std::string_view s) const {
        std::string out;
        for (;;) {
            auto w = word(s);
            if (w.empty() || w.front() == '|') return out;
            const int hi = w.size() == 2 ? digit(w[0]) : -1;
            const int lo = w.size() == 2 ? digit(w[1]) : -1;
            if (hi < 0 || lo < 0) fail("expected a byte as two hex digits, got '" + std::string(w) + "'");
            out += static_cast<char>(hi * 16 + lo);
        }
    }
};

void set_header_field(CaptureHeader& h, std::string key, std::string value) {
    if (key == "device") h.device = std::move(value);
    else if (key == "profile") h.profile = std::move(value);
    else if (key == "driver") h.driver = std::move(value);
    else if (key == "address") h.address = std::move(value);
    else if (key == "manufacturer") h.manufacturer = std::move(value);
    else if (key == "model") h.model = std::move(value);
    else if (key == "serial_number") h.serial_number = std::move(value);
    else if (key == "firmware") h.firmware = std::move(value);
    else if (key == "date") h.date = std::move(value);
    else if (key == "notes") h.notes = std::move(value);
    else if (key == "certlab") h.certlab = std::move(value);
    else if (key == "settings") h.settings = std::move(value);
    else h.extra.emplace_back(std::move(key), std::move(value));
}

bool is_key(std::string_view k) {
    if (k.empty()) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

}  // namespace

std::string format_header(const CaptureHeader& h) {
    std::string out(capture_magic);
    out += '\n';
    auto put = [&](std::string_view key, const std::string& value) {
        out += "# ";
        out += key;
        out += ": ";
        out += one_line(value);
        out += '\n';
    };
    put("device", h.device);
    put("profile", h.profile);
    put("driver", h.driver);
    put("address", h.address);
    put("manufacturer", h.manufacturer);
    put("model", h.model);
    put("serial_number", h.serial_number);
    put("firmware", h.firmware);
    put("date", h.date);
    put("notes", h.notes);
    put("certlab", h.certlab);
    if (!h.settings.empty()) put("settings", h.settings);
    for (const auto& [k, v] : h.extra) put(k, v);
    out += "#\n# time (s) > written  < read  ! failed  @ marker    (docs/CAPTURES.md)\n";
    return out;
}

std::string format_record(const CaptureRecord& r) {
    std::string t = format_offset(r.offset_us);
    switch (r.kind) {
        case CaptureRecord::Kind::write:
        case CaptureRecord::Kind::read: {
            const char dir = r.kind == CaptureRecord::Kind::write ? '>' : '<';
            std::string out;
            std::string_view rest = r.bytes;
            bool first = true;
            do {
                auto chunk = rest.substr(0, bytes_per_line);
                rest.remove_prefix(chunk.size());
                out += first ? t : std::string(t.size(), ' ');
                out += ' ';
                out += dir;
                out += ' ';
                out += hex_line(chunk);
                out += '\n';
                first = false;
            } while (!rest.empty());
            return out;
        }
        case CaptureRecord::Kind::error:
            return t + " ! " + one_line(r.name) + " " + one_line(r.error_kind) +
                   (r.text.empty() ? "" : " " + one_line(r.text)) + "\n";
        case CaptureRecord::Kind::marker:
            return t + " @ " + one_line(r.name) + (r.text.empty() ? "" : " " + one_line(r.text)) + "\n";
    }
    return {};
}

std::string format_capture(const Capture& c) {
    std::string out = format_header(c.header);
    for (const auto& r : c.records) out += format_record(r);
    return out;
}

Capture parse_capture(std::string_view text, std::string_view name) {
    Capture c;
    Parser p{name};
    bool in_header = true;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++p.line;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

        if (p.line == 1) {
            if (line != capture_magic)
                p.fail("expected '" + std::string(capture_magic) + "' on the first line (not a certlab capture, or another version)");
            continue;
        }
        if (Parser::trim(line).empty()) continue;
        if (line.front() == '#') {
            if (!in_header) continue;  // a comment
            auto body = Parser::trim(line.substr(1));
            auto colon = body.find(": ");
            if (colon == std::string_view::npos && body.ends_with(':')) colon = body.size() - 1;
            if (colon != std::string_view::npos && is_key(body.substr(0, colon)))
                set_header_field(c.header, std::string(body.substr(0, colon)),
                                 std::string(Parser::trim(body.substr(colon + 1))));
            continue;
        }
        in_header = false;

        if (line.front() == ' ' || line.front() == '\t') {  // more bytes of the record above
            auto rest = Parser::trim(line);
            auto dir = Parser::word(rest);
            if (c.records.empty() || (dir != ">" && dir != "<"))
                p.fail("an indented line continues a > or < record, and none precedes it");
            auto& prev = c.records.back();
            const auto want = dir == ">" ? CaptureRecord::Kind::write : CaptureRecord::Kind::read;
            if (prev.kind != want) p.fail("continuation '" + std::string(dir) + "' does not match the record above");
            prev.bytes += p.hex(rest);
            continue;
        }

        CaptureRecord r;
        r.line = p.line;
        std::string_view rest = line;
        r.offset_us = p.offset(Parser::word(rest));
        auto sym = Parser::word(rest);
        if (sym == ">" || sym == "<") {
            r.kind = sym == ">" ? CaptureRecord::Kind::write : CaptureRecord::Kind::read;
            r.bytes = p.hex(rest);
        } else if (sym == "!") {
            r.kind = CaptureRecord::Kind::error;
            r.name = Parser::word(rest);
            r.error_kind = Parser::word(rest);
            if (r.name.empty() || r.error_kind.empty()) p.fail("expected '! OPERATION KIND MESSAGE'");
            r.text = rest;
        } else if (sym == "@") {
            r.kind = CaptureRecord::Kind::marker;
            r.name = Parser::word(rest);
            if (r.name.empty()) p.fail("expected a marker name after '@'");
            r.text = rest;
        } else {
            p.fail("expected '>', '<', '!' or '@' after the time offset, got '" + std::string(sym) + "'");
        }
        c.records.push_back(std::move(r));
    }
    if (p.line == 0) p.fail("empty file: expected '" + std::string(capture_magic) + "'");
    return c;
}

Capture load_capture(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw sdk::ConfigError(file.string() + ": cannot read the capture");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_capture(text.str(), file.string());
}

ErrorDescription describe_error(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const sdk::TransportError& x) {
        switch (x.kind()) {
            case sdk::TransportError::Kind::timeout: return {"timeout", x.what()};
            case sdk::TransportError::Kind::closed: return {"closed", x.what()};
            case sdk::TransportError::Kind::io: return {"io", x.what()};
            case sdk::TransportError::Kind::limit: return {"limit", x.what()};
        }
        return {"io", x.what()};
    } catch (const sdk::ProtocolError& x) {
        return {"protocol", x.what()};
    } catch (const sdk::ConfigError& x) {
        return {"config", x.what()};
    } catch (const boost::system::system_error& x) {
        if (x.code() == boost::asio::error::operation_aborted) return {"cancelled", x.what()};
        return {"other", x.what()};
    } catch (const std::exception& x) {
        return {"other", x.what()};
    } catch (...) {
        return {"other", "unknown exception"};
    }
}

void throw_recorded(const std::string& kind, const std::string& message) {
    using K = sdk::TransportError::Kind;
    if (kind == "timeout") throw sdk::TransportError(K::timeout, message);
    if (kind == "closed") throw sdk::TransportError(K::closed, message);
    if (kind == "io") throw sdk::TransportError(K::io, message);
    if (kind == "limit") throw sdk::TransportError(K::limit, message);
    if (kind == "protocol") throw sdk::ProtocolError(message);
    if (kind == "config") throw sdk::ConfigError(message);
    if (kind == "cancelled") throw boost::system::system_error(boost::asio::error::operation_aborted);
    throw std::runtime_error(message);
}

}  // namespace certlab::transport
