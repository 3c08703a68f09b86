// The http family's request side and JSON: templates, request encoding, expected
// statuses, JSON pointers and strict typing (response parsing: response.cpp).
#include "http/protocol.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

namespace certlab::http {

using ojson = nlohmann::ordered_json;

namespace {

bool tchar(unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

/// An argument as text: integers in decimal, numbers in their shortest exact form,
/// booleans as true/false, lists joined with commas.
std::string arg_text(const sdk::Value& v) {
    struct {
        std::string operator()(std::monostate) const { return {}; }
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const {
            if (!std::isfinite(d)) throw std::invalid_argument("a number that is not finite cannot be sent");
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, d);
            return std::string(buf, r.ptr);
        }
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(const std::vector<std::string>& l) const {
            std::string out;
            for (const auto& s : l) {
                if (!out.empty()) out += ',';
                out += s;
            }
            return out;
        }
    } visit;
    return std::visit(visit, v.data);
}

/// `{name}` placeholders, `{{` and `}}` braces: the grammar of both templates.
struct Piece {
    bool placeholder = false;
    std::string text;
};

std::vector<Piece> split_placeholders(std::string_view text) {
    std::vector<Piece> out;
    std::string literal;
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
            if (!literal.empty()) out.push_back({false, std::move(literal)});
            literal.clear();
            out.push_back({true, name});
            i = end;
        } else if (c == '}') {
            throw std::invalid_argument("'}' at offset " + std::to_string(i) + " has no '{' (write '}}' for a brace)");
        } else {
            literal += c;
        }
    }
    if (!literal.empty()) out.push_back({false, std::move(literal)});
    return out;
}

void add_name(std::vector<std::string>& names, const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
}

const sdk::Value* find_arg(const sdk::Args& args, const std::string& name) {
    auto it = args.find(name);
    if (it == args.end() || it->second.is_null()) return nullptr;
    return &it->second;
}

std::string percent_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

/// Deepest nesting of arrays and objects in JSON text, counted outside strings. Run
/// before the parser so a hostile body cannot make any later step recurse deeply.
int json_depth(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

std::string type_name(const ojson& j) {
    switch (j.type()) {
        case ojson::value_t::null: return "null";
        case ojson::value_t::boolean: return "boolean";
        case ojson::value_t::number_integer:
        case ojson::value_t::number_unsigned: return "integer";
        case ojson::value_t::number_float: return "number";
        case ojson::value_t::string: return "string";
        case ojson::value_t::array: return "array";
        case ojson::value_t::object: return "object";
        default: return "value";
    }
}

/// `string "80"`, `object`, `array of 3`: what was found, for messages.
std::string describe(const ojson& j) {
    if (j.is_array()) return "array of " + std::to_string(j.size());
    if (j.is_object()) return "object";
    std::string text = j.dump(-1, ' ', false, ojson::error_handler_t::replace);
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return type_name(j) + " " + text;
}

/// The pointer's first `n` tokens, written as a pointer again (for messages).
std::string prefix_text(const JsonPointer& p, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += '/';
        for (char c : p.tokens()[i]) {
            if (c == '~') out += "~0";
            else if (c == '/') out += "~1";
            else out += c;
        }
    }
    return out.empty() ? std::string("the document") : out;
}

}  // namespace

// --- headers and requests -------------------------------------------------------

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return tchar(static_cast<unsigned char>(c)); });
}

void check_header(std::string_view name, std::string_view value) {
    if (!is_token(name)) throw std::invalid_argument("header name '" + sdk::render_bytes(name) + "' is not a token");
    for (unsigned char c : value)
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            throw std::invalid_argument("header " + std::string(name) + ": the value has a control byte (" +
                                        sdk::render_bytes(std::string(1, static_cast<char>(c))) + ")");
    if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t'))
        throw std::invalid_argument("header " + std::string(name) + ": the value starts or ends with white space");
}

PathTemplate PathTemplate::parse(std::string_view text) {
    if (!text.starts_with('/')) throw std::invalid_argument("expected a path starting with '/'");
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c <= 0x20 || c >= 0x7F)
            throw std::invalid_argument("byte '" + sdk::render_bytes(text.substr(i, 1)) + "' at offset " +
                                        std::to_string(i) + " cannot be in a path (percent-encode it)");
        if (c == '#') throw std::invalid_argument("'#' at offset " + std::to_string(i) + ": a fragment is not sent");
    }
    PathTemplate t;
    for (auto& p : split_placeholders(text)) {
        if (p.placeholder) add_name(t.names_, p.text);
        t.pieces_.push_back({p.placeholder, std::move(p.text)});
    }
    return t;
}

std::string PathTemplate::render(const sdk::Args& args) const {
    std::string out;
    for (const auto& p : pieces_) {
        if (!p.placeholder) {
            out += p.text;
            continue;
        }
        const auto* v = find_arg(args, p.text);
        if (!v) throw std::invalid_argument("the path needs argument '" + p.text + "'");
        out += percent_encode(arg_text(*v));
    }
    return out;
}

struct BodyTemplate::Impl {
    ojson doc;
};

BodyTemplate::BodyTemplate() : impl_(std::make_unique<Impl>()) {}
BodyTemplate::BodyTemplate(BodyTemplate&&) noexcept = default;
BodyTemplate& BodyTemplate::operator=(BodyTemplate&&) noexcept = default;
BodyTemplate::~BodyTemplate() = default;

namespace {

void collect(const ojson& j, std::vector<std::string>& names, std::vector<std::string>& whole) {
    if (j.is_string()) {
        const auto pieces = split_placeholders(j.get_ref<const std::string&>());
        for (const auto& p : pieces)
            if (p.placeholder) add_name(names, p.text);
        if (pieces.size() == 1 && pieces[0].placeholder) add_name(whole, pieces[0].text);
    } else if (j.is_structured()) {
        for (const auto& e : j) collect(e, names, whole);
    }
}

ojson to_json(const sdk::Value& v) {
    struct {
        ojson operator()(std::monostate) const { return nullptr; }
        ojson operator()(bool b) const { return b; }
        ojson operator()(std::int64_t i) const { return i; }
        ojson operator()(double d) const {
            if (!std::isfinite(d)) throw std::invalid_argument("a number that is not finite cannot be sent in JSON");
            return d;
        }
        ojson operator()(const std::string& s) const { return s; }
        ojson operator()(const std::vector<std::string>& l) const { return ojson(l); }
    } visit;
    return std::visit(visit, v.data);
}

/// The template value with its placeholders replaced; nullopt for a whole-string
/// placeholder whose argument is absent.
std::optional<ojson> fill(const ojson& j, const sdk::Args& args) {
    if (j.is_string()) {
        const auto pieces = split_placeholders(j.get_ref<const std::string&>());
        if (pieces.size() == 1 && pieces[0].placeholder) {
            const auto* v = find_arg(args, pieces[0].text);
            if (!v) return std::nullopt;
            return to_json(*v);
        }
        std::string text;
        for (const auto& p : pieces) {
            if (!p.placeholder) {
                text += p.text;
                continue;
            }
            const auto* v = find_arg(args, p.text);
            if (!v) throw std::invalid_argument("the body needs argument '" + p.text + "'");
            text += arg_text(*v);
        }
        return ojson(std::move(text));
    }
    if (j.is_object()) {
        ojson out = ojson::object();
        for (const auto& [k, e] : j.items())
            if (auto v = fill(e, args)) out[k] = std::move(*v);
        return out;
    }
    if (j.is_array()) {
        ojson out = ojson::array();
        for (const auto& e : j) {
            auto v = fill(e, args);
            out.push_back(v ? std::move(*v) : ojson(nullptr));
        }
        return out;
    }
    return j;
}

}  // namespace

BodyTemplate BodyTemplate::parse(std::string_view text) {
    if (json_depth(text) > max_json_depth)
        throw std::invalid_argument("nested deeper than " + std::to_string(max_json_depth) + " levels");
    BodyTemplate t;
    try {
        t.impl_->doc = ojson::parse(text.begin(), text.end());
    } catch (const ojson::exception& e) {
        throw std::invalid_argument(std::string("not valid JSON: ") + e.what());
    }
    collect(t.impl_->doc, t.names_, t.whole_);
    return t;
}

std::string BodyTemplate::render(const sdk::Args& args) const {
    auto filled = fill(impl_->doc, args);
    if (!filled) filled = ojson(nullptr);  // the whole body was one absent argument
    try {
        return filled->dump(-1, ' ', false, ojson::error_handler_t::strict);
    } catch (const ojson::type_error&) {
        throw std::invalid_argument("an argument is not valid UTF-8 and cannot be sent in JSON");
    }
}

std::string encode_request(const Request& r, std::string_view host) {
    if (!is_token(r.method)) throw std::invalid_argument("method '" + sdk::render_bytes(r.method) + "' is not a token");
    if (r.target.empty() || std::any_of(r.target.begin(), r.target.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u >= 0x7F;
        }))
        throw std::invalid_argument("target '" + sdk::render_bytes(r.target) + "' is empty or has spaces or control bytes");
    check_header("Host", host);
    std::string out = r.method + " " + r.target + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n";
    for (const auto& h : r.headers) {
        check_header(h.name, h.value);
        out += h.name + ": " + h.value + "\r\n";
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH")
        out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    out += "\r\n";
    out += r.body;
    return out;
}

StatusSet StatusSet::parse(std::string_view text) {
    StatusSet s;
    s.text_ = std::string(text);
    std::string_view rest = text;
    if (rest.empty()) throw std::invalid_argument("expected status codes such as 2xx or 200,201");
    for (;;) {
        auto comma = rest.find(',');
        auto item = rest.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.size() == 3 && item[0] >= '1' && item[0] <= '5' && (item[1] == 'x' || item[1] == 'X') &&
            (item[2] == 'x' || item[2] == 'X')) {
            s.classes_.push_back(item[0] - '0');
        } else {
            int code = 0;
            auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), code);
            if (item.size() != 3 || ec != std::errc() || ptr != item.data() + item.size() || code < 100 || code > 599)
                throw std::invalid_argument("'" + std::string(item) +
                                            "' is not a status code (100..599) or a class such as 2xx");
            s.codes_.push_back(code);
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return s;
}

bool StatusSet::contains(int status) const {
    return std::find(codes_.begin(), codes_.end(), status) != codes_.end() ||
           std::find(classes_.begin(), classes_.end(), status / 100) != classes_.end();
}

// --- JSON -----------------------------------------------------------------------

JsonPointer JsonPointer::parse(std::string_view text) {
    JsonPointer p;
    p.text_ = std::string(text);
    if (text.empty()) return p;
    if (text.front() != '/') throw std::invalid_argument("a JSON pointer is empty or starts with '/'");
    std::string token;
    for (std::size_t i = 1; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '/') {
            p.tokens_.push_back(std::move(token));
            token.clear();
            continue;
        }
        if (text[i] != '~') {
            token += text[i];
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '0') token += '~';
        else if (i + 1 < text.size() && text[i + 1] == '1') token += '/';
        else
            throw std::invalid_argument("'~' at offset " + std::to_string(i) + " must be followed by 0 or 1 (~0 is ~, ~1 is /)");
        ++i;
    }
    return p;
}

struct JsonDocument::Impl {
    ojson doc;
};

JsonDocument::JsonDocument() : impl_(std::make_unique<Impl>()) {}
JsonDocument::JsonDocument(JsonDocument&&) noexcept = default;
JsonDocument& JsonDocument::operator=(JsonDocument&&) noexcept = default;
JsonDocument::~JsonDocument() = default;

JsonDocument JsonDocument::parse(std::string_view text) {
    if (json_depth(text) > max_json_depth)
        throw std::invalid_argument("JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
    JsonDocument d;
    try {
        d.impl_->doc = ojson::parse(text.begin(), text.end());
    } catch (const ojson::exception& e) {
        throw std::invalid_argument(std::string("not valid JSON: ") + e.what());
    }
    return d;
}

namespace {

/// Walks `p`; the value, or the error saying where the path broke off.
const ojson* walk(const ojson& doc, const JsonPointer& p, std::string& error) {
    const ojson* at = &doc;
    const auto& tokens = p.tokens();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (at->is_object()) {
            auto it = at->find(t);
            if (it == at->end()) {
                error = p.text() + ": no member '" + sdk::render_bytes(t) + "' in " + prefix_text(p, i);
                return nullptr;
            }
            at = &*it;
        } else if (at->is_array()) {
            const bool digits = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (!digits || (t.size() > 1 && t[0] == '0')) {
                error = p.text() + ": '" + sdk::render_bytes(t) + "' is not an array index (" + prefix_text(p, i) +
                        " is an array)";
                return nullptr;
            }
            std::size_t index = 0;
            auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), index);
            if (ec != std::errc() || index >= at->size()) {
                error = p.text() + ": index " + t + " is past the end of " + prefix_text(p, i) + " (" +
                        std::to_string(at->size()) + " elements)";
                return nullptr;
            }
            at = &(*at)[index];
        } else {
            error = p.text() + ": " + prefix_text(p, i) + " is " + describe(*at) + ", not an object or array";
            return nullptr;
        }
    }
    return at;
}

}  // namespace

bool JsonDocument::has(const JsonPointer& p) const {
    std::string ignored;
    return walk(impl_->doc, p, ignored) != nullptr;
}

Lookup JsonDocument::get(const JsonPointer& p, sdk::ValueType type, const std::string& unit) const {
    Lookup out;
    const ojson* v = walk(impl_->doc, p, out.error);
    if (!v) return out;
    const std::string where = p.text().empty() ? std::string("the document") : p.text();
    auto mismatch = [&] {
        out.error = where + ": expected " + std::string(sdk::to_string(type)) + ", found " + describe(*v);
        return out;
    };
    using T = sdk::ValueType;
    switch (type) {
        case T::boolean:
            if (!v->is_boolean()) return mismatch();
            out.value = sdk::Value(v->get<bool>());
            return out;
        case T::integer:
            if (v->is_number_unsigned()) {
                const auto u = v->get<std::uint64_t>();
                if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return mismatch();
                out.value = sdk::Value(static_cast<std::int64_t>(u), unit);
                return out;
            }
            if (!v->is_number_integer()) return mismatch();
            out.value = sdk::Value(v->get<std::int64_t>(), unit);
            return out;
        case T::number: {
            if (!v->is_number()) return mismatch();
            const double d = v->get<double>();
            if (!std::isfinite(d)) return mismatch();
            out.value = sdk::Value(d, unit);
            return out;
        }
        case T::string:
            if (!v->is_string()) return mismatch();
            out.value = sdk::Value(v->get<std::string>());
            return out;
        case T::string_list: {
            if (!v->is_array()) return mismatch();
            std::vector<std::string> list;
            for (const auto& e : *v) {
                if (!e.is_string()) {
                    out.error = where + ": expected a list of strings, found " + describe(e) + " in it";
                    return out;
                }
                list.push_back(e.get<std::string>());
            }
            out.value = sdk::Value(std::move(list));
            return out;
        }
    }
    return mismatch();
}

// --- helpers --------------------------------------------------------------------

std::string default_host(std::string_view address) {
    std::string_view rest;
    int default_port = 0;
    if (address.starts_with("tcp:")) {
        rest = address.substr(4);
        default_port = 80;
    } else if (address.starts_with("tls:")) {
        rest = address.substr(4);
        default_port = 443;
    } else {
        return {};
    }
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return {};
    std::string host(rest.substr(0, colon));
    const std::string_view port = rest.substr(colon + 1);
    if (default_port == 443) {
        while (!query.empty()) {
            auto amp = query.find('&');
            auto pair = query.substr(0, amp);
            if (pair.starts_with("server_name=") && pair.size() > 12) host = std::string(pair.substr(12));
            if (amp == std::string_view::npos) break;
            query.remove_prefix(amp + 1);
        }
    }
    if (port == std::to_string(default_port)) return host;
    return host + ":" + std::string(port);
}

std::string excerpt(std::string_view body, std::size_t max) {
    if (body.size() <= max) return sdk::render_bytes(body);
    return sdk::render_bytes(body.substr(0, max)) + "...";
}

}  // namespace certlab::http
