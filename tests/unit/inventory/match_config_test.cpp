#include <doctest/doctest.h>

#include <string>

#include "config/yaml_util.hpp"
#include "inventory/match_config.hpp"
#include "sdk/error.hpp"

using namespace certlab;
using Op = inventory::MatchCondition::Op;

namespace {

inventory::MatchSpec read(const std::string& text) {
    auto f = config::YamlFile::parse(text, "p.yaml");
    return inventory::read_profile_match(f, f.root());
}

std::string error_of(const std::string& text) {
    try {
        (void)read(text);
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "no error";
}

const std::string keys =
    "kind, address, vid, pid, serial_number, manufacturer, product, port_path, mdns_service, mdns_type, txt.<key>, ieee1284.<key>";

}  // namespace

TEST_CASE("inventory: the documented match section reads into conditions") {
    auto s = read(R"(profile: escpos-epson
driver: escpos
match:
  kind: usb
  vid: "0x04B8"
  pid: "0e15"
  product: "TM-T88*"
  manufacturer: EPSON
  port_path: { parent: "1-4" }
  serial_number: { glob: "X5*" }
  address: { glob: "serial:/dev/pts/*" }
  txt.ty: "*Epson*"
  mdns_service: { exact: "_pdl[1]._tcp" }
priority: 10
probe: escpos.gs_i
identify:
  model: "TM-*"
  firmware: "30.01"
)");
    REQUIRE(s.all.size() == 10);
    auto at = [&](std::size_t i) { return s.all.at(i); };
    CHECK((at(0).key == "kind" && at(0).op == Op::exact && at(0).value == "usb"));
    CHECK((at(1).key == "vid" && at(1).op == Op::exact && at(1).value == "04b8"));  // normalized
    CHECK(at(1).where == "p.yaml:5:8");
    CHECK((at(2).key == "pid" && at(2).value == "0e15"));
    CHECK((at(3).key == "product" && at(3).op == Op::glob && at(3).value == "TM-T88*"));
    CHECK((at(4).key == "manufacturer" && at(4).op == Op::exact && at(4).value == "EPSON"));
    CHECK((at(5).key == "port_path" && at(5).op == Op::parent && at(5).value == "1-4"));
    CHECK(at(5).where == "p.yaml:9:24");
    CHECK((at(6).key == "serial_number" && at(6).op == Op::glob && at(6).value == "X5*"));
    CHECK((at(7).key == "address" && at(7).op == Op::glob));
    CHECK((at(8).key == "txt.ty" && at(8).op == Op::glob && at(8).value == "*Epson*"));
    // explicit exact keeps pattern characters literal
    CHECK((at(9).key == "mdns_service" && at(9).op == Op::exact && at(9).value == "_pdl[1]._tcp"));
    CHECK(s.priority == 10);
    CHECK(s.probe == "escpos.gs_i");
    REQUIRE(s.identify.size() == 2);
    CHECK((s.identify[0].key == "model" && s.identify[0].op == Op::glob));
    CHECK((s.identify[1].key == "firmware" && s.identify[1].op == Op::exact && s.identify[1].value == "30.01"));

    auto minimal = read("match:\n  kind: serial\n");
    CHECK(minimal.all.size() == 1);
    CHECK(minimal.priority == 0);
    CHECK(minimal.probe.empty());
    CHECK(minimal.identify.empty());
    CHECK(read("match: { vid: 4b8, pid: 0X0E15 }\n").all.at(1).value == "0e15");
    CHECK(read("match: { vid: \"04b*\" }\npriority: -5\n").priority == -5);
}

TEST_CASE("inventory: read_match reads a match section on its own") {
    auto f = config::YamlFile::parse("m:\n  kind: net\n  txt.rp: ipp/print\n", "m.yaml");
    auto s = inventory::read_match(f, f.root()["m"]);
    REQUIRE(s.all.size() == 2);
    CHECK(s.all[1].key == "txt.rp");
    CHECK(s.all[1].where == "m.yaml:3:11");
    CHECK_THROWS_WITH_AS(inventory::read_match(f, f.root()["absent"]),
                         ("m.yaml: match: expected a mapping with at least one of: " + keys).c_str(),
                         sdk::ConfigError);
}

TEST_CASE("inventory: match config errors name file:line:column and the expectation") {
    CHECK(error_of("profile: p\nmatch:\n  kind: usb\n  colour: red\n") ==
          "p.yaml:4:3: unknown key 'colour' in match (expected one of: " + keys + ")");
    CHECK(error_of("match:\n  txt.: x\n") ==
          "p.yaml:2:3: unknown key 'txt.' in match (expected one of: " + keys + ")");
    CHECK(error_of("match:\n  kind: usb\n  product: \"TM-[T88\"\n") ==
          "p.yaml:3:12: product: expected a glob pattern, but the '[' at position 4 has no closing ']' in 'TM-[T88'");
    CHECK(error_of("match:\n  serial_number: { glob: \"X5\\\\\" }\n") ==
          "p.yaml:2:26: serial_number: expected a glob pattern, but it ends with a lone '\\' in 'X5\\'");
    CHECK(error_of("match:\n  kind: usb\n  vid: \"04g8\"\n") ==
          "p.yaml:3:8: vid: expected a hex USB id such as 04b8 or 0x04B8, got '04g8'");
    CHECK(error_of("match:\n  pid: 12345\n") ==
          "p.yaml:2:8: pid: expected a hex USB id such as 04b8 or 0x04B8, got '12345'");
    CHECK(error_of("match:\n  pid: 0x\n") == "p.yaml:2:8: pid: expected a hex USB id such as 04b8 or 0x04B8, got '0x'");
    CHECK(error_of("profile: p\nmatch: {}\n") == "p.yaml:2:8: match: expected a mapping with at least one of: " + keys);
    CHECK(error_of("profile: p\nmatch: [kind]\n") ==
          "p.yaml:2:8: match: expected a mapping with at least one of: " + keys);
    CHECK(error_of("profile: p\ndriver: escpos\n") == "p.yaml:1:1: device profile: missing required key 'match'");
    CHECK(error_of("match:\n  kind: bluetooth\n") == "p.yaml:2:9: kind: expected usb, serial or net, got 'bluetooth'");
    CHECK(error_of("match:\n  kind: { glob: \"u*\" }\n") == "p.yaml:2:9: kind: expected usb, serial or net");
    CHECK(error_of("match:\n  product: { regex: \"T.*\" }\n") ==
          "p.yaml:2:14: product: unknown operator 'regex' (expected one of: exact, glob, parent)");
    CHECK(error_of("match:\n  product: { glob: \"T*\", exact: T }\n") ==
          "p.yaml:2:12: product: expected exactly one of { exact: ... }, { glob: ... }, { parent: ... }");
    CHECK(error_of("match:\n  address: { parent: \"1-4\" }\n") == "p.yaml:2:14: address: 'parent' applies only to port_path");
    CHECK(error_of("match:\n  port_path: { parent: \"1_4\" }\n") ==
          "p.yaml:2:24: port_path: expected a USB port path such as 1-4 or 1-4.2, got '1_4'");
    CHECK(error_of("match:\n  port_path: { parent: \"1-4..2\" }\n") ==
          "p.yaml:2:24: port_path: expected a USB port path such as 1-4 or 1-4.2, got '1-4..2'");
    CHECK(error_of("match:\n  vid: [04b8, 04b9]\n") ==
          "p.yaml:2:8: vid: expected a value, or one of { exact: ... }, { glob: ... }, { parent: ... }");
    CHECK(error_of("match:\n  product:\n  kind: usb\n") == "p.yaml:2:3: product: expected a value");
    CHECK(error_of("match:\n  product: \"\"\n") == "p.yaml:2:12: product: expected a non-empty value");
    CHECK(error_of("match: { kind: usb }\npriority: 5000\n") ==
          "p.yaml:2:11: priority: expected an integer from -1000 to 1000, got '5000'");
    CHECK(error_of("match: { kind: usb }\nprobe: escpos.esc_at\n") ==
          "p.yaml:2:8: probe: expected one of: escpos.gs_i, scpi.idn, got 'escpos.esc_at'");
    CHECK(error_of("match: { kind: usb }\nidentify: { model: \"TM-*\" }\n") ==
          "p.yaml:2:11: identify: needs a probe (probe: escpos.gs_i, scpi.idn)");
    CHECK(error_of("match: { kind: usb }\nprobe: scpi.idn\nidentify:\n  colour: red\n") ==
          "p.yaml:4:3: unknown key 'colour' in identify (expected one of: manufacturer, model, serial_number, firmware)");
    CHECK(error_of("match: { kind: usb }\nprobe: scpi.idn\nidentify:\n  model: \"[x\"\n") ==
          "p.yaml:4:10: model: expected a glob pattern, but the '[' at position 1 has no closing ']' in '[x'");
    CHECK(error_of("match: { kind: usb }\nprobe: scpi.idn\nidentify: {}\n") ==
          "p.yaml:3:11: identify: expected a mapping with at least one of: manufacturer, model, serial_number, firmware");
}
