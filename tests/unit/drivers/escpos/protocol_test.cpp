#include "escpos/protocol.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "escpos/device.hpp"

using namespace certlab::escpos;
namespace dev = certlab::escpos::device;

namespace {

Bytes b(std::initializer_list<int> list) {
    Bytes out;
    for (int c : list) out += static_cast<char>(c);
    return out;
}

constexpr std::uint8_t base = 0x12;  // fixed bits only: bit 1 and bit 4 on

// Reads each decoded flag as a bit number -> getter table, so "every bit" is data.
template <typename T>
struct BitCase {
    int bit;
    const char* name;
    std::function<bool(const T&)> get;
};

template <typename T, typename Decode>
void check_each_bit(Decode decode, const std::vector<BitCase<T>>& cases) {
    auto none = decode(base);
    REQUIRE(none);
    for (const auto& c : cases) CHECK_MESSAGE(!c.get(*none), c.name);
    for (const auto& c : cases) {
        auto d = decode(static_cast<std::uint8_t>(base | (1U << c.bit)));
        REQUIRE(d);
        for (const auto& other : cases)
            CHECK_MESSAGE(other.get(*d) == (other.bit == c.bit), c.name << " set, reading " << other.name);
    }
}

}  // namespace

TEST_CASE("escpos: DLE EOT 1 printer status, every bit") {
    check_each_bit<PrinterStatus>(decode_printer_status, {
        {2, "drawer pin 3", [](auto& s) { return s.drawer_pin3_high; }},
        {3, "offline", [](auto& s) { return s.offline; }},
        {5, "waiting online recovery", [](auto& s) { return s.waiting_online_recovery; }},
        {6, "feed button", [](auto& s) { return s.feed_button_pressed; }},
    });
}

TEST_CASE("escpos: DLE EOT 2 offline cause, every bit") {
    check_each_bit<OfflineCause>(decode_offline_cause, {
        {2, "cover open", [](auto& s) { return s.cover_open; }},
        {3, "feed button", [](auto& s) { return s.feed_button; }},
        {5, "paper end stop", [](auto& s) { return s.paper_end_stop; }},
        {6, "error", [](auto& s) { return s.error; }},
    });
}

TEST_CASE("escpos: DLE EOT 3 error cause, every bit") {
    check_each_bit<ErrorCause>(decode_error_cause, {
        {2, "recoverable", [](auto& s) { return s.recoverable; }},
        {3, "autocutter", [](auto& s) { return s.autocutter; }},
        {5, "unrecoverable", [](auto& s) { return s.unrecoverable; }},
        {6, "auto recoverable", [](auto& s) { return s.auto_recoverable; }},
    });
}

TEST_CASE("escpos: DLE EOT 4 roll paper sensor, both bits of each pair") {
    auto check = [](std::uint8_t byte, bool near_end, bool end) {
        auto d = decode_roll_paper(byte);
        REQUIRE(d);
        CHECK_MESSAGE(d->near_end == near_end, hex(byte));
        CHECK_MESSAGE(d->end == end, hex(byte));
    };
    check(0x12, false, false);
    check(0x1E, true, false);   // bits 2,3: near end
    check(0x72, false, true);   // bits 5,6: end
    check(0x7E, true, true);
    check(0x16, true, false);   // one bit of a pair still counts
    check(0x1A, true, false);
    check(0x32, false, true);
    check(0x52, false, true);
}

TEST_CASE("escpos: a status byte with wrong fixed bits is rejected, naming byte and request") {
    using Decoder = std::function<std::string(std::uint8_t)>;
    const std::vector<std::pair<StatusKind, Decoder>> decoders{
        {StatusKind::printer, [](std::uint8_t x) { return decode_printer_status(x).error; }},
        {StatusKind::offline_cause, [](std::uint8_t x) { return decode_offline_cause(x).error; }},
        {StatusKind::error_cause, [](std::uint8_t x) { return decode_error_cause(x).error; }},
        {StatusKind::roll_paper, [](std::uint8_t x) { return decode_roll_paper(x).error; }},
    };
    for (const auto& [kind, decode] : decoders) {
        CHECK(decode(base).empty());
        for (std::uint8_t bad : {std::uint8_t(base | 0x01), std::uint8_t(base & ~0x02),
                                 std::uint8_t(base & ~0x10), std::uint8_t(base | 0x80),
                                 std::uint8_t(0xFF), std::uint8_t(0x00)}) {
            auto error = decode(bad);
            CHECK_MESSAGE(error.find(hex(bad)) != std::string::npos, error);
            CHECK_MESSAGE(error.find(request_name(kind)) != std::string::npos, error);
        }
    }
    CHECK(decode_printer_status(0xFF).error == check_status_fixed_bits(0xFF, StatusKind::printer));
    CHECK(hex(std::uint8_t{0xEE}) == "0xEE");
}

TEST_CASE("escpos: host commands are encoded byte-exactly") {
    CHECK(encode_init() == b({0x1B, 0x40}));
    CHECK(encode_status_request(StatusKind::printer) == b({0x10, 0x04, 1}));
    CHECK(encode_status_request(StatusKind::offline_cause) == b({0x10, 0x04, 2}));
    CHECK(encode_status_request(StatusKind::error_cause) == b({0x10, 0x04, 3}));
    CHECK(encode_status_request(StatusKind::roll_paper) == b({0x10, 0x04, 4}));
    CHECK(encode_identify_request(IdKind::model_id) == b({0x1D, 0x49, 1}));
    CHECK(encode_identify_request(IdKind::type_id) == b({0x1D, 0x49, 2}));
    CHECK(encode_identify_request(IdKind::version_id) == b({0x1D, 0x49, 3}));
    CHECK(encode_identify_request(IdKind::firmware) == b({0x1D, 0x49, 0x41}));
    CHECK(encode_identify_request(IdKind::maker) == b({0x1D, 0x49, 0x42}));
    CHECK(encode_identify_request(IdKind::model) == b({0x1D, 0x49, 0x43}));
    CHECK(encode_identify_request(IdKind::serial) == b({0x1D, 0x49, 0x44}));
    CHECK(encode_identify_request(IdKind::extra_info) == b({0x1D, 0x49, 0x45}));
    CHECK(encode_text_line("Total 9.99") == "Total 9.99\n");
    CHECK(encode_text_line(std::string("a\x1B@b\x10\x04\x01\x7F", 8)) == "a?@b????\n");
    CHECK(encode_text_line("") == "\n");
    CHECK(encode_cut(CutKind::full) == b({0x1D, 0x56, 0}));
    CHECK(encode_cut(CutKind::partial) == b({0x1D, 0x56, 1}));
    CHECK(encode_feed_and_cut(CutKind::full, 3) == b({0x1D, 0x56, 65, 3}));
    CHECK(encode_feed_and_cut(CutKind::partial, 255) == b({0x1D, 0x56, 66, 255}));
    CHECK(encode_drawer_pulse(DrawerPin::pin2, 50, 50) == b({0x1B, 0x70, 0, 50, 50}));
    CHECK(encode_drawer_pulse(DrawerPin::pin5, 1, 255) == b({0x1B, 0x70, 1, 1, 255}));
    CHECK(encode_recover(RecoverMode::restart_line) == b({0x10, 0x05, 1}));
    CHECK(encode_recover(RecoverMode::clear_buffers) == b({0x10, 0x05, 2}));
}

TEST_CASE("escpos: drawer pulse milliseconds become 2 ms units, clamped to 1..255") {
    CHECK(pulse_units(100) == 50);
    CHECK(pulse_units(101) == 51);  // rounds to the nearest unit, halves up
    CHECK(pulse_units(2) == 1);
    CHECK(pulse_units(1) == 1);
    CHECK(pulse_units(0) == 1);     // 0 would mean no pulse at all
    CHECK(pulse_units(-5) == 1);
    CHECK(pulse_units(510) == 255);
    CHECK(pulse_units(511) == 255);
    CHECK(pulse_units(100000) == 255);
}

TEST_CASE("escpos: GS I one-byte answers must have bits 4 and 7 off") {
    auto ok = decode_id_byte(0x20, IdKind::model_id);
    REQUIRE(ok);
    CHECK(*ok == 0x20);
    CHECK(decode_id_byte(0x6F, IdKind::type_id));
    auto bit4 = decode_id_byte(0x12, IdKind::type_id);
    CHECK(!bit4);
    CHECK(bit4.error.find("0x12") != std::string::npos);
    CHECK(bit4.error.find("GS I 2") != std::string::npos);
    CHECK(!decode_id_byte(0x80, IdKind::model_id));
}

TEST_CASE("escpos: GS I text answers are '_' + text + NUL") {
    using namespace std::string_literals;
    auto ok = decode_id_text("_TM-T88V\0"s, IdKind::model);
    REQUIRE(ok);
    CHECK(*ok == "TM-T88V");
    auto empty = decode_id_text("_\0"s, IdKind::extra_info);
    REQUIRE(empty);
    CHECK(empty->empty());

    auto no_header = decode_id_text("TM\0"s, IdKind::model);
    CHECK(!no_header);
    CHECK(no_header.error.find("GS I 67") != std::string::npos);
    CHECK(no_header.error.find("0x54 0x4D 0x00") != std::string::npos);
    CHECK(!decode_id_text("_TM"s, IdKind::model));
    CHECK(!decode_id_text("_T\x01M\0"s, IdKind::model));
    CHECK(!decode_id_text(""s, IdKind::model));
    CHECK(!decode_id_text("_" + std::string(max_id_text_answer, 'x') + "\0"s, IdKind::serial));

    CHECK(dev::encode_id_text("1.05 ESC/POS") == "_1.05 ESC/POS\0"s);
    CHECK(*decode_id_text(dev::encode_id_text("SN\x01" "42"), IdKind::serial) == "SN42");
}

TEST_CASE("escpos: device status encoders round-trip through the host decoders") {
    for (unsigned flags = 0; flags < 16; ++flags) {
        auto f = [&](int i) { return ((flags >> i) & 1U) != 0; };
        PrinterStatus p{f(0), f(1), f(2), f(3)};
        OfflineCause o{f(0), f(1), f(2), f(3)};
        ErrorCause e{f(0), f(1), f(2), f(3)};
        CHECK(*decode_printer_status(dev::encode_status(p)) == p);
        CHECK(*decode_offline_cause(dev::encode_status(o)) == o);
        CHECK(*decode_error_cause(dev::encode_status(e)) == e);
    }
    CHECK(dev::encode_status(RollPaper{false, true}) == 0x72);
    CHECK(dev::encode_status(RollPaper{true, false}) == 0x1E);
    CHECK(dev::encode_status(PrinterStatus{.offline = true}) == 0x1A);
    CHECK(dev::encode_status(OfflineCause{.paper_end_stop = true}) == 0x32);
}

namespace {

using Kind = dev::Command::Kind;

// A mixed job: text, LF, init, real-time status, GS I, cuts, drawer pulse, recover,
// a bit image whose data holds DLE EOT bytes, and an unknown ESC sequence.
Bytes sample_stream() {
    Bytes s = encode_init();
    s += "Hello";
    s += "\n";
    s += encode_status_request(StatusKind::roll_paper);
    s += encode_identify_request(IdKind::model);
    s += b({0x1B, '*', 0, 3, 0, 0x10, 0x04, 0x01});  // ESC * m=0 k=3: data, not a request
    s += encode_feed_and_cut(CutKind::partial, 7);
    s += encode_drawer_pulse(DrawerPin::pin5, 25, 40);
    s += encode_recover(RecoverMode::clear_buffers);
    s += b({0x1B, 0x7E});  // unknown: ESC ~
    s += "ok\n";
    s += encode_cut(CutKind::full);
    return s;
}

std::vector<dev::Command> parse_in_chunks(const Bytes& stream, std::size_t chunk) {
    dev::Parser parser;
    std::vector<dev::Command> out;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
        auto part = parser.feed(std::string_view(stream).substr(i, chunk));
        out.insert(out.end(), part.begin(), part.end());
    }
    CHECK(parser.idle());
    return out;
}

/// Text pieces may arrive split; join adjacent text commands to compare streams.
std::vector<dev::Command> joined(std::vector<dev::Command> cmds) {
    std::vector<dev::Command> out;
    for (auto& c : cmds) {
        if (c.kind == Kind::text && !out.empty() && out.back().kind == Kind::text)
            out.back().bytes += c.bytes;
        else
            out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

TEST_CASE("escpos: device parser splits a stream into commands") {
    auto cmds = parse_in_chunks(sample_stream(), sample_stream().size());
    std::vector<Kind> kinds;
    for (const auto& c : cmds) kinds.push_back(c.kind);
    CHECK(kinds == std::vector<Kind>{Kind::init, Kind::text, Kind::line_feed, Kind::status_request,
                                     Kind::identify_request, Kind::other, Kind::cut,
                                     Kind::drawer_pulse, Kind::recover, Kind::unknown, Kind::text,
                                     Kind::line_feed, Kind::cut});
    REQUIRE(cmds.size() == 13);
    CHECK(cmds[1].bytes == "Hello");
    CHECK(cmds[3].param == 4);
    CHECK(cmds[4].param == 67);
    CHECK(cmds[5].bytes.size() == 8);  // the whole bit image, its DLE EOT included
    CHECK(cmds[6].cut == CutKind::partial);
    CHECK(cmds[6].has_feed);
    CHECK(cmds[6].feed == 7);
    CHECK(cmds[7].pin == DrawerPin::pin5);
    CHECK(cmds[7].on_units == 25);
    CHECK(cmds[7].off_units == 40);
    CHECK(cmds[8].param == 2);
    CHECK(cmds[9].bytes == b({0x1B, 0x7E}));
    CHECK(cmds[10].bytes == "ok");
    CHECK(cmds[12].cut == CutKind::full);
    CHECK_FALSE(cmds[12].has_feed);
}

TEST_CASE("escpos: device parser gives the same commands however the stream is split") {
    auto stream = sample_stream();
    auto whole = joined(parse_in_chunks(stream, stream.size()));
    for (std::size_t chunk : {1, 2, 3, 5, 7}) {
        auto split = joined(parse_in_chunks(stream, chunk));
        REQUIRE_MESSAGE(split.size() == whole.size(), "chunk " << chunk);
        for (std::size_t i = 0; i < whole.size(); ++i) {
            CHECK_MESSAGE(split[i].kind == whole[i].kind, "chunk " << chunk << " command " << i);
            CHECK_MESSAGE(split[i].bytes == whole[i].bytes, "chunk " << chunk << " command " << i);
        }
    }
}

TEST_CASE("escpos: device parser waits for the rest of a split command") {
    dev::Parser p;
    CHECK(p.feed(b({0x10})).empty());
    CHECK_FALSE(p.idle());
    CHECK(p.feed(b({0x04})).empty());
    auto cmds = p.feed(b({0x01}));
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].kind == Kind::status_request);
    CHECK(cmds[0].param == 1);
    CHECK(p.idle());

    CHECK(p.feed(b({0x1D, 'V', 65})).empty());  // function B: one more byte due
    cmds = p.feed(b({9}));
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].feed == 9);
}

TEST_CASE("escpos: device parser skips an oversized raster image without buffering it") {
    dev::Parser p;
    // GS v 0 m xL xH yL yH: 100 x 100 = 10000 data bytes, more than max_command.
    Bytes header = b({0x1D, 'v', '0', 0, 100, 0, 100, 0});
    // Reported once its first 16 bytes are in, so the command is the same however
    // the stream is cut (a chunking difference the fuzz target found).
    CHECK(p.feed(header).empty());
    CHECK_FALSE(p.idle());
    Bytes data(10000, '\x10');  // DLE bytes inside image data must not be read as commands
    data[500] = 0x04;
    auto cmds = p.feed(data.substr(0, 6000));
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].kind == Kind::other);
    CHECK(cmds[0].bytes == header + data.substr(0, 8));
    auto rest = p.feed(data.substr(6000) + encode_status_request(StatusKind::printer));
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].kind == Kind::status_request);
    CHECK(p.idle());
}

TEST_CASE("escpos: device parser treats other DLE EOT n and odd ESC p as plain commands") {
    dev::Parser p;
    auto cmds = p.feed(b({0x10, 0x04, 7, 1, 0x1B, 'p', 9, 1, 1, 0x1D, 'V', 200}));
    REQUIRE(cmds.size() == 3);
    CHECK(cmds[0].kind == Kind::other);  // DLE EOT 7 a: 4 bytes, not a status request
    CHECK(cmds[0].bytes.size() == 4);
    CHECK(cmds[1].kind == Kind::other);  // ESC p with m = 9 drives no pin
    CHECK(cmds[2].kind == Kind::other);  // GS V 200 is no cut mode
}
