// IEEE 1284 device ids: the fields, their aliases, and the length bytes firmware
// gets wrong.
#include <doctest/doctest.h>

#include <string>

#include "transport/usb_ieee1284.hpp"

using namespace certlab::transport;
using Fields = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("transport: a 1284 device id splits into fields in order") {
    CHECK(parse_ieee1284_id("MFG:EPSON;CMD:ESC/POS;MDL:TM-T20II;CLS:PRINTER;DES:TM-T20II;") ==
          Fields{{"MFG", "EPSON"}, {"CMD", "ESC/POS"}, {"MDL", "TM-T20II"}, {"CLS", "PRINTER"}, {"DES", "TM-T20II"}});
    // No trailing ';', blanks around keys and values, lower-case keys.
    CHECK(parse_ieee1284_id(" mfg : Star ; cmd:STAR,ESC/POS ; mdl:TSP143") ==
          Fields{{"MFG", "Star"}, {"CMD", "STAR,ESC/POS"}, {"MDL", "TSP143"}});
    CHECK(parse_ieee1284_id("").empty());
    CHECK(parse_ieee1284_id(";;;").empty());
}

TEST_CASE("transport: long 1284 key names become the short ones, and the first of a repeated key wins") {
    CHECK(parse_ieee1284_id("MANUFACTURER:Hewlett-Packard;COMMAND SET:PJL,PCL;MODEL:LaserJet;CLASS:PRINTER;"
                            "DESCRIPTION:HP LJ;") ==
          Fields{{"MFG", "Hewlett-Packard"}, {"CMD", "PJL,PCL"}, {"MDL", "LaserJet"}, {"CLS", "PRINTER"},
                 {"DES", "HP LJ"}});
    CHECK(parse_ieee1284_id("MFG:A;MANUFACTURER:B;") == Fields{{"MFG", "A"}});
}

TEST_CASE("transport: a 1284 value may contain colons, and text without a key is skipped") {
    CHECK(parse_ieee1284_id("SN:12:34;garbage;:novalue;MDL:X") == Fields{{"SN", "12:34"}, {"MDL", "X"}});
}

TEST_CASE("transport: command sets of a CMD value") {
    CHECK(ieee1284_command_sets("ESC/POS, FONT A ,FONT B") == std::vector<std::string>{"ESC/POS", "FONT A", "FONT B"});
    CHECK(ieee1284_command_sets("").empty());
}

TEST_CASE("transport: GET_DEVICE_ID answers with right and wrong length bytes") {
    const std::string id = "MFG:X;MDL:Y;";
    auto with = [&](unsigned hi, unsigned lo, const std::string& text) {
        return std::string{static_cast<char>(hi), static_cast<char>(lo)} + text;
    };
    const auto n = id.size() + 2;
    CHECK(ieee1284_id_text(with(n >> 8, n & 0xff, id)) == id);  // big-endian, counting itself
    CHECK(ieee1284_id_text(with(n & 0xff, n >> 8, id)) == id);  // little-endian
    CHECK(ieee1284_id_text(with(0, id.size(), id)) == id);      // counting only the text
    CHECK(ieee1284_id_text(with(0, 7, id + "junk")) == "MFG:X");  // shorter: the length cuts
    CHECK(ieee1284_id_text(with(0x40, 0x00, id)) == id);        // nonsense: what arrived
    CHECK(ieee1284_id_text(with(0, n, id + std::string(4, '\0'))) == id);  // NUL padding
    CHECK(ieee1284_id_text(std::string(1, '\0')).empty());
    CHECK(ieee1284_id_text("").empty());

    // 300 bytes of id: the high length byte matters.
    const std::string big = "MFG:" + std::string(294, 'A') + ";";
    CHECK(ieee1284_id_text(with((big.size() + 2) >> 8, (big.size() + 2) & 0xff, big)) == big);
}
