#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "inventory/matcher.hpp"
#include "sdk/error.hpp"

using namespace certlab;
using inventory::MatchCondition;
using inventory::MatchSpec;
using Op = MatchCondition::Op;

namespace {

MatchSpec spec(std::vector<MatchCondition> all, int priority = 0) {
    MatchSpec s;
    s.all = std::move(all);
    s.priority = priority;
    return s;
}

MatchCondition cond(std::string key, std::string value, Op op = Op::exact) {
    return MatchCondition{std::move(key), op, std::move(value), ""};
}

sdk::Resource usb(std::string vid, std::string pid, std::map<std::string, std::string> more = {}) {
    sdk::Resource r;
    r.kind = sdk::Resource::Kind::usb;
    r.address = "usb:1-4";
    r.source = "usb";
    r.attributes.emplace("vid", std::move(vid));
    r.attributes.emplace("pid", std::move(pid));
    for (auto& [k, v] : more) r.attributes.emplace(k, v);
    return r;
}

// The profile a single-profile matcher picks, or its reason when it picks none.
std::string one(const MatchSpec& s, const sdk::Resource& r) {
    inventory::Matcher m({{"p", s}});
    auto res = m.match(r);
    return res.profile.empty() ? res.reason : res.profile;
}

}  // namespace

TEST_CASE("inventory: usb ids compare as hex, ignoring case and 0x") {
    auto s = spec({cond("kind", "usb"), cond("vid", "0x04B8"), cond("pid", "e15")});
    CHECK(one(s, usb("04b8", "0e15")) == "p");
    CHECK(one(s, usb("0x04B8", "0E15")) == "p");
    CHECK(one(s, usb("04b9", "0e15")) == "no profile matches; p: vid is 04b9, expected 04b8");
    CHECK(one(s, usb("04b8", "0e16")) == "no profile matches; p: pid is 0e16, expected 0e15");
    CHECK(one(spec({cond("vid", "04B*", Op::glob)}), usb("0x04b8", "1")) == "p");
    CHECK_THROWS_AS(inventory::Matcher({{"bad", spec({cond("vid", "04g8")})}}), sdk::ConfigError);
}

TEST_CASE("inventory: exact and glob conditions on attributes, kind and address") {
    auto r = usb("04b8", "0e15", {{"product", "TM-T88V"}, {"serial_number", "X5AB01"}, {"manufacturer", "EPSON"}});
    CHECK(one(spec({cond("product", "TM-T88*", Op::glob)}), r) == "p");
    CHECK(one(spec({cond("product", "TM-T88?", Op::glob)}), r) == "p");
    CHECK(one(spec({cond("product", "TM-T88[VIX]", Op::glob)}), r) == "p");
    CHECK(one(spec({cond("product", "TM-T88[!V]", Op::glob)}), r) ==
          "no profile matches; p: product is TM-T88V, expected TM-T88[!V]");
    CHECK(one(spec({cond("product", "TM-U220*", Op::glob)}), r) ==
          "no profile matches; p: product is TM-T88V, expected TM-U220*");
    // exact is exact: the pattern characters are literal and case matters outside hex ids
    CHECK(one(spec({cond("product", "TM-T88*")}), r) == "no profile matches; p: product is TM-T88V, expected TM-T88*");
    CHECK(one(spec({cond("manufacturer", "epson")}), r) ==
          "no profile matches; p: manufacturer is EPSON, expected epson");
    CHECK(one(spec({cond("serial_number", "X5*", Op::glob)}), r) == "p");
    CHECK(one(spec({cond("mdns_service", "_ipp._tcp")}), r) ==
          "no profile matches; p: mdns_service is missing, expected _ipp._tcp");

    CHECK(one(spec({cond("kind", "serial")}), r) == "no profile matches; p: kind is usb, expected serial");
    sdk::Resource pts;
    pts.address = "serial:/dev/pts/7";
    CHECK(one(spec({cond("kind", "serial"), cond("address", "serial:/dev/pts/*", Op::glob)}), pts) == "p");
    CHECK(one(spec({cond("address", "serial:/dev/ttyUSB*", Op::glob)}), pts) ==
          "no profile matches; p: address is serial:/dev/pts/7, expected serial:/dev/ttyUSB*");

    sdk::Resource printer;
    printer.kind = sdk::Resource::Kind::net;
    printer.address = "tcp:10.0.0.5:9100";
    printer.attributes = {{"mdns_service", "_pdl-datastream._tcp"}, {"txt.ty", "EPSON TM-m30"}, {"txt.note", ""}};
    CHECK(one(spec({cond("txt.ty", "*EPSON*", Op::glob), cond("mdns_service", "_pdl-datastream._tcp")}), printer) == "p");
    CHECK(one(spec({cond("txt.note", "x")}), printer) == "no profile matches; p: txt.note is empty, expected x");
}

TEST_CASE("inventory: port_path parent takes the port and every port below it") {
    auto s = spec({cond("port_path", "1-4", Op::parent)});
    for (auto path : {"1-4", "1-4.2", "1-4.2.1", "1-4.2:1.0"}) {
        CAPTURE(path);
        CHECK(one(s, usb("1", "2", {{"port_path", path}})) == "p");
    }
    CHECK(one(s, usb("1", "2", {{"port_path", "1-40"}})) ==
          "no profile matches; p: port_path is 1-40, expected 1-4 or below it");
    CHECK(one(s, usb("1", "2", {{"port_path", "1-5.4"}})) ==
          "no profile matches; p: port_path is 1-5.4, expected 1-4 or below it");
    CHECK(one(s, usb("1", "2")) == "no profile matches; p: port_path is missing, expected 1-4 or below it");
    CHECK(inventory::port_path_within("2-1", "2-1"));
    CHECK_FALSE(inventory::port_path_within("2-1", ""));
    CHECK_THROWS_AS(inventory::Matcher({{"bad", spec({cond("product", "1-4", Op::parent)})}}), sdk::ConfigError);
}

TEST_CASE("inventory: the highest priority wins and a top tie is no match") {
    auto r = usb("04b8", "0e15", {{"product", "TM-T88V"}});
    auto generic = spec({cond("kind", "usb"), cond("vid", "04b8")}, 0);
    auto t88 = spec({cond("kind", "usb"), cond("vid", "04b8"), cond("product", "TM-T88*", Op::glob)}, 10);
    auto also10 = spec({cond("pid", "0e15")}, 10);

    inventory::Matcher m({{"escpos-generic", generic}, {"escpos-t88", t88}});
    auto res = m.match(r);
    CHECK(res.profile == "escpos-t88");
    CHECK(res.priority == 10);
    CHECK(res.reason == "matched escpos-t88 at priority 10 (kind, vid, product); also matches escpos-generic at priority 0");
    // the generic profile still catches the other Epson models
    CHECK(m.match(usb("04b8", "0202")).profile == "escpos-generic");

    inventory::Matcher tie({{"escpos-generic", generic}, {"escpos-t88", t88}, {"t88-by-pid", also10}});
    res = tie.match(r);
    CHECK(res.profile.empty());
    CHECK(res.reason == "ambiguous: profiles escpos-t88 and t88-by-pid both match at priority 10");

    inventory::Matcher three({{"a", also10}, {"b", also10}, {"c", also10}});
    CHECK(three.match(r).reason == "ambiguous: profiles a, b and c all match at priority 10");

    // a higher priority resolves the tie below it
    inventory::Matcher resolved({{"a", also10}, {"b", also10}, {"top", spec({cond("vid", "04b8")}, 11)}});
    CHECK(resolved.match(r).profile == "top");

    // the same profile listed twice is not a tie with itself
    inventory::Matcher twice({{"a", also10}, {"a", t88}});
    CHECK(twice.match(r).profile == "a");
}

TEST_CASE("inventory: an unmatched resource names the closest profile") {
    auto serial_printer = spec({cond("kind", "serial"), cond("vid", "04b8"), cond("pid", "0e15")});
    auto epson = spec({cond("kind", "usb"), cond("vid", "04b8"), cond("pid", "0e15")});
    auto star = spec({cond("kind", "usb"), cond("vid", "0519")});
    // serial-printer has two conditions holding but the wrong kind; escpos-epson has the right kind
    inventory::Matcher m({{"serial-printer", serial_printer}, {"star", star}, {"escpos-epson", epson}});
    CHECK(m.match(usb("04b9", "0e15")).reason == "no profile matches; escpos-epson: vid is 04b9, expected 04b8");

    inventory::Matcher none(std::vector<inventory::Matcher::Profile>{});
    CHECK(none.match(usb("1", "2")).reason == "no profile matches; no profiles are loaded");
    CHECK(none.size() == 0);
}

TEST_CASE("inventory: a profile without conditions is refused, it would claim every port") {
    try {
        inventory::Matcher m({{"everything", MatchSpec{}}});
        FAIL("expected a ConfigError");
    } catch (const sdk::ConfigError& e) {
        CHECK(std::string(e.what()) ==
              "profile 'everything': match: expected at least one condition (an empty match would claim every port)");
    }
    MatchCondition located{"product", Op::glob, "TM-[T88", "p.yaml:3:12"};
    try {
        inventory::Matcher m({{"p", spec({located})}});
        FAIL("expected a ConfigError");
    } catch (const sdk::ConfigError& e) {
        CHECK(std::string(e.what()) ==
              "p.yaml:3:12: product: expected a glob pattern, but the '[' at position 4 has no closing ']'");
    }
}

TEST_CASE("inventory: identify conditions check the probe's answer") {
    MatchSpec s = spec({cond("kind", "serial")});
    s.probe = "escpos.gs_i";
    s.identify = {cond("manufacturer", "EPSON"), cond("model", "TM-*", Op::glob)};
    std::string why = "stale";
    CHECK(inventory::identify_matches(s, {{"manufacturer", "EPSON"}, {"model", "TM-T88V"}}, why));
    CHECK(why.empty());
    CHECK_FALSE(inventory::identify_matches(s, {{"manufacturer", "EPSON"}, {"model", "LX-300"}}, why));
    CHECK(why == "model is LX-300, expected TM-*");
    CHECK_FALSE(inventory::identify_matches(s, {{"model", "TM-T88V"}}, why));
    CHECK(why == "manufacturer is missing from the probe's answer, expected EPSON");
    CHECK(inventory::identify_matches(spec({cond("kind", "usb")}), {}, why));
}

TEST_CASE("inventory: 200 resources against 50 profiles pick the right profile each") {
    std::vector<inventory::Matcher::Profile> profiles;
    for (int i = 0; i < 50; ++i) {
        char pid[8];
        std::snprintf(pid, sizeof pid, "%04X", 0x1000 + i);  // upper case on purpose
        profiles.emplace_back("model-" + std::to_string(i),
                              spec({cond("kind", "usb"), cond("vid", "0x04B8"), cond("pid", pid),
                                    cond("product", "Model *", Op::glob), cond("port_path", "1-2", Op::parent)},
                                   i % 3));
    }
    inventory::Matcher m(profiles);
    CHECK(m.size() == 50);
    int matched = 0;
    int unmatched = 0;
    for (int i = 0; i < 200; ++i) {
        char pid[8];
        std::snprintf(pid, sizeof pid, "%04x", 0x1000 + i % 60);  // 10 of every 60 pids are unknown
        auto r = usb("04b8", pid, {{"product", "Model " + std::to_string(i)}, {"port_path", "1-2.3"}});
        auto res = m.match(r);
        if (i % 60 < 50) {
            CHECK(res.profile == "model-" + std::to_string(i % 60));
            ++matched;
        } else {
            CHECK(res.profile.empty());
            CHECK(res.reason.starts_with("no profile matches; model-0: pid is "));
            ++unmatched;
        }
    }
    CHECK(matched == 170);
    CHECK(unmatched == 30);
}
