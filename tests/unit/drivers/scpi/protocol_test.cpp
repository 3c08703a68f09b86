#include "scpi/protocol.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

using namespace certlab::scpi;

namespace {

/// The error text of a decode that must fail; fails the test when it decoded.
template <typename T>
std::string error_of(const Decoded<T>& d) {
    REQUIRE_FALSE(d);
    return d.error;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("scpi: commands are byte-exact short forms with a newline") {
    struct Case {
        Command command;
        const char* wire;
        bool query;
    };
    const std::vector<Case> cases{
        {cmd::identify(), "*IDN?\n", true},
        {cmd::reset(), "*RST\n", false},
        {cmd::clear_status(), "*CLS\n", false},
        {cmd::output(true), "OUTP ON\n", false},
        {cmd::output(false), "OUTP OFF\n", false},
        {cmd::output_query(), "OUTP?\n", true},
        {cmd::voltage(12), "VOLT 12\n", false},
        {cmd::voltage_query(), "VOLT?\n", true},
        {cmd::current(0.25), "CURR 0.25\n", false},
        {cmd::current_query(), "CURR?\n", true},
        {cmd::measure_voltage(), "MEAS:VOLT?\n", true},
        {cmd::measure_current(), "MEAS:CURR?\n", true},
        {cmd::next_error(), "SYST:ERR?\n", true},
    };
    for (const auto& c : cases) {
        CHECK(c.command.wire() == c.wire);
        CHECK_MESSAGE(c.command.is_query() == c.query, c.wire);
    }
}

TEST_CASE("scpi: numbers are sent in their shortest exact form") {
    CHECK(cmd::voltage(3.3).text == "VOLT 3.3");
    CHECK(cmd::voltage(0).text == "VOLT 0");
    CHECK(cmd::current(1e-5).text == "CURR 1e-05");
    CHECK(cmd::voltage(29.999).text == "VOLT 29.999");
    // What the instrument reads back is the double that was meant.
    for (double v : {0.1, 1.0 / 3.0, 12.345678901234567, 1e-9}) {
        auto text = format_number(v);
        REQUIRE(text);
        auto back = decode_number(*text);
        REQUIRE(back);
        CHECK(*back == v);
    }
    CHECK_FALSE(format_number(std::nan("")));
    CHECK_FALSE(format_number(INFINITY));
    CHECK_THROWS_AS((void)cmd::voltage(std::nan("")), std::invalid_argument);
    CHECK_THROWS_AS((void)cmd::current(-INFINITY), std::invalid_argument);
}

TEST_CASE("scpi: a query from a profile is one header ending in '?'") {
    auto trip = custom_query("CURR:PROT:TRIP?");
    REQUIRE(trip);
    CHECK(trip->wire() == "CURR:PROT:TRIP?\n");
    CHECK(custom_query("  OUTP:OCP:QUES? ")->text == "OUTP:OCP:QUES?");
    CHECK(custom_query("*OPC?"));
    for (const char* bad : {"", "?", "CURR:PROT:TRIP", "OUTP?;*RST", "OUTP;*RST?", "OUTP ON?", "OUT\nP?", "A\"B?", "A??"})
        CHECK_FALSE_MESSAGE(custom_query(bad), "accepted: " << bad);
}

TEST_CASE("scpi: response messages lose their terminator and must be ASCII") {
    CHECK(*decode_message("1\n") == "1");
    CHECK(*decode_message("+1.2000E+01\r\n") == "+1.2000E+01");
    CHECK(*decode_message("\n") == "");
    CHECK(contains(error_of(decode_message("1")), "ending in a newline"));
    auto binary = error_of(decode_message("\xFF\xFE#\x80!\n"));
    CHECK(contains(binary, "\"<FF><FE>#<80>!<0A>\""));
    CHECK(contains(binary, "printable ASCII"));
    CHECK(contains(error_of(decode_message("a\x01" "b\n")), "<01>"));
    CHECK(contains(error_of(decode_message(std::string(max_message, 'x') + "\n")), "at most 512 bytes"));
}

TEST_CASE("scpi: NR1, NR2 and NR3 numbers") {
    struct Case {
        const char* text;
        double value;
    };
    for (const auto& c : std::vector<Case>{{"12", 12},
                                           {"+12", 12},
                                           {"-0.5", -0.5},
                                           {"+12.50", 12.5},
                                           {"+1.2000E+01", 12},
                                           {"1.2e-3", 0.0012},
                                           {"+5.00000000E-02", 0.05},
                                           {"-3.0E0", -3},
                                           {".5", 0.5},
                                           {"  7  ", 7}}) {
        auto d = decode_number(c.text);
        REQUIRE_MESSAGE(d, c.text << ": " << d.error);
        CHECK_MESSAGE(*d == doctest::Approx(c.value), c.text);
    }
    for (const char* bad : {"", " ", "abc", "1.2.3", "1E", "1E+", "+", "-", "++1", "12V", "1,2", "0x10", "inf", "nan"})
        CHECK_MESSAGE(contains(error_of(decode_number(bad)), "expected a number"), bad);
    CHECK(contains(error_of(decode_number("1e400")), "range of a double"));
    CHECK(contains(error_of(decode_number("+9.9E37")), "overload"));
    CHECK(contains(error_of(decode_number("-9.90000E+37")), "overload"));
    CHECK(contains(error_of(decode_number("9.91E37")), "not-a-number"));
}

TEST_CASE("scpi: booleans") {
    for (const char* t : {"1", "+1", "ON", "on", "On", " 1 "}) CHECK_MESSAGE(*decode_bool(t) == true, t);
    for (const char* f : {"0", "+0", "OFF", "off"}) CHECK_MESSAGE(*decode_bool(f) == false, f);
    for (const char* bad : {"", "2", "-1", "1.0", "TRUE", "yes", "ONN"})
        CHECK_MESSAGE(contains(error_of(decode_bool(bad)), "a boolean (0, 1, ON or OFF)"), bad);
}

TEST_CASE("scpi: *IDN? has four fields") {
    auto id = decode_identity("Keysight Technologies,E36312A,MY12345678,2.1.0-1.0.4-1.12");
    REQUIRE(id);
    CHECK(*id == Identity{"Keysight Technologies", "E36312A", "MY12345678", "2.1.0-1.0.4-1.12"});
    auto old = decode_identity("HEWLETT-PACKARD, E3631A, 0, 2.1-5.0-1.0");
    REQUIRE(old);
    CHECK(old->model == "E3631A");
    CHECK(old->serial_number == "0");
    CHECK(contains(error_of(decode_identity("RIGOL,DP832,DP8C0000")), "got 3"));
    CHECK(contains(error_of(decode_identity("A,B,C,D,E")), "got 5"));
    CHECK(contains(error_of(decode_identity("garbage")), "got 1"));
    CHECK(contains(error_of(decode_identity(",DP832,1,2")), "manufacturer and a model"));
    CHECK(contains(error_of(decode_identity("RIGOL, ,1,2")), "manufacturer and a model"));
}

TEST_CASE("scpi: error queue entries") {
    auto none = decode_error("0,\"No error\"");
    REQUIRE(none);
    CHECK_FALSE(none->is_error());
    CHECK(none->message == "No error");
    CHECK_FALSE(decode_error("+0,\"No error\"")->is_error());

    auto undefined = decode_error("-113,\"Undefined header\"");
    REQUIRE(undefined);
    CHECK(*undefined == ErrorEntry{-113, "Undefined header"});
    CHECK(undefined->is_error());
    CHECK(undefined->to_string() == "-113,\"Undefined header\"");

    // Device-dependent detail after ';' stays part of the message.
    CHECK(decode_error("-222,\"Data out of range;VOLT 99\"")->message == "Data out of range;VOLT 99");
    CHECK(decode_error("+201, \"Over temperature\" ")->code == 201);
    auto quoted = decode_error("-100,\"Say \"\"hi\"\"\"");
    REQUIRE(quoted);
    CHECK(quoted->message == "Say \"hi\"");
    CHECK(quoted->to_string() == "-100,\"Say \"\"hi\"\"\"");

    for (const char* bad : {"", "-113", "-113,Undefined header", "abc,\"x\"", ",\"x\"", "-113,\"unterminated",
                            "-113,\"a\" trailing", "99999,\"x\"", "1.5,\"x\"", "+,\"x\""})
        CHECK_MESSAGE(contains(error_of(decode_error(bad)), "<code>,\"<message>\""), bad);
}

TEST_CASE("scpi: answers are quoted for humans with control bytes in hex") {
    CHECK(quote("OK") == "\"OK\"");
    CHECK(quote(std::string("\0\n", 2)) == "\"<00><0A>\"");
    CHECK(quote("a<b") == "\"a<3C>b\"");
}
