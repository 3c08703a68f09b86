#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "http/protocol.hpp"

using namespace certlab;
using namespace certlab::http;

namespace {

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

/// Feeds `text` in pieces of `step` bytes; returns the parser and how many bytes it took.
std::pair<ResponseParser, std::size_t> parse_in_steps(std::string_view text, std::size_t step, Limits limits = {}) {
    ResponseParser p(limits);
    std::size_t used = 0;
    for (std::size_t at = 0; at < text.size() && !p.done() && !p.failed(); at += step) used += p.feed(text.substr(at, step));
    return {std::move(p), used};
}

sdk::Args args(std::initializer_list<std::pair<const std::string, sdk::Value>> list) { return sdk::Args(list); }

}  // namespace

TEST_CASE("http: path templates percent-encode arguments so they stay inside one segment") {
    auto t = PathTemplate::parse("/api/orders/{id}/bump?station={station}");
    CHECK(t.names() == std::vector<std::string>{"id", "station"});
    CHECK(t.render(args({{"id", sdk::Value("A-1001")}, {"station", sdk::Value("grill")}})) ==
          "/api/orders/A-1001/bump?station=grill");
    CHECK(t.render(args({{"id", sdk::Value("../x y/%")}, {"station", sdk::Value("a&b=c")}})) ==
          "/api/orders/..%2Fx%20y%2F%25/bump?station=a%26b%3Dc");
    CHECK(PathTemplate::parse("/v/{n}/{on}/{x}").render(
              args({{"n", sdk::Value(std::int64_t{-3})}, {"on", sdk::Value(true)}, {"x", sdk::Value(2.5)}})) ==
          "/v/-3/true/2.5");
    CHECK(PathTemplate::parse("/a{{b}}").render({}) == "/a{b}");
    CHECK(error_of([] { (void)PathTemplate::parse("/x/{id}").render({}); }) == "the path needs argument 'id'");
}

TEST_CASE("http: a path template with a mistake says what and where") {
    CHECK(error_of([] { (void)PathTemplate::parse("api/status"); }) == "expected a path starting with '/'");
    CHECK(error_of([] { (void)PathTemplate::parse("/a b"); }) ==
          "byte ' ' at offset 2 cannot be in a path (percent-encode it)");
    CHECK(error_of([] { (void)PathTemplate::parse("/a#frag"); }) == "'#' at offset 2: a fragment is not sent");
    CHECK(error_of([] { (void)PathTemplate::parse("/a/{id"); }) == "'{' at offset 3 is not closed");
    CHECK(error_of([] { (void)PathTemplate::parse("/a/{i-d}"); }).find("expected a parameter name") != std::string::npos);
    CHECK(error_of([] { (void)PathTemplate::parse("/\xC3\xA9"); }).find("<C3>") != std::string::npos);
}

TEST_CASE("http: body templates keep JSON types, escape text and drop absent optional members") {
    auto t = BodyTemplate::parse(R"({"id": "{id}", "note": "Order {id} for {who}", "items": "{items}", "hot": "{hot}", "list": ["{id}", "{gone}"], "lit": "{{x}}"})");
    CHECK(t.names() == std::vector<std::string>{"id", "who", "items", "hot", "gone"});
    CHECK(t.whole_names() == std::vector<std::string>{"id", "items", "hot", "gone"});
    const auto out = t.render(args({{"id", sdk::Value("A\"1\n")},
                                    {"who", sdk::Value("Bo")},
                                    {"items", sdk::Value(std::int64_t{3})},
                                    {"hot", sdk::Value(true)}}));
    CHECK(out == R"({"id":"A\"1\n","note":"Order A\"1\n for Bo","items":3,"hot":true,"list":["A\"1\n",null],"lit":"{x}"})");
    CHECK(BodyTemplate::parse(R"({"v": "{v}"})").render(args({{"v", sdk::Value(0.1)}})) == R"({"v":0.1})");
    CHECK(BodyTemplate::parse(R"({"v": "{v}"})").render({}) == "{}");
}

TEST_CASE("http: body templates refuse what cannot be sent") {
    CHECK(error_of([] { (void)BodyTemplate::parse(R"({"a": )"); }).starts_with("not valid JSON: "));
    CHECK(error_of([] { (void)BodyTemplate::parse(R"({"a": "{b"})"); }) == "'{' at offset 0 is not closed");
    CHECK(error_of([] { (void)BodyTemplate::parse(R"({"a": "x {b} y"})").render({}); }) == "the body needs argument 'b'");
    CHECK(error_of([] { (void)BodyTemplate::parse(R"({"a": "{b}"})").render(args({{"b", sdk::Value(std::string("\xFF"))}})); }) ==
          "an argument is not valid UTF-8 and cannot be sent in JSON");
    CHECK(error_of([] { (void)BodyTemplate::parse(std::string(70, '[') + std::string(70, ']')); }) ==
          "nested deeper than 64 levels");
}

TEST_CASE("http: requests carry Host, headers and a Content-Length when they have a body") {
    Request get;
    get.target = "/health";
    get.headers = {{"Accept", "application/json"}};
    CHECK(encode_request(get, "10.0.0.5:8080") == "GET /health HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nAccept: application/json\r\n\r\n");
    Request post{"POST", "/api/orders", {{"Content-Type", "application/json"}}, R"({"id":"A"})"};
    CHECK(encode_request(post, "kds") ==
          "POST /api/orders HTTP/1.1\r\nHost: kds\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"id\":\"A\"}");
    Request empty_post{"POST", "/api/x", {}, ""};
    CHECK(encode_request(empty_post, "h").find("Content-Length: 0\r\n") != std::string::npos);
    Request injected{"GET", "/", {{"X-A", "1\r\nX-B: 2"}}, ""};
    CHECK(error_of([&] { (void)encode_request(injected, "h"); }) == "header X-A: the value has a control byte (<0D>)");
    CHECK(error_of([] { (void)encode_request(Request{"G ET", "/", {}, ""}, "h"); }) == "method 'G ET' is not a token");
    CHECK(error_of([] { (void)encode_request(Request{"GET", "/a b", {}, ""}, "h"); }).find("spaces") != std::string::npos);
    CHECK(error_of([] { check_header("Bad Name", "x"); }) == "header name 'Bad Name' is not a token");
}

TEST_CASE("http: expected statuses are codes and classes") {
    auto s = StatusSet::parse("2xx, 304");
    CHECK(s.contains(200));
    CHECK(s.contains(299));
    CHECK(s.contains(304));
    CHECK_FALSE(s.contains(301));
    CHECK_FALSE(s.contains(500));
    auto exact = StatusSet::parse("201");
    CHECK(exact.contains(201));
    CHECK_FALSE(exact.contains(200));
    CHECK(error_of([] { (void)StatusSet::parse("20x"); }).find("is not a status code") != std::string::npos);
    CHECK(error_of([] { (void)StatusSet::parse("600"); }).find("is not a status code") != std::string::npos);
    CHECK(error_of([] { (void)StatusSet::parse(""); }) == "expected status codes such as 2xx or 200,201");
}

TEST_CASE("http: a Content-Length response parses whole or byte by byte, and says where it ended") {
    const std::string text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}";
    for (std::size_t step : {text.size(), std::size_t{1}, std::size_t{7}}) {
        CAPTURE(step);
        auto [p, used] = parse_in_steps(text, step);
        REQUIRE(p.done());
        CHECK(used == text.size());
        CHECK(p.response().status == 200);
        CHECK(p.response().reason == "OK");
        CHECK(p.response().body == "{\"a\": true}");
        CHECK(p.response().keep_alive);
        CHECK(*p.response().header("content-type") == "application/json");
        CHECK(p.response().status_text() == "200 OK");
    }
    ResponseParser p;
    CHECK(p.feed(text + "HTTP/1.1 200") == text.size());  // what follows is not this response's
    CHECK(p.done());
    CHECK(p.feed("more") == 0);
}

TEST_CASE("http: chunked bodies are decoded and 1xx responses skipped") {
    const std::string text =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (std::size_t step : {text.size(), std::size_t{1}, std::size_t{3}}) {
        CAPTURE(step);
        auto [p, used] = parse_in_steps(text, step);
        REQUIRE(p.done());
        CHECK(used == text.size());
        CHECK(p.response().status == 201);
        CHECK(p.response().body == "hello world");
        CHECK(p.response().chunked);
    }
}

TEST_CASE("http: a body without a length runs to the end of the connection") {
    ResponseParser p;
    CHECK(p.feed("HTTP/1.0 200 OK\r\n\r\npartial") == 26);
    CHECK_FALSE(p.done());
    CHECK(p.needs_eof());
    p.feed(" body");
    p.feed_eof();
    REQUIRE(p.done());
    CHECK(p.response().body == "partial body");
    CHECK_FALSE(p.response().keep_alive);
    CHECK(p.response().version == 10);
}

TEST_CASE("http: Connection close and HTTP/1.0 without keep-alive end the connection") {
    auto [close, u1] = parse_in_steps("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 100);
    REQUIRE(close.done());
    CHECK_FALSE(close.response().keep_alive);
    auto [old, u2] = parse_in_steps("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 100);
    REQUIRE(old.done());
    CHECK_FALSE(old.response().keep_alive);
    auto [kept, u3] = parse_in_steps("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 100);
    REQUIRE(kept.done());
    CHECK(kept.response().keep_alive);
}

TEST_CASE("http: garbage fails at the first wrong byte, not at a timeout") {
    ResponseParser p;
    p.feed("\xFF\xFE?#\x80\r\n");
    REQUIRE(p.failed());
    CHECK(p.error() == "not an HTTP response: expected HTTP/1.x in '<FF><FE>?#<80><0D><0A>'");
    ResponseParser early;
    early.feed("HTTP/1.1 2");
    CHECK_FALSE(early.failed());
    early.feed("x");
    CHECK(early.failed());
    CHECK(early.error().find("three-digit status code") != std::string::npos);

    const std::pair<const char*, const char*> cases[] = {
        {"HTTP/2.0 200 OK\r\n", "expected HTTP/1.x"},
        {"HTTP/1.2 200 OK\r\n", "expected HTTP/1.0 or HTTP/1.1"},
        {"HTTP/1.1  200 OK\r\n", "three-digit status code"},
        {"HTTP/1.1 099 Low\r\n", "from 100 to 599"},
        {"HTTP/1.1 200OK\r\n", "a space after the status code"},
        {"HTTP/1.1 200 O\x01K\r\n", "a control byte"},
        {"HTTP/1.1 200 OK\rX", "CR LF at the end"},
        {"ICY 200 OK\r\n", "expected HTTP/1.x"},
    };
    for (auto [text, why] : cases) {
        CAPTURE(std::string(text));
        ResponseParser q;
        q.feed(text);
        REQUIRE(q.failed());
        CHECK(q.error().find(why) != std::string::npos);
    }
}

TEST_CASE("http: malformed headers and bodies fail with the reason") {
    const std::pair<std::string, std::string> cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab", "malformed response"},
        {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "malformed response"},
        {"HTTP/1.1 200 OK\r\nBad Header: 1\r\n\r\n", "malformed response"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed response"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", "switched protocols"},
    };
    for (const auto& [text, why] : cases) {
        CAPTURE(text);
        auto [p, used] = parse_in_steps(text, text.size());
        REQUIRE(p.failed());
        CHECK(p.error().find(why) != std::string::npos);
    }
}

TEST_CASE("http: size limits bound the header and the body") {
    Limits small{256, 16};
    auto [big_header, u1] = parse_in_steps("HTTP/1.1 200 OK\r\nX: " + std::string(400, 'a') + "\r\n\r\n", 50, small);
    REQUIRE(big_header.failed());
    CHECK(big_header.error() == "the header is longer than 256 bytes");
    auto [big_body, u2] = parse_in_steps("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n", 100, small);
    REQUIRE(big_body.failed());
    CHECK(big_body.error() == "the body is longer than 16 bytes");
    auto [big_chunks, u3] = parse_in_steps("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n", 5, small);
    REQUIRE(big_chunks.failed());
    CHECK(big_chunks.error() == "the body is longer than 16 bytes");
    ResponseParser long_line;
    long_line.feed("HTTP/1.1 200 " + std::string(max_status_line, 'a'));
    REQUIRE(long_line.failed());
    CHECK(long_line.error() == "the status line is longer than 1024 bytes");
}

TEST_CASE("http: a connection closed mid-response fails the response") {
    ResponseParser none;
    none.feed_eof();
    REQUIRE(none.failed());
    CHECK(none.error() == "the connection closed before a response");
    ResponseParser cut;
    cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    cut.feed_eof();
    REQUIRE(cut.failed());
    CHECK(cut.error() == "the connection closed after 42 bytes, before the response was complete");
}

TEST_CASE("http: JSON pointers follow RFC 6901") {
    CHECK(JsonPointer::parse("").tokens().empty());
    CHECK(JsonPointer::parse("/a~1b/~0c/0").tokens() == std::vector<std::string>{"a/b", "~c", "0"});
    CHECK(JsonPointer::parse("/").tokens() == std::vector<std::string>{""});
    CHECK(error_of([] { (void)JsonPointer::parse("a/b"); }) == "a JSON pointer is empty or starts with '/'");
    CHECK(error_of([] { (void)JsonPointer::parse("/a~2"); }) == "'~' at offset 2 must be followed by 0 or 1 (~0 is ~, ~1 is /)");
    CHECK(error_of([] { (void)JsonPointer::parse("/a~"); }).find("must be followed by 0 or 1") != std::string::npos);

    auto doc = JsonDocument::parse(R"({"a/b": {"~c": [10, 20]}, "": 1, "x": {"": "empty key"}})");
    auto v = doc.get(JsonPointer::parse("/a~1b/~0c/1"), sdk::ValueType::integer, "ms");
    REQUIRE(v.value);
    CHECK(*v.value == sdk::Value(std::int64_t{20}, "ms"));
    CHECK(doc.get(JsonPointer::parse("/"), sdk::ValueType::integer).value == sdk::Value(std::int64_t{1}));
    CHECK(doc.get(JsonPointer::parse("/x/"), sdk::ValueType::string).value == sdk::Value("empty key"));
    CHECK(doc.has(JsonPointer::parse("")));
    CHECK_FALSE(doc.has(JsonPointer::parse("/nope")));
}

TEST_CASE("http: values are typed strictly, and a miss says where the path broke off") {
    auto doc = JsonDocument::parse(
        R"({"display": {"on": true, "brightness": 80, "level": "80"}, "t": 41.5, "big": 18446744073709551615,
            "neg": -9223372036854775808, "ids": ["A", "B"], "mixed": ["A", 1], "orders": [1, 2, 3]})");
    auto get = [&](const char* p, sdk::ValueType t) { return doc.get(JsonPointer::parse(p), t, ""); };
    using T = sdk::ValueType;
    CHECK(get("/display/on", T::boolean).value == sdk::Value(true));
    CHECK(get("/display/brightness", T::integer).value == sdk::Value(std::int64_t{80}));
    CHECK(get("/display/brightness", T::number).value == sdk::Value(80.0));
    CHECK(get("/t", T::number).value == sdk::Value(41.5));
    CHECK(get("/neg", T::integer).value == sdk::Value(std::numeric_limits<std::int64_t>::min()));
    CHECK(get("/ids", T::string_list).value == sdk::Value(std::vector<std::string>{"A", "B"}));

    CHECK(get("/display/level", T::integer).error == "/display/level: expected integer, found string \"80\"");
    CHECK(get("/t", T::integer).error == "/t: expected integer, found number 41.5");
    CHECK(get("/big", T::integer).error == "/big: expected integer, found integer 18446744073709551615");
    CHECK(get("/display/on", T::string).error == "/display/on: expected string, found boolean true");
    CHECK(get("/display", T::number).error == "/display: expected number, found object");
    CHECK(get("/mixed", T::string_list).error == "/mixed: expected a list of strings, found integer 1 in it");
    CHECK(get("/display/dim", T::integer).error == "/display/dim: no member 'dim' in /display");
    CHECK(get("/orders/3", T::integer).error == "/orders/3: index 3 is past the end of /orders (3 elements)");
    CHECK(get("/orders/01", T::integer).error == "/orders/01: '01' is not an array index (/orders is an array)");
    CHECK(get("/orders/-", T::integer).error == "/orders/-: '-' is not an array index (/orders is an array)");
    CHECK(get("/t/x", T::integer).error == "/t/x: /t is number 41.5, not an object or array");
    CHECK(get("/missing", T::integer).error == "/missing: no member 'missing' in the document");
}

TEST_CASE("http: bodies that are not JSON, too deep or not UTF-8 are refused") {
    CHECK(error_of([] { (void)JsonDocument::parse(R"({"display": {"on": tru)"); }).starts_with("not valid JSON: "));
    CHECK(error_of([] { (void)JsonDocument::parse(""); }).starts_with("not valid JSON: "));
    CHECK(error_of([] { (void)JsonDocument::parse(std::string(65, '[') + std::string(65, ']')); }) ==
          "JSON nested deeper than 64 levels");
    CHECK(error_of([] { (void)JsonDocument::parse(std::string(64, '[') + std::string(64, ']')); }).empty());
    CHECK(error_of([] { (void)JsonDocument::parse(R"({"a": "[[[[", "b": "\"{"})"); }).empty());  // brackets in strings do not count
    CHECK(error_of([] { (void)JsonDocument::parse("\"\xFF\""); }).starts_with("not valid JSON: "));
    CHECK(error_of([] { (void)JsonDocument::parse("1e999"); }).starts_with("not valid JSON: "));
}

TEST_CASE("http: the Host header comes from the address") {
    CHECK(default_host("tcp:10.0.0.5:8080") == "10.0.0.5:8080");
    CHECK(default_host("tcp:kds.lab:80") == "kds.lab");
    CHECK(default_host("tcp:[::1]:8080") == "[::1]:8080");
    CHECK(default_host("tls:127.0.0.1:8443?ca=/x/ca.pem&server_name=kds.lab") == "kds.lab:8443");
    CHECK(default_host("tls:kds.lab:443") == "kds.lab");
    CHECK(default_host("serial:/dev/ttyUSB0").empty());
}

TEST_CASE("http: excerpts are bounded and printable") {
    CHECK(excerpt("ok\n") == "ok<0A>");
    CHECK(excerpt(std::string(300, 'a'), 10) == "aaaaaaaaaa...");
}
