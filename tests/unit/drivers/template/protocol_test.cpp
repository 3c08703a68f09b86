// The template driver's codec: ESC p, DLE EOT 1 and GS I text, byte-exact.
#include <doctest/doctest.h>

#include "template/protocol.hpp"

using namespace certlab::tmpl;

namespace {
std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s += static_cast<char>(c);
    return s;
}
}  // namespace

TEST_CASE("template protocol: a drawer pulse is ESC p with 2 ms units, rounded and clamped") {
    auto p = encode_pulse(Pin::pin2, 100, 100);
    CHECK(p.bytes == bytes({0x1B, 'p', 0, 50, 50}));
    CHECK(p.on_ms == 100);
    CHECK(p.off_ms == 100);

    auto odd = encode_pulse(Pin::pin5, 3, 1000);  // 1.5 units rounds up; 500 units clamps to 255
    CHECK(odd.bytes == bytes({0x1B, 'p', 1, 2, 255}));
    CHECK(odd.on_ms == 4);
    CHECK(odd.off_ms == 510);

    auto zero = encode_pulse(Pin::pin2, 0, -5);  // nothing shorter than one unit exists
    CHECK(zero.bytes == bytes({0x1B, 'p', 0, 1, 1}));
    CHECK(zero.on_ms == 2);
}

TEST_CASE("template protocol: DLE EOT 1 answers are checked and decoded") {
    CHECK(encode_status_request() == bytes({0x10, 0x04, 0x01}));
    auto closed = decode_status(0x12);
    REQUIRE(closed.value);
    CHECK(*closed.value == DrawerStatus{false, false});
    auto open = decode_status(0x16);
    REQUIRE(open.value);
    CHECK(open.value->pin3_high);
    CHECK_FALSE(open.value->offline);
    auto offline = decode_status(0x1A);
    REQUIRE(offline.value);
    CHECK(offline.value->offline);

    // Every byte whose fixed bits are off is refused, naming the byte.
    for (int b = 0; b < 256; ++b) {
        auto d = decode_status(static_cast<std::uint8_t>(b));
        bool fixed_ok = (b & 0x93) == 0x12;
        CHECK(d.value.has_value() == fixed_ok);
        if (!fixed_ok) CHECK(d.error.find("DLE EOT 1 answered 0x") != std::string::npos);
    }
    CHECK(decode_status(0xFF).error.find("0xFF") != std::string::npos);
}

TEST_CASE("template protocol: GS I text requests and answers") {
    CHECK(encode_id_request(IdText::model) == bytes({0x1D, 'I', 67}));
    CHECK(encode_id_request(IdText::firmware) == bytes({0x1D, 'I', 65}));

    auto model = decode_id_text(std::string("_TM-T88VI\0", 10));
    REQUIRE(model.value);
    CHECK(*model.value == "TM-T88VI");
    auto empty = decode_id_text(std::string("_\0", 2));
    REQUIRE(empty.value);
    CHECK(empty.value->empty());

    CHECK_FALSE(decode_id_text(std::string("TM\0", 3)).value);       // no '_' header
    // Longer than a text answer can be (found by tests/fuzz/template_protocol.cpp).
    const std::string longest = "_" + std::string(max_id_answer - 2, 'A') + std::string(1, '\0');
    CHECK(decode_id_text(longest).value);
    const auto too_long = decode_id_text("_" + std::string(max_id_answer - 1, 'A') + std::string(1, '\0'));
    CHECK_FALSE(too_long.value);
    CHECK(too_long.error == "GS I answered 83 bytes: longer than the 82 a text answer can be");
    CHECK_FALSE(decode_id_text("_TM-T88").value);                    // no NUL
    CHECK_FALSE(decode_id_text(std::string("_A\x01" "B\0", 5)).value);  // control byte in the text
    CHECK_FALSE(decode_id_text("").value);
    CHECK(decode_id_text(std::string("X\0", 2)).error == "GS I answered 0x58 0x00: expected '_', text and NUL");
}

TEST_CASE("template protocol: hex for messages") {
    CHECK(hex("") == "");
    CHECK(hex(bytes({0x12, 0x00, 0xFF})) == "0x12 0x00 0xFF");
}
