// The http family's response parser and JSON pointer extraction on arbitrary device
// output. Besides not crashing they must keep their promises: the parser never takes
// more than it was given, any chunking gives the same outcome, it fails exactly when it
// says why, a finished response respects the limits and is not interim (1xx); a body
// either parses as JSON or is refused with invalid_argument, and every lookup gives a
// value of the asked type or an error, never both; a pointer that parses writes back to
// its own text.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http/protocol.hpp"

namespace http = certlab::http;
namespace sdk = certlab::sdk;

namespace {

void require_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "property at %s:%d does not hold\n", __FILE__, line);
    std::abort();
}
#define require(ok) require_at((ok), __LINE__)

const http::Limits limits{2048, 16 * 1024};

struct Outcome {
    std::size_t used = 0;
    bool done = false;
    bool failed = false;
    std::string error;
    http::Response response;
};

Outcome run(std::string_view input, std::size_t step, bool eof) {
    http::ResponseParser p(limits);
    Outcome o;
    for (std::size_t at = 0; at < input.size(); at += step) {
        const auto piece = input.substr(at, step);
        const std::size_t used = p.feed(piece);
        require(used <= piece.size());
        o.used += used;
        if (used < piece.size()) {
            require(p.done() || p.failed());  // it stops short only when finished
            break;
        }
    }
    require(p.taken() == o.used);
    if (eof) p.feed_eof();
    if (eof) require(p.done() || p.failed());  // the end of the connection decides
    o.done = p.done();
    o.failed = p.failed();
    o.error = p.error();
    if (o.done) o.response = p.response();
    return o;
}

std::string write_back(const http::JsonPointer& p) {
    std::string out;
    for (const auto& t : p.tokens()) {
        out += '/';
        for (char c : t) {
            if (c == '~') out += "~0";
            else if (c == '/') out += "~1";
            else out += c;
        }
    }
    return out;
}

void check_lookups(const http::JsonDocument& doc, const http::JsonPointer& p) {
    using T = sdk::ValueType;
    for (T type : {T::boolean, T::integer, T::number, T::string, T::string_list}) {
        const auto l = doc.get(p, type, "ms");
        require(l.value.has_value() == l.error.empty());
        if (!l.value) continue;
        require(doc.has(p));
        switch (type) {
            case T::boolean: require(l.value->is_bool()); break;
            case T::integer: require(std::holds_alternative<std::int64_t>(l.value->data) && l.value->unit == "ms"); break;
            case T::number: require(std::holds_alternative<double>(l.value->data)); break;
            case T::string: require(l.value->is_string()); break;
            case T::string_list: require(l.value->is_list()); break;
        }
    }
}

void check_json(std::string_view body, std::string_view pointer_text) {
    std::optional<http::JsonDocument> doc;
    try {
        doc = http::JsonDocument::parse(body);
    } catch (const std::invalid_argument& e) {
        require(std::string_view(e.what()).size() > 0);
        return;
    }
    for (const char* fixed : {"", "/", "/a", "/0", "/a/0/b", "/display/brightness"})
        check_lookups(*doc, http::JsonPointer::parse(fixed));
    try {
        const auto p = http::JsonPointer::parse(pointer_text);
        require(write_back(p) == pointer_text);
        check_lookups(*doc, p);
    } catch (const std::invalid_argument&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // Byte 0: the chunk size of the second parse and whether the connection ends after
    // the input; byte 1: the length of a JSON pointer taken from the end of the input.
    const std::size_t step = 1 + (data[0] & 0x0F);
    const bool eof = (data[0] & 0x10) != 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::size_t pointer_len = std::min<std::size_t>(data[1], rest.size());
    const std::string_view input = rest.substr(0, rest.size() - pointer_len);
    const std::string_view pointer = rest.substr(rest.size() - pointer_len);

    const Outcome whole = run(input, input.size() ? input.size() : 1, eof);
    require(!(whole.done && whole.failed));
    require(whole.failed == !whole.error.empty());
    if (!whole.done && !whole.failed) require(whole.used == input.size());
    if (whole.done) {
        const auto& r = whole.response;
        require(r.status >= 100 && r.status <= 599 && r.status / 100 != 1);
        require(r.version == 10 || r.version == 11);
        require(r.body.size() <= limits.body_bytes);
        require(r.status_text().starts_with(std::to_string(r.status)));
        check_json(r.body, pointer);
    }

    const Outcome pieces = run(input, step, eof);
    require(pieces.done == whole.done && pieces.failed == whole.failed);
    if (!whole.failed) require(pieces.used == whole.used);  // a failure ends the connection anyway
    if (whole.done) {
        require(pieces.response.status == whole.response.status);
        require(pieces.response.body == whole.response.body);
        require(pieces.response.headers == whole.response.headers);
        require(pieces.response.keep_alive == whole.response.keep_alive);
    }

    // The whole input as a body, too: devices send JSON that no header announced.
    check_json(input, pointer);
    return 0;
}
