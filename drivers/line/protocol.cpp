#include "line/protocol.hpp"

#include <boost/regex.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace certlab::line {

namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

}  // namespace

std::string unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (++i == text.size()) throw std::invalid_argument("a lone '\\' at the end");
        switch (text[i]) {
            case 'r': out += '\r'; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case '0': out += '\0'; break;
            case '\\': out += '\\'; break;
            case 'x': {
                const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
                const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    throw std::invalid_argument("\\x at offset " + std::to_string(i - 1) + " needs two hex digits");
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                break;
            }
            default:
                throw std::invalid_argument(std::string("unknown escape '\\") + text[i] + "' at offset " +
                                            std::to_string(i - 1) + " (expected \\r, \\n, \\t, \\0, \\\\ or \\xNN)");
        }
    }
    return out;
}

Template Template::parse(std::string_view text) {
    Template t;
    std::string literal;
    auto flush = [&] {
        if (!literal.empty()) t.pieces_.push_back({false, unescape(literal)});
        literal.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            literal += '{';
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            literal += '}';
            ++i;
        } else if (c == '{') {
            const auto end = text.find('}', i);
            if (end == std::string_view::npos)
                throw std::invalid_argument("'{' at offset " + std::to_string(i) + " is not closed");
            const auto name = std::string(text.substr(i + 1, end - i - 1));
            if (name.empty() || !std::all_of(name.begin(), name.end(), name_char))
                throw std::invalid_argument("'{" + name + "}' at offset " + std::to_string(i) +
                                            ": expected a parameter name (letters, digits, _)");
            flush();
            t.pieces_.push_back({true, name});
            if (std::find(t.names_.begin(), t.names_.end(), name) == t.names_.end()) t.names_.push_back(name);
            i = end;
        } else if (c == '}') {
            throw std::invalid_argument("'}' at offset " + std::to_string(i) + " has no '{' (write '}}' for a brace)");
        } else {
            literal += c;
        }
    }
    flush();
    return t;
}

std::string Template::render(const sdk::Args& args) const {
    std::string out;
    for (const auto& p : pieces_) {
        if (!p.placeholder) {
            out += p.text;
            continue;
        }
        auto it = args.find(p.text);
        if (it == args.end() || it->second.is_null())
            throw std::invalid_argument("the request needs argument '" + p.text + "'");
        out += format_arg(it->second);
    }
    return out;
}

std::string format_arg(const sdk::Value& v) {
    struct {
        std::string operator()(std::monostate) const { return {}; }
        std::string operator()(bool b) const { return b ? "1" : "0"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const {
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, d);
            return std::string(buf, r.ptr);
        }
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(const std::vector<std::string>& l) const {
            std::string out;
            for (const auto& s : l) out += (out.empty() ? "" : ",") + s;
            return out;
        }
    } visit;
    return std::visit(visit, v.data);
}

struct Pattern::Impl {
    boost::regex re;
};

Pattern::Pattern() : impl_(std::make_unique<Impl>()) {}
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

Pattern Pattern::compile(std::string_view regex) {
    Pattern p;
    p.text_ = std::string(regex);
    try {
        p.impl_->re.assign(p.text_.begin(), p.text_.end(), boost::regex::perl);
    } catch (const boost::regex_error& e) {
        throw std::invalid_argument(std::string("not a valid regular expression: ") + e.what());
    }
    // Named groups are spelled (?<name>...); collect them in order.
    for (std::size_t i = 0; i + 3 < p.text_.size(); ++i) {
        if (p.text_[i] == '\\') {
            ++i;
            continue;
        }
        if (p.text_[i] != '(' || p.text_[i + 1] != '?') continue;
        const std::size_t start = i + 2;
        if (p.text_[start] != '<') continue;
        if (start + 1 < p.text_.size() && (p.text_[start + 1] == '=' || p.text_[start + 1] == '!')) continue;
        const auto end = p.text_.find('>', start);
        if (end == std::string::npos) continue;
        auto name = p.text_.substr(start + 1, end - start - 1);
        if (std::find(p.names_.begin(), p.names_.end(), name) == p.names_.end()) p.names_.push_back(name);
    }
    return p;
}

std::optional<std::map<std::string, std::string>> Pattern::match(std::string_view text) const {
    boost::match_results<std::string_view::const_iterator> m;
    bool matched = false;
    try {
        matched = boost::regex_match(text.begin(), text.end(), m, impl_->re);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("the response pattern is too complex for this response: ") + e.what());
    }
    if (!matched) return std::nullopt;
    std::map<std::string, std::string> out;
    for (const auto& name : names_) {
        const auto& sub = m[name];
        if (sub.matched) out[name] = std::string(sub.first, sub.second);
    }
    return out;
}

std::optional<sdk::Value> to_value(std::string_view text, sdk::ValueType type, const std::string& unit) {
    using T = sdk::ValueType;
    switch (type) {
        case T::string: return sdk::Value(std::string(text));
        case T::boolean: {
            const auto l = lower(text);
            if (l == "true" || l == "yes" || l == "on" || l == "1") return sdk::Value(true);
            if (l == "false" || l == "no" || l == "off" || l == "0") return sdk::Value(false);
            return std::nullopt;
        }
        case T::integer: {
            if (!text.empty() && text.front() == '+') text.remove_prefix(1);
            std::int64_t v = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
            return sdk::Value(v, unit);
        }
        case T::number: {
            if (!text.empty() && text.front() == '+') text.remove_prefix(1);
            double v = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v))
                return std::nullopt;
            return sdk::Value(v, unit);
        }
        case T::string_list: return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace certlab::line
