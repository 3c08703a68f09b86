// The exports' text helpers (daemon/cli/export_text): XML escaping that keeps any
// bytes a device sent well-formed, base64 and hex, times.
#include <doctest/doctest.h>

#include <random>

#include "cli/export_text.hpp"

using namespace certlab::cli::exporting;

namespace {

/// True when `s` holds only characters XML 1.0 allows, as valid UTF-8, with every
/// `&` starting one of the references the escaper writes and no raw `<`.
bool well_formed_text(const std::string& s) {
    if (valid_utf8(s) != s) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 && c != '\t' && c != '\n') return false;  // a raw CR is normalised away by parsers
        if (c == '<') return false;
        if (c == '&') {
            bool known = false;
            for (const char* ref : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#9;", "&#10;", "&#13;"})
                known = known || s.compare(i, std::char_traits<char>::length(ref), ref) == 0;
            if (!known) return false;
        }
    }
    // U+FFFE and U+FFFF are not XML characters either.
    return s.find("\xEF\xBF\xBE") == std::string::npos && s.find("\xEF\xBF\xBF") == std::string::npos;
}

}  // namespace

TEST_CASE("export text: markup is escaped, text and attributes alike") {
    CHECK(xml_text("a < b && c > \"d\" 'e'") == "a &lt; b &amp;&amp; c &gt; \"d\" 'e'");
    CHECK(xml_attr("a < b && \"d\" 'e'") == "a &lt; b &amp;&amp; &quot;d&quot; &apos;e&apos;");
    CHECK(xml_text("line\nnext\ttab") == "line\nnext\ttab");
    CHECK(xml_attr("line\nnext\ttab\r") == "line&#10;next&#9;tab&#13;");
    CHECK(xml_text("\r") == "&#13;");
    CHECK(xml_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x96\xA8") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x96\xA8");
}

TEST_CASE("export text: bytes XML cannot hold become U+FFFD") {
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(xml_text(std::string("a\0b", 3)) == "a" + fffd + "b");
    CHECK(xml_text("\x1B[0m") == fffd + "[0m");
    CHECK(xml_text("\xFF\xFE") == fffd + fffd);                // not UTF-8 at all
    CHECK(xml_text("\xC0\xAF") == fffd + fffd);                // overlong '/'
    CHECK(xml_text("\xED\xA0\x80") == fffd + fffd + fffd);     // a surrogate
    CHECK(xml_text("\xEF\xBF\xBF") == fffd);                   // U+FFFF
    CHECK(xml_text("\xE2\x82") == fffd + fffd);                // cut short
    CHECK(xml_text("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
}

TEST_CASE("export text: every single byte and random byte strings escape to well-formed XML") {
    for (int b = 0; b < 256; ++b) {
        std::string one(1, static_cast<char>(b));
        INFO("byte " << b);
        CHECK(well_formed_text(xml_text(one)));
        CHECK(well_formed_text(xml_attr(one)));
    }
    std::mt19937 rng(20261129);
    std::uniform_int_distribution<int> byte(0, 255), len(0, 64);
    for (int i = 0; i < 2000; ++i) {
        std::string s;
        for (int n = len(rng); n > 0; --n) s += static_cast<char>(byte(rng));
        REQUIRE(well_formed_text(xml_text(s)));
        REQUIRE(well_formed_text(xml_attr(s)));
    }
}

TEST_CASE("export text: base64 round-trips any bytes and refuses malformed text") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode(std::string("\x00\xFF\x1B", 3)) == "AP8b");
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int n = 0; n < 200; ++n) {
        std::string s;
        for (int k = 0; k < n; ++k) s += static_cast<char>(byte(rng));
        auto back = base64_decode(base64_encode(s));
        REQUIRE(back.has_value());
        CHECK(*back == s);
    }
    for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!A==", "Zh==", "Zm9=", "Zg==Zg=="})
        CHECK_MESSAGE(!base64_decode(bad).has_value(), bad);
}

TEST_CASE("export text: hex, printable bytes and station times") {
    CHECK(hex_decode("00ff1B") == std::string("\x00\xFF\x1B", 3));
    CHECK_FALSE(hex_decode("abc").has_value());
    CHECK_FALSE(hex_decode("zz").has_value());
    CHECK(printable(std::string("A\x00\x1B~\x7F", 5)) == "A<00><1B>~<7F>");
    CHECK(parse_time_ms("1970-01-01T00:00:01.5Z") == 1500);
    CHECK(parse_time_ms("2026-11-29T03:45:41.123Z") == 1795923941123LL);
    CHECK(parse_time_ms("2026-11-29T03:45:41Z") == 1795923941000LL);
    CHECK_FALSE(parse_time_ms("2026-11-29 03:45:41").has_value());
    CHECK_FALSE(parse_time_ms("").has_value());
    CHECK(junit_timestamp("2026-11-29T03:45:41.123Z") == "2026-11-29T03:45:41");
    CHECK(junit_timestamp("soon").empty());
    CHECK(readable_time("2026-11-29T03:45:41.123Z") == "2026-11-29 03:45:41 UTC");
    CHECK(number(0.25) == "0.25");
    CHECK(number(12345.6) == "12346");
    CHECK(number(2.0) == "2");
}
