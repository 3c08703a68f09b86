// The capture text format (docs/CAPTURES.md): what is written reads back the same,
// and malformed captures are refused with the line that is wrong.
#include <doctest/doctest.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "sdk/error.hpp"
#include "transport/capture.hpp"

using namespace certlab;
using transport::Capture;
using transport::CaptureRecord;
using Kind = CaptureRecord::Kind;

namespace {

CaptureRecord bytes_record(Kind k, std::string bytes, std::int64_t us) {
    CaptureRecord r;
    r.kind = k;
    r.bytes = std::move(bytes);
    r.offset_us = us;
    return r;
}

CaptureRecord named(Kind k, std::string name, std::string text, std::int64_t us, std::string error_kind = {}) {
    CaptureRecord r;
    r.kind = k;
    r.name = std::move(name);
    r.text = std::move(text);
    r.error_kind = std::move(error_kind);
    r.offset_us = us;
    return r;
}

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
    return s;
}

}  // namespace

TEST_CASE("a capture reads back exactly as it was written") {
    Capture c;
    c.header.device = "printer-1";
    c.header.profile = "escpos-generic";
    c.header.driver = "escpos 1.0";
    c.header.address = "tcp:127.0.0.1:9100";
    c.header.manufacturer = "EPSON";
    c.header.model = "TM-T88V";
    c.header.serial_number = "X1";
    c.header.firmware = "30.01";
    c.header.date = "2024-05-01T09:30:00Z";
    c.header.notes = "bench 3";
    c.header.certlab = "0.1.0";
    c.header.settings = R"({"response_timeout":"2s"})";
    c.header.extra = {{"station", "bench-3"}};
    c.records.push_back(named(Kind::marker, "open", "tcp:127.0.0.1:9100", 0));
    c.records.push_back(bytes_record(Kind::write, "\x1b@", 120));
    c.records.push_back(named(Kind::marker, "invoke", R"(printer.status {})", 1'000'001));
    c.records.push_back(bytes_record(Kind::write, std::string("\x10\x04\x01", 3), 1'000'100));
    c.records.push_back(bytes_record(Kind::read, "\x16", 1'000'900));
    c.records.push_back(bytes_record(Kind::write, all_bytes(), 2'000'000));  // 16 lines
    c.records.push_back(bytes_record(Kind::write, "", 2'000'001));
    c.records.push_back(named(Kind::error, "read", "tcp 127.0.0.1:9100: read: no data within 1 s", 3'500'000, "timeout"));
    c.records.push_back(named(Kind::error, "write", "", 3'500'001, "closed"));
    c.records.push_back(named(Kind::marker, "close", "", 123'456'789'012));

    const auto text = transport::format_capture(c);
    const auto back = transport::parse_capture(text);
    CHECK(back.header.device == "printer-1");
    CHECK(back.header.profile == "escpos-generic");
    CHECK(back.header.driver == "escpos 1.0");
    CHECK(back.header.address == "tcp:127.0.0.1:9100");
    CHECK(back.header.manufacturer == "EPSON");
    CHECK(back.header.model == "TM-T88V");
    CHECK(back.header.serial_number == "X1");
    CHECK(back.header.firmware == "30.01");
    CHECK(back.header.date == "2024-05-01T09:30:00Z");
    CHECK(back.header.notes == "bench 3");
    CHECK(back.header.certlab == "0.1.0");
    CHECK(back.header.settings == R"({"response_timeout":"2s"})");
    REQUIRE(back.header.extra.size() == 1);
    CHECK(back.header.extra[0] == std::pair<std::string, std::string>{"station", "bench-3"});
    REQUIRE(back.records.size() == c.records.size());
    for (std::size_t i = 0; i < c.records.size(); ++i) {
        CAPTURE(i);
        const auto& a = c.records[i];
        const auto& b = back.records[i];
        CHECK(a.kind == b.kind);
        CHECK(a.offset_us == b.offset_us);
        CHECK(a.bytes == b.bytes);
        CHECK(a.name == b.name);
        CHECK(a.error_kind == b.error_kind);
        CHECK(a.text == b.text);
        CHECK(b.line > 0);
    }
    // Written again, it is the same text: captures diff cleanly.
    CHECK(transport::format_capture(back) == text);
}

TEST_CASE("capture lines show hex beside printable ASCII, 16 bytes a line") {
    auto r = bytes_record(Kind::write, "\x1b@CERTLAB PRN-003 TEST\n", 1'250);
    const auto text = transport::format_record(r);
    CHECK(text ==
          "0.001250 > 1b 40 43 45 52 54 4c 41 42 20 50 52 4e 2d 30 30  |.@CERTLAB PRN-00|\n"
          "         > 33 20 54 45 53 54 0a                             |3 TEST.|\n");
    CHECK(transport::format_record(named(Kind::marker, "lost", "link\nclosed", 7)) == "0.000007 @ lost link closed\n");
    CHECK(transport::format_record(named(Kind::error, "open", "refused", 7, "closed")) == "0.000007 ! open closed refused\n");
}

TEST_CASE("header values are kept on one line") {
    transport::CaptureHeader h;
    h.notes = "first line\nsecond line";
    const auto text = transport::format_header(h);
    CHECK(text.find("# notes: first line second line\n") != std::string::npos);
    CHECK(transport::parse_capture(text).header.notes == "first line second line");
}

TEST_CASE("comments and blank lines between records are ignored") {
    const auto c = transport::parse_capture(
        "# certlab capture v1\n# device: d\n# a comment without a key\n\n"
        "0.1 @ open tcp:x:1\n# device: not-a-header-any-more\n\n0.25 < 41 42  |AB|\n");
    CHECK(c.header.device == "d");
    REQUIRE(c.records.size() == 2);
    CHECK(c.records[0].offset_us == 100'000);
    CHECK(c.records[1].offset_us == 250'000);
    CHECK(c.records[1].bytes == "AB");
    CHECK(c.records[1].line == 8);
}

TEST_CASE("a malformed capture is refused naming the line") {
    auto error = [](std::string_view text) -> std::string {
        try {
            (void)transport::parse_capture(text, "x.capture");
        } catch (const sdk::ConfigError& e) {
            return e.what();
        }
        return "accepted";
    };
    CHECK(error("").find("x.capture:") == 0);
    CHECK(error("# certlab capture v2\n").find("x.capture:1: expected '# certlab capture v1'") == 0);
    CHECK(error("# certlab capture v1\n0.1 > 1g\n").find("x.capture:2: expected a byte as two hex digits, got '1g'") == 0);
    CHECK(error("# certlab capture v1\n0.1 > 123\n").find("x.capture:2: expected a byte") == 0);
    CHECK(error("# certlab capture v1\n         > 12\n").find("x.capture:2: an indented line continues") == 0);
    CHECK(error("# certlab capture v1\n0.1 > 12\n    < 13\n").find("x.capture:3: continuation '<' does not match") == 0);
    CHECK(error("# certlab capture v1\n0.1 ? what\n").find("x.capture:2: expected '>', '<', '!' or '@'") == 0);
    CHECK(error("# certlab capture v1\nsoon @ open\n").find("x.capture:2: expected a time offset") == 0);
    CHECK(error("# certlab capture v1\n0.1 ! read\n").find("x.capture:2: expected '! OPERATION KIND MESSAGE'") == 0);
    CHECK(error("# certlab capture v1\n0.1 @\n").find("x.capture:2: expected a marker name") == 0);
}

TEST_CASE("every error kind survives being recorded and thrown again") {
    using TE = sdk::TransportError;
    auto roundtrip = [](std::exception_ptr e) {
        auto d = transport::describe_error(e);
        try {
            transport::throw_recorded(d.kind, d.message);
        } catch (...) {
            return std::pair{d, transport::describe_error(std::current_exception())};
        }
        FAIL("throw_recorded returned");
        return std::pair{d, d};
    };
    for (auto kind : {TE::Kind::timeout, TE::Kind::closed, TE::Kind::io, TE::Kind::limit}) {
        auto [d, again] = roundtrip(std::make_exception_ptr(TE(kind, "tcp x: read")));
        CHECK(d.message == "tcp x: read");
        CHECK(again.kind == d.kind);
        CHECK(again.message == d.message);
    }
    CHECK(roundtrip(std::make_exception_ptr(TE(TE::Kind::limit, "m"))).first.kind == "limit");
    CHECK(roundtrip(std::make_exception_ptr(sdk::ProtocolError("bad byte"))).second.kind == "protocol");
    CHECK(roundtrip(std::make_exception_ptr(sdk::ConfigError("bad arg"))).second.kind == "config");
    CHECK(roundtrip(std::make_exception_ptr(std::runtime_error("crash"))).second.kind == "other");
    auto [d, again] = roundtrip(std::make_exception_ptr(
        boost::system::system_error(boost::asio::error::operation_aborted)));
    CHECK(d.kind == "cancelled");
    CHECK(again.kind == "cancelled");
}
