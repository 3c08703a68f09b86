// The host-side NCI scale decoder on arbitrary scale output. Besides not crashing it
// must keep its promises: it never consumes more than it was given nor more than
// max_response, what it consumed is what it reports as seen, any chunking gives the
// same result, a decoded frame re-encodes to exactly the bytes it came from, decoded
// status bytes re-encode to themselves, and every line decoder either decodes or says
// why, never both.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scale/protocol.hpp"

namespace scale = certlab::scale;

namespace {

/// A property that must hold: reports the line that broke it, then aborts (a crash
/// for libFuzzer, with the input saved).
void require_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "property at %s:%d does not hold\n", __FILE__, line);
    std::abort();
}
#define require(ok) require_at((ok), __LINE__)

template <typename T>
void check(const scale::Decoded<T>& d) {
    require(d.value.has_value() != !d.error.empty());
}

struct Outcome {
    std::size_t used = 0;
    bool done = false;
    bool failed = false;
    std::string seen;
    std::string error;
    scale::Response response;
};

Outcome run(std::string_view input, scale::Dialect dialect, std::size_t step) {
    scale::Decoder dec(dialect);
    Outcome o;
    for (std::size_t at = 0; at < input.size(); at += step) {
        const auto piece = input.substr(at, step);
        const std::size_t used = dec.feed(piece);
        require(used <= piece.size());
        o.used += used;
        if (used < piece.size()) {
            require(dec.done() || dec.failed());  // it stops early only when finished
            break;
        }
    }
    o.done = dec.done();
    o.failed = dec.failed();
    o.seen = dec.seen();
    o.error = dec.error();
    o.response = dec.response();
    return o;
}

void check_reading(std::string_view line) {
    auto r = scale::decode_reading(line);
    check(r);
    check(scale::decode_units_line(line));
    if (!r || !r->value) return;
    require(std::isfinite(*r->value));
    require(r->display == line);
    if (r->lb_oz) return;
    // A decimal weight printed back as a scale would show it decodes to the same value.
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.*f%s", r->decimals, *r->value, std::string(scale::to_string(r->unit)).c_str());
    auto again = scale::decode_reading(buf);
    if (std::string_view(buf).size() > scale::max_line) return;  // a long number printed longer
    require(again && again->value && again->unit == r->unit && again->decimals == r->decimals);
    require(std::fabs(*again->value - *r->value) <= 1e-9 * std::fmax(1.0, std::fabs(*r->value)));
}

void check_status(std::string_view line, scale::Dialect dialect) {
    std::string why;
    auto s = scale::decode_status_line(line, dialect, why);
    require(s.has_value() == why.empty());
    if (!s) return;
    require(s->bytes.size() >= 2 && s->bytes.size() <= scale::max_status_bytes);
    if (s->bytes.size() <= 3) require(scale::encode_status(*s) == s->bytes);
    (void)s->describe();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The first byte picks the dialect and the chunk size of the second decoding.
    const scale::Dialect dialect{(data[0] & 1) != 0};
    const std::size_t step = 1 + (data[0] >> 1) % 7;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    const Outcome whole = run(input, dialect, input.size() ? input.size() : 1);
    require(whole.used <= input.size());
    require(whole.used <= scale::max_response);
    require(whole.seen == input.substr(0, whole.used));
    require(!(whole.done && whole.failed));
    if (!whole.done && !whole.failed) require(whole.used == input.size());  // waiting for more
    require(whole.failed == !whole.error.empty());
    if (whole.done) {
        require(scale::encode_response(whole.response, dialect) == whole.seen);
        if (whole.response.data) check_reading(*whole.response.data);
    }

    const Outcome pieces = run(input, dialect, step);
    require(pieces.used == whole.used && pieces.done == whole.done && pieces.failed == whole.failed);
    require(pieces.seen == whole.seen && pieces.error == whole.error);
    if (whole.done) require(scale::encode_response(pieces.response, dialect) == whole.seen);

    check_reading(input);
    check_status(input, dialect);
    require(scale::quote(input).size() >= input.size() + 2);
    return 0;
}
