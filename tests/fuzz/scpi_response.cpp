// The host-side SCPI decoders on arbitrary instrument answers: each decodes or says
// why, never both; a message keeps its text without terminator; numbers and error
// entries survive a round trip through their encoders; an *IDN? answer re-joined
// decodes to the same fields; a profile query stays one query.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scpi/protocol.hpp"

namespace scpi = certlab::scpi;

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
void check(const scpi::Decoded<T>& d) {
    require(d.value.has_value() != !d.error.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    auto message = scpi::decode_message(text);
    check(message);
    if (message) {
        require(text.size() <= scpi::max_message && !text.empty() && text.back() == '\n');
        require(message->find('\n') == std::string::npos);
        const bool had_cr = text.size() >= 2 && text[text.size() - 2] == '\r';
        require(*message == text.substr(0, text.size() - (had_cr ? 2 : 1)));
    }

    auto number = scpi::decode_number(text);
    check(number);
    if (number) {
        require(std::isfinite(*number) && std::fabs(*number) < 9.9e37);
        auto shortest = scpi::format_number(*number);
        require(shortest.has_value());
        auto again = scpi::decode_number(*shortest);
        require(again && *again == *number);
        require(scpi::cmd::voltage(*number).text == "VOLT " + *shortest);
    }

    check(scpi::decode_bool(text));

    auto id = scpi::decode_identity(text);
    check(id);
    if (id) {
        require(!id->manufacturer.empty() && !id->model.empty());
        auto again = scpi::decode_identity(id->manufacturer + "," + id->model + "," + id->serial_number + "," + id->firmware);
        require(again && *again == *id);
    }

    auto error = scpi::decode_error(text);
    check(error);
    if (error) {
        require(error->code >= -32768 && error->code <= 32767);
        auto again = scpi::decode_error(error->to_string());
        require(again && *again == *error);
    }

    if (auto q = scpi::custom_query(text)) {
        require(q->is_query() && q->text.find(';') == std::string::npos && q->text.find('\n') == std::string::npos);
        require(q->wire() == q->text + "\n");
        auto again = scpi::custom_query(q->text);
        require(again && *again == *q);
    }

    auto quoted = scpi::quote(text);
    require(quoted.size() >= 2 && quoted.front() == '"' && quoted.back() == '"');
    for (unsigned char c : quoted) require(c >= 0x20 && c < 0x7F);
    return 0;
}
