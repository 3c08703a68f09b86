#include "scale/protocol.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace certlab::scale;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Decodes one whole frame fed at once; REQUIREs that it decoded and used every byte.
Response decode_all(std::string_view bytes, Dialect d = {}) {
    Decoder dec(d);
    const auto used = dec.feed(bytes);
    INFO(quote(bytes), " ", dec.error());
    REQUIRE(dec.done());
    CHECK(used == bytes.size());
    return dec.response();
}

/// The error for a frame that must be refused.
std::string refusal(std::string_view bytes, Dialect d = {}) {
    Decoder dec(d);
    (void)dec.feed(bytes);
    INFO(quote(bytes));
    REQUIRE(dec.failed());
    REQUIRE_FALSE(dec.done());
    return dec.error();
}

template <typename T>
std::string error_of(const Decoded<T>& d) {
    REQUIRE_FALSE(d);
    return d.error;
}

}  // namespace

TEST_CASE("scale: requests are one letter and CR") {
    CHECK(encode(Request::weight) == "W\r");
    CHECK(encode(Request::status) == "S\r");
    CHECK(encode(Request::zero) == "Z\r");
    CHECK(encode(Request::units) == "U\r");
    CHECK(name(Request::units) == "U");
}

TEST_CASE("scale: units parse in any case and print lower case") {
    CHECK(parse_unit("LB") == Unit::lb);
    CHECK(parse_unit("kg") == Unit::kg);
    CHECK(parse_unit("Oz") == Unit::oz);
    CHECK(parse_unit("g") == Unit::g);
    CHECK_FALSE(parse_unit("lbs"));
    CHECK_FALSE(parse_unit(""));
    CHECK(to_string(Unit::oz) == "oz");
}

TEST_CASE("scale: a weight response gives the data line and the status bits") {
    auto r = decode_all("\n   2.20lb\r\nS00\r\x03");
    REQUIRE(r.data);
    CHECK(*r.data == "   2.20lb");
    CHECK_FALSE(r.unrecognised);
    CHECK_FALSE(r.status.motion);
    CHECK_FALSE(r.status.at_zero);
    CHECK_FALSE(r.status.fault());
    CHECK(r.status.bytes == "00");
    CHECK_FALSE(r.status.net);  // no third byte: not reported

    // Byte 1: motion (bit 0), at zero (1), RAM (2), EEPROM (3); byte 2: under (0),
    // over (1), ROM (2), calibration (3).
    auto s = decode_all("\nS\x3F\x3F\r\x03").status;
    CHECK(s.motion);
    CHECK(s.at_zero);
    CHECK(s.ram_error);
    CHECK(s.eeprom_error);
    CHECK(s.under_capacity);
    CHECK(s.over_capacity);
    CHECK(s.rom_error);
    CHECK(s.calibration_error);
    CHECK(s.describe() == "motion, at zero, under capacity, over capacity, RAM error, ROM error, EEPROM error, faulty calibration");
    auto one = decode_all("\nS12\r\x03").status;  // 0x31 0x32
    CHECK(one.motion);
    CHECK_FALSE(one.at_zero);
    CHECK(one.over_capacity);
    CHECK_FALSE(one.under_capacity);
    CHECK(one.describe() == "motion, over capacity");
}

TEST_CASE("scale: the optional third and fourth status bytes") {
    // 0x70: byte 2 with "byte follows"; byte 3 = 0x3F: high range, net, initial zero error.
    auto s = decode_all("\nS0p?\r\x03").status;
    REQUIRE(s.high_range);
    CHECK(*s.high_range);
    CHECK(*s.net);
    CHECK(*s.initial_zero_error);
    auto low = decode_all("\nS0p0\r\x03").status;
    CHECK_FALSE(*low.high_range);
    CHECK_FALSE(*low.net);
    // A fourth byte is kept, not decoded.
    auto four = decode_all("\nS0pp0\r\x03").status;
    CHECK(four.bytes == "0pp0");
    CHECK(contains(refusal("\nS0p1\r\x03"), "range bits 01 and 10 are undefined"));
    CHECK(contains(refusal("\nS0pppp\r\x03"), "expected 2 to 4 status bytes, got 5"));
}

TEST_CASE("scale: status-only, unrecognised and prefix-less frames") {
    auto s = decode_all("\nS20\r\x03");
    CHECK_FALSE(s.data);
    CHECK(s.status.at_zero);
    auto q = decode_all("\n?\r\x03");
    CHECK(q.unrecognised);
    auto bare = decode_all("\n  1.000kg\r\n00\r\x03", Dialect{false});
    CHECK(bare.status.bytes == "00");
    CHECK(contains(refusal("\nS00\r\x03", Dialect{false}), "status byte 1 (0x53)"));
    CHECK(contains(refusal("\n00\r\x03"), "expected an S before the status bytes"));
}

TEST_CASE("scale: malformed frames are refused at the first byte that cannot fit") {
    SUBCASE("garbage: the first byte") {
        Decoder dec;
        CHECK(dec.feed("\xFF\xFE#\x80!\r\x03") == 1);
        CHECK(dec.failed());
        CHECK(contains(dec.error(), "malformed response \"<FF>\": expected a response starting with <LF>"));
    }
    SUBCASE("a byte with bit 7 set inside a line") {
        Decoder dec;
        CHECK(dec.feed("\n  1.0\xB0lb\r\n") == 7);
        CHECK(dec.failed());
        CHECK(contains(dec.error(), "<B0>"));
    }
    SUBCASE("a line with no CR in sight") {
        Decoder dec;
        const std::string endless = "\n" + std::string(100, '1');
        CHECK(dec.feed(endless) == 1 + max_line + 1);
        CHECK(contains(dec.error(), "<CR> within 24 bytes"));
    }
    SUBCASE("a status line longer than its bytes can be") {
        Decoder dec;
        const std::string frame = "\n1.00lb\r\nS0000000\r\x03";
        CHECK(dec.feed(frame) == 15);  // LF, the data line, CR LF, S and 4 status bytes, then the 5th
        CHECK(contains(dec.error(), "<CR> after at most 4 status bytes"));
        CHECK(dec.seen().size() <= max_response);
    }
    CHECK(contains(refusal("\n\r\x03"), "a line before <CR>"));
    CHECK(contains(refusal("\n1.00lb\rX"), "<ETX> or <LF> after <CR>"));
    CHECK(contains(refusal("\n1.00lb\r\nS00\rX"), "<ETX> after the status line"));
    CHECK(contains(refusal("\n1.00lb\x7F\r\nS00\r\x03"), "printable ASCII in the data line"));
    CHECK(contains(refusal("\nS0\r\x03"), "expected 2 to 4 status bytes, got 1"));
    CHECK(contains(refusal("\nS\x20\x30\r\x03"), "bits 4 and 5 must be 1"));
    CHECK(contains(refusal("\nSp0\r\x03"), "status byte 1 (0x70): bit 6 must be 0"));
    CHECK(contains(refusal("\nS0p\r\x03"), "says another follows, but none does"));
    CHECK(contains(refusal("\nS000\r\x03"), "says it is the last, but more follow"));
}

TEST_CASE("scale: a frame fed in pieces decodes the same, and nothing after ETX is taken") {
    const std::string frame = "\n  -0.05lb\r\nS10\r\x03";
    for (std::size_t step = 1; step <= frame.size(); ++step) {
        Decoder dec;
        std::size_t used = 0;
        for (std::size_t at = 0; at < frame.size(); at += step) used += dec.feed(std::string_view(frame).substr(at, step));
        REQUIRE(dec.done());
        CHECK(used == frame.size());
        CHECK(*dec.response().data == "  -0.05lb");
        CHECK(dec.response().status.motion);
    }
    Decoder dec;
    CHECK(dec.feed(frame + "\nS00\r\x03") == frame.size());
    CHECK(dec.done());
    CHECK(dec.feed("more") == 0);
    dec.reset();
    CHECK(dec.feed("\nS00\r\x03") == 6);
    CHECK(dec.done());
}

TEST_CASE("scale: encode_response and encode_status round trip through the decoder") {
    for (const char* frame : {"\n   2.20lb\r\nS00\r\x03", "\nS2p0\r\x03", "\n?\r\x03", "\nkg\r\nS00\r\x03"}) {
        auto r = decode_all(frame);
        CHECK(encode_response(r) == frame);
    }
    Status s;
    s.motion = true;
    s.over_capacity = true;
    s.calibration_error = true;
    CHECK(encode_status(s) == "\x31\x3A");
    s.net = true;
    const auto bytes = encode_status(s);
    CHECK(bytes == "\x31\x7A\x34");
    std::string why;
    auto back = decode_status_line("S" + bytes, Dialect{}, why);
    REQUIRE(back);
    CHECK(back->motion);
    CHECK(back->over_capacity);
    CHECK(back->calibration_error);
    CHECK(*back->net);
    CHECK_FALSE(*back->high_range);
}

TEST_CASE("scale: weight lines") {
    auto r = decode_reading("   2.20lb");
    REQUIRE(r);
    CHECK(*r->value == doctest::Approx(2.2));
    CHECK(r->unit == Unit::lb);
    CHECK(r->decimals == 2);
    CHECK(r->display == "   2.20lb");

    CHECK(*decode_reading("00.000LB")->value == 0);  // leading zeros, upper case (Avery 6702)
    CHECK(*decode_reading(" 1000g ")->value == 1000);  // grams with a blank after (Brecknell 3700LP)
    CHECK(decode_reading(" 1000g ")->unit == Unit::g);
    CHECK(decode_reading("  1.000kg")->unit == Unit::kg);
    CHECK(*decode_reading("  -0.05 kg")->value == doctest::Approx(-0.05));
    CHECK(decode_reading("   35.3oz")->unit == Unit::oz);

    auto lb_oz = decode_reading(" 2lb  3.5oz");
    REQUIRE(lb_oz);
    CHECK(lb_oz->lb_oz);
    CHECK(lb_oz->unit == Unit::lb);
    CHECK(*lb_oz->value == doctest::Approx(2 + 3.5 / 16));

    // An out-of-range display: no weight, but a unit.
    auto over = decode_reading("-------lb");
    REQUIRE(over);
    CHECK_FALSE(over->value);
    CHECK(over->unit == Unit::lb);

    CHECK(contains(error_of(decode_reading("1.2.3lb")), "malformed line \"1.2.3lb\""));
    CHECK(contains(error_of(decode_reading("  1.25")), "expected a weight"));
    CHECK(contains(error_of(decode_reading("1.lb")), "malformed"));
    CHECK(contains(error_of(decode_reading(".5lb")), "malformed"));
    CHECK(contains(error_of(decode_reading("- 1lb")), "malformed"));
    CHECK(contains(error_of(decode_reading("2lb 17oz")), "malformed"));  // 17 oz is over a pound
    CHECK(contains(error_of(decode_reading("1.0lb\t")), "malformed"));
    CHECK(contains(error_of(decode_reading("")), "malformed"));
    CHECK(contains(error_of(decode_reading(std::string(30, '1') + "lb")), "malformed"));
}

TEST_CASE("scale: the data line of a U answer") {
    CHECK(*decode_units_line("kg") == Unit::kg);
    CHECK(*decode_units_line(" LB ") == Unit::lb);
    CHECK(*decode_units_line("  1.000kg") == Unit::kg);  // indicators that answer U like W
    CHECK(contains(error_of(decode_units_line("stone")), "expected a unit"));
    CHECK(contains(error_of(decode_units_line("------kg")), "expected a unit"));
}

TEST_CASE("scale: quote shows control bytes in hex") {
    CHECK(quote("\n1<\r\x03") == "\"<0A>1<3C><0D><03>\"");
}
