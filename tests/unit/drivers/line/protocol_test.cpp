#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "line/protocol.hpp"

using namespace certlab;
using namespace certlab::line;

namespace {

std::string parse_error(std::string_view text) {
    try {
        (void)Template::parse(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("line: templates substitute arguments and keep doubled braces literal") {
    auto t = Template::parse("LED {red} {green} {blue}\\r\\n");
    CHECK(t.names() == std::vector<std::string>{"red", "green", "blue"});
    sdk::Args args{{"red", sdk::Value(std::int64_t{255})}, {"green", sdk::Value(std::int64_t{0})}, {"blue", sdk::Value(std::int64_t{7})}};
    CHECK(t.render(args) == "LED 255 0 7\r\n");

    auto braces = Template::parse("SET {{x}} {v}\\x03");
    CHECK(braces.names() == std::vector<std::string>{"v"});
    CHECK(braces.render({{"v", sdk::Value(2.5)}}) == std::string("SET {x} 2.5\x03"));

    auto twice = Template::parse("{a}-{a}");
    CHECK(twice.names().size() == 1);
    CHECK(twice.render({{"a", sdk::Value("x")}}) == "x-x");
}

TEST_CASE("line: a template with a mistake names its offset") {
    CHECK(parse_error("ABC {x") == "'{' at offset 4 is not closed");
    CHECK(parse_error("A}B") == "'}' at offset 1 has no '{' (write '}}' for a brace)");
    CHECK(parse_error("{a b}") == "'{a b}' at offset 0: expected a parameter name (letters, digits, _)");
    CHECK(parse_error("{}").find("expected a parameter name") != std::string::npos);
    CHECK(parse_error("X\\q") == "unknown escape '\\q' at offset 1 (expected \\r, \\n, \\t, \\0, \\\\ or \\xNN)");
    CHECK(parse_error("X\\x4") == "\\x at offset 1 needs two hex digits");
    CHECK(parse_error("ok\\\\") == "");
}

TEST_CASE("line: rendering without a needed argument says which") {
    auto t = Template::parse("GET {channel}");
    CHECK_THROWS_WITH_AS(t.render({}), "the request needs argument 'channel'", std::invalid_argument);
    CHECK_THROWS_AS(t.render({{"channel", sdk::Value()}}), std::invalid_argument);
}

TEST_CASE("line: arguments go on the wire in a plain form") {
    CHECK(format_arg(sdk::Value(true)) == "1");
    CHECK(format_arg(sdk::Value(false)) == "0");
    CHECK(format_arg(sdk::Value(std::int64_t{-42})) == "-42");
    CHECK(format_arg(sdk::Value(0.1)) == "0.1");
    CHECK(format_arg(sdk::Value(12.0)) == "12");
    CHECK(format_arg(sdk::Value("text")) == "text");
}

TEST_CASE("line: patterns match the whole response and give their named captures") {
    auto p = Pattern::compile(R"(^TEMP (?<temperature>-?[0-9]+\.[0-9]) (?<unit>[CF])$)");
    CHECK(p.names() == std::vector<std::string>{"temperature", "unit"});
    auto m = p.match("TEMP 23.5 C");
    REQUIRE(m);
    CHECK(m->at("temperature") == "23.5");
    CHECK(m->at("unit") == "C");
    CHECK_FALSE(p.match("TEMP 23.5 C extra"));
    CHECK_FALSE(p.match("xTEMP 23.5 C"));

    // An optional group that did not take part is absent, not an empty string.
    auto opt = Pattern::compile(R"(OK(?: (?<note>.+))?)");
    auto bare = opt.match("OK");
    REQUIRE(bare);
    CHECK_FALSE(bare->contains("note"));
    CHECK(opt.match("OK fine")->at("note") == "fine");

    // Lookbehinds are not captures.
    auto behind = Pattern::compile(R"((?<v>\d+)(?<=\d)(?<!x))");
    CHECK(behind.names() == std::vector<std::string>{"v"});
}

TEST_CASE("line: a bad pattern is refused with the library's reason") {
    CHECK_THROWS_AS(Pattern::compile("(unclosed"), std::invalid_argument);
    CHECK_THROWS_WITH(Pattern::compile("[z-a]"), doctest::Contains("not a valid regular expression"));
}

TEST_CASE("line: a pathological pattern against a hostile response fails, it does not hang") {
    auto p = Pattern::compile("^(a+)+$");
    std::string hostile(64, 'a');
    hostile += 'b';
    CHECK_THROWS_AS((void)p.match(hostile), std::runtime_error);
}

TEST_CASE("line: captured text is typed strictly") {
    using T = sdk::ValueType;
    CHECK(to_value("42", T::integer, "rpm") == sdk::Value(std::int64_t{42}, "rpm"));
    CHECK(to_value("+7", T::integer, "") == sdk::Value(std::int64_t{7}));
    CHECK_FALSE(to_value("4.2", T::integer, ""));
    CHECK_FALSE(to_value("42x", T::integer, ""));
    CHECK_FALSE(to_value("", T::integer, ""));
    CHECK(to_value("-3.25", T::number, "V") == sdk::Value(-3.25, "V"));
    CHECK(to_value("1e3", T::number, "") == sdk::Value(1000.0));
    CHECK_FALSE(to_value("nan", T::number, ""));
    CHECK_FALSE(to_value("inf", T::number, ""));
    CHECK_FALSE(to_value("3,5", T::number, ""));
    CHECK(to_value("ON", T::boolean, "") == sdk::Value(true));
    CHECK(to_value("no", T::boolean, "") == sdk::Value(false));
    CHECK_FALSE(to_value("maybe", T::boolean, ""));
    CHECK(to_value(" spaced ", T::string, "") == sdk::Value(" spaced "));
    CHECK_FALSE(to_value("a", T::string_list, ""));
}
