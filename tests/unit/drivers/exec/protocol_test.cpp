// The exec driver protocol codec: every message type, every rejection, the requests'
// shapes, value conversions, result checks and the command splitter.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "exec/protocol.hpp"
#include "sdk/error.hpp"

using namespace certlab;
using namespace certlab::exec;
using nlohmann::json;

namespace {

template <typename T>
T parse_as(std::string_view line) {
    auto m = parse_message(line);
    REQUIRE(std::holds_alternative<T>(m));
    return std::get<T>(m);
}

std::string violation(std::string_view line) {
    try {
        (void)parse_message(line);
    } catch (const ProtocolViolation& e) {
        return e.what();
    }
    FAIL("expected a protocol violation for ", line);
    return {};
}

const sdk::ActionSpec& action(const char* name) {
    const auto* a = sdk::find_action(name);
    REQUIRE(a);
    return *a;
}

}  // namespace

TEST_CASE("exec protocol: hello") {
    auto h = parse_as<Hello>(R"({"type":"hello","protocol":1,"driver":"d","version":"2.1","actions":["printer.status"]})");
    CHECK(h.protocol == 1);
    CHECK(h.driver == "d");
    CHECK(h.version == "2.1");
    CHECK(h.actions == std::vector<std::string>{"printer.status"});
    CHECK(violation(R"({"type":"hello","protocol":1,"version":"1","actions":[]})") == "hello: missing field 'driver'");
    CHECK(violation(R"({"type":"hello","protocol":1,"driver":"","version":"1","actions":[]})") ==
          "hello: field 'driver' must not be empty");
    CHECK(violation(R"({"type":"hello","protocol":"1","driver":"d","version":"1","actions":[]})").find("protocol") !=
          std::string::npos);
    CHECK(violation(R"({"type":"hello","protocol":1,"driver":"d","version":"1","actions":[1]})") ==
          "hello: field 'actions' must be a list of strings");
}

TEST_CASE("exec protocol: results carry values bare or with units") {
    auto r = parse_as<Result>(R"({"type":"result","id":7,"values":{"online":true,"lines":40,"big":18446744073709551,)"
                              R"("latency":{"value":3.5,"unit":"ms"},"reason":"","list":["a","b"],"none":null}})");
    CHECK(r.id == 7);
    CHECK(r.values.at("online") == sdk::Value(true));
    CHECK(r.values.at("lines") == sdk::Value(std::int64_t{40}));
    CHECK(r.values.at("big") == sdk::Value(std::int64_t{18446744073709551}));
    CHECK(r.values.at("latency") == sdk::Value(3.5, "ms"));
    CHECK(r.values.at("reason") == sdk::Value(std::string()));
    CHECK(r.values.at("list") == sdk::Value(std::vector<std::string>{"a", "b"}));
    CHECK(r.values.at("none").is_null());
    CHECK(parse_as<Result>(R"({"type":"result","id":1})").values.empty());

    CHECK(violation(R"({"type":"result","id":-1})") == "result: field 'id' must be a non-negative integer");
    CHECK(violation(R"({"type":"result","values":{}})") == "result: missing field 'id'");
    CHECK(violation(R"({"type":"result","id":1,"values":[]})") == "result: field 'values' must be an object");
    CHECK(violation(R"({"type":"result","id":1,"values":{"x":{"unit":"V"}}})") == "value 'x': missing field 'value'");
    CHECK(violation(R"({"type":"result","id":1,"values":{"x":{"value":1,"units":"V"}}})") ==
          "value 'x': unknown field 'units'");
    CHECK(violation(R"({"type":"result","id":1,"values":{"x":{"value":1,"unit":5}}})") ==
          "value 'x': 'unit' must be a string");
    CHECK(violation(R"({"type":"result","id":1,"values":{"x":[1,2]}})") == "value 'x': a list holds strings only");
    CHECK(violation(R"({"type":"result","id":1,"values":{"x":18446744073709551615}})") == "value 'x' is out of range");
}

TEST_CASE("exec protocol: errors, logs and their kinds") {
    auto e = parse_as<Error>(R"({"type":"error","id":3,"kind":"timeout","message":"no answer"})");
    CHECK(e.id == 3);
    CHECK(e.kind == ErrorKind::timeout);
    CHECK(e.message == "no answer");
    CHECK(parse_as<Error>(R"({"type":"error","id":3,"kind":"fail","message":"m"})").kind == ErrorKind::fail);
    CHECK(parse_as<Error>(R"({"type":"error","id":3,"kind":"link","message":"m"})").kind == ErrorKind::link);
    CHECK(parse_as<Error>(R"({"type":"error","id":3,"kind":"config","message":"m"})").kind == ErrorKind::config);
    // A kind from a newer protocol is still the driver's error.
    CHECK(parse_as<Error>(R"({"type":"error","id":3,"kind":"cosmic-ray","message":"m"})").kind == ErrorKind::driver);
    CHECK(parse_as<Error>(R"({"type":"error","id":3,"message":"m"})").kind == ErrorKind::driver);
    CHECK(violation(R"({"type":"error","id":3})") == "error: missing field 'message'");

    auto l = parse_as<Log>(R"({"type":"log","level":"warn","message":"paper low","transcript":true})");
    CHECK(l.level == LogLevel::warn);
    CHECK(l.message == "paper low");
    CHECK(l.transcript);
    CHECK(parse_as<Log>(R"({"type":"log","message":"x"})").level == LogLevel::info);
    CHECK(violation(R"({"type":"log","level":"loud","message":"x"})") ==
          "log: field 'level' must be trace, debug, info, warn or error");
    CHECK(violation(R"({"type":"log","message":"x","transcript":"yes"})") ==
          "log: field 'transcript' must be true or false");
}

TEST_CASE("exec protocol: io requests") {
    auto w = parse_as<Io>(R"({"type":"io","id":4,"op":"write","data":"1B70003232","timeout_ms":500})");
    CHECK(w.id == 4);
    CHECK(w.op == Io::Op::write);
    CHECK(w.data == std::string("\x1bp\x00\x32\x32", 5));
    CHECK(w.timeout == std::chrono::milliseconds(500));
    auto r = parse_as<Io>(R"({"type":"io","id":4,"op":"read","n":3,"timeout_ms":1000})");
    CHECK(r.op == Io::Op::read);
    CHECK(r.n == 3);
    auto u = parse_as<Io>(R"({"type":"io","id":4,"op":"read_until","delim":"00","max":82,"timeout_ms":1000})");
    CHECK(u.op == Io::Op::read_until);
    CHECK(u.data == std::string(1, '\0'));
    CHECK(u.n == 82);
    CHECK(parse_as<Io>(R"({"type":"io","id":4,"op":"discard"})").op == Io::Op::discard);

    CHECK(violation(R"({"type":"io","id":4,"op":"write","data":"1B7","timeout_ms":5})") ==
          "io: field 'data' must be hex digits, two per byte");
    CHECK(violation(R"({"type":"io","id":4,"op":"write","data":"zz","timeout_ms":5})") ==
          "io: field 'data' must be hex digits, two per byte");
    CHECK(violation(R"({"type":"io","id":4,"op":"read","n":0,"timeout_ms":5})") ==
          "io: field 'n' must be an integer from 1 to 65536");
    CHECK(violation(R"({"type":"io","id":4,"op":"read","n":1,"timeout_ms":60001})") ==
          "io: field 'timeout_ms' must be an integer from 1 to 60000");
    CHECK(violation(R"({"type":"io","id":4,"op":"read_until","delim":"","max":5,"timeout_ms":5})") ==
          "io: field 'delim' must be 1 to 16 bytes");
    CHECK(violation(R"({"type":"io","id":4,"op":"seek"})") == "io: field 'op' must be write, read, read_until or discard");
    std::string big(2 * (max_io_bytes + 1), 'a');
    CHECK(violation(R"({"type":"io","id":4,"op":"write","timeout_ms":5,"data":")" + big + "\"}") ==
          "io: write of more than 65536 bytes");
}

TEST_CASE("exec protocol: lines that are not messages") {
    auto malformed = [](std::string_view line) {
        try {
            (void)parse_message(line);
        } catch (const MalformedJson& e) {
            return std::string(e.what());
        }
        return std::string("(accepted)");
    };
    CHECK(malformed("this is not json {").find("parse error at line 1, column 2") == 0);
    CHECK(malformed("").find("parse error") == 0);
    CHECK(malformed(R"({"type":"result","id":1)").find("parse error") == 0);
    CHECK(malformed("[1,2]") == "a message must be a JSON object, got array");
    CHECK(malformed("\"hello\"") == "a message must be a JSON object, got string");
    // Found by fuzz_exec: the parser throws a number beyond a double's range as
    // out_of_range (406), not parse_error; it must still be MalformedJson.
    CHECK(malformed(R"({"type":"result","id":1,"values":{"x":1e999}})") == "number overflow parsing '1e999'");
    CHECK(violation(R"({"id":1})") == "a message needs a string field 'type'");
    CHECK(violation(R"({"type":"goodbye"})") == "unknown message type 'goodbye'");
}

TEST_CASE("exec protocol: requests are one JSON object per line") {
    sdk::Resource res;
    res.kind = sdk::Resource::Kind::net;
    res.address = "tcp:127.0.0.1:9100";
    res.attributes["serial_number"] = "SN1";
    sdk::Settings settings;
    settings.set("command", "python3 d.py", "p.yaml:5:12");
    settings.set("odd", std::string("\xff", 1));  // not UTF-8: repaired, not refused
    auto open = encode_open(1, "printer-1", res, settings);
    REQUIRE(open.back() == '\n');
    CHECK(open.find('\n') == open.size() - 1);
    auto j = json::parse(open);
    CHECK(j["type"] == "open");
    CHECK(j["id"] == 1);
    CHECK(j["device"]["id"] == "printer-1");
    CHECK(j["device"]["address"] == "tcp:127.0.0.1:9100");
    CHECK(j["device"]["kind"] == "net");
    CHECK(j["device"]["attributes"]["serial_number"] == "SN1");
    CHECK(j["settings"]["command"] == "python3 d.py");
    CHECK(j["settings"]["odd"] == "\xEF\xBF\xBD");

    CHECK(json::parse(encode_identify(2)) == json{{"type", "identify"}, {"id", 2}});

    sdk::Args args{{"lines", sdk::Value(std::vector<std::string>{"a", "b"})},
                   {"count", sdk::Value(std::int64_t{3})},
                   {"wait", sdk::Value(1.5, "s")},
                   {"partial", sdk::Value(true)}};
    auto inv = json::parse(encode_invoke(3, action("printer.print"), args));
    CHECK(inv["type"] == "invoke");
    CHECK(inv["action"] == "printer.print");
    CHECK(inv["args"]["lines"] == json::array({"a", "b"}));
    CHECK(inv["args"]["count"] == 3);
    CHECK(inv["args"]["wait"] == json{{"value", 1.5}, {"unit", "s"}});
    CHECK(inv["args"]["partial"] == true);

    CHECK(json::parse(encode_io_result(4, std::string("\x12\x00", 2))) ==
          json{{"type", "io_result"}, {"id", 4}, {"data", "1200"}});
    CHECK(json::parse(encode_io_error(4, "timeout", "no answer")) ==
          json{{"type", "io_error"}, {"id", 4}, {"kind", "timeout"}, {"message", "no answer"}});
}

TEST_CASE("exec protocol: results are checked against the catalog") {
    const auto& status = action("printer.status");
    CHECK(check_results(status, {{"online", true}, {"latency", sdk::Value(std::int64_t{3}, "ms")}}) == "");
    CHECK(check_results(status, {{"online", sdk::Value()}}) == "");  // unknown is allowed
    CHECK(check_results(status, {{"online", sdk::Value(std::string("yes"))}}) ==
          "printer.status result 'online' must be boolean, got yes");
    CHECK(check_results(status, {{"colour", true}}).find("printer.status has no result 'colour' (it returns online,") ==
          0);
    const auto& print = action("printer.print");
    CHECK(check_results(print, {{"lines", sdk::Value(2.5)}}) == "printer.print result 'lines' must be integer, got 2.5");
}

TEST_CASE("exec protocol: identity from an identify result") {
    auto id = identity_from({{"manufacturer", sdk::Value(std::string("ACME"))},
                             {"model", sdk::Value(std::string("P-1"))},
                             {"serial_number", sdk::Value(std::string("42"))},
                             {"firmware", sdk::Value(std::string("1.2"))},
                             {"model_id", sdk::Value(std::int64_t{32})}});
    CHECK(id.manufacturer == "ACME");
    CHECK(id.model == "P-1");
    CHECK(id.serial_number == "42");
    CHECK(id.firmware == "1.2");
    CHECK(id.extra.at("model_id") == sdk::Value(std::int64_t{32}));
}

TEST_CASE("exec protocol: the command is split into argv without a shell") {
    CHECK(split_command("python3 /opt/d.py --fast") == std::vector<std::string>{"python3", "/opt/d.py", "--fast"});
    CHECK(split_command("  a\t b  ") == std::vector<std::string>{"a", "b"});
    CHECK(split_command(R"(prog "two words" 'single $HOME' a\ b "" *)") ==
          std::vector<std::string>{"prog", "two words", "single $HOME", "a b", "", "*"});
    CHECK(split_command(R"(prog "say \"hi\"" 'no \escape')") ==
          std::vector<std::string>{"prog", "say \"hi\"", "no \\escape"});
    CHECK_THROWS_WITH_AS(split_command("prog \"open"), "command: unterminated \" quote", sdk::ConfigError);
    CHECK_THROWS_WITH_AS(split_command("   "), "command: expected a program and its arguments, got nothing",
                         sdk::ConfigError);
}

TEST_CASE("exec protocol: hex both ways") {
    CHECK(to_hex(std::string("\x00\x1b\xff", 3)) == "001bff");
    CHECK(from_hex("001BfF") == std::string("\x00\x1b\xff", 3));
    CHECK(from_hex("") == std::string());
    CHECK_FALSE(from_hex("abc"));
    CHECK_FALSE(from_hex("0g"));
}
