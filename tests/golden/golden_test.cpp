// Golden tests: every capture in fixtures/captures, replayed through today's driver,
// must give what its golden file beside it says (docs/CAPTURES.md). Run with
// CERTLAB_UPDATE_GOLDEN=1 to rewrite the golden files instead; CERTLAB_CAPTURE=FILE
// replays that one capture only (ctest runs one test per capture that way). The test
// case is marked skip so that discovery leaves it to those per-capture tests: run it by
// hand with --no-skip -tc='replay: capture matches its golden file'.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "replay_harness.hpp"
#include "support/process.hpp"

using namespace certlab;
using namespace certlab::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> all_captures() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(source("fixtures/captures")))
        if (e.path().extension() == ".capture") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<fs::path> selected_captures() {
    if (const char* one = std::getenv("CERTLAB_CAPTURE"); one && *one) return {fs::path(one)};
    return all_captures();
}

fs::path golden_path(const fs::path& capture) {
    return capture.parent_path() / (capture.stem().string() + ".golden.json");
}

std::vector<fs::path> profile_dirs() { return {source("lab-config/devices")}; }

json load_json(const fs::path& p) { return json::parse(read_file(p)); }

bool updating() {
    const char* v = std::getenv("CERTLAB_UPDATE_GOLDEN");
    return v && *v && std::string(v) != "0";
}

std::string lines(const std::vector<std::string>& d, std::size_t max = 30) {
    std::string out;
    for (std::size_t i = 0; i < d.size() && i < max; ++i) out += "  " + d[i] + "\n";
    if (d.size() > max) out += "  ... and " + std::to_string(d.size() - max) + " more\n";
    return out;
}

bool any_contains(const std::vector<std::string>& d, const std::string& text) {
    return std::any_of(d.begin(), d.end(), [&](const auto& l) { return l.find(text) != std::string::npos; });
}

std::size_t count_ok_actions(const json& doc) {
    std::size_t n = 0;
    for (const auto& s : doc["steps"])
        if (s["op"] == "invoke" && s["outcome"] == "ok") ++n;
    return n;
}

/// The capture, its golden document, and what the unaltered capture replays to.
struct Fixture {
    fs::path file;
    transport::Capture capture;
    json golden;

    explicit Fixture(const std::string& name)
        : file(source("fixtures/captures/" + name)), capture(transport::load_capture(file)),
          golden(load_json(golden_path(file))) {}
    [[nodiscard]] std::vector<std::string> replay_diff() const {
        return golden_diff(golden, replay_capture(capture, file.filename().string(), profile_dirs()));
    }
    /// Index of the first record after the first `@ invoke ACTION` that satisfies `pred`.
    template <typename Pred>
    std::size_t after_invoke(const std::string& action, Pred pred) const {
        std::size_t i = 0;
        const auto& r = capture.records;
        while (i < r.size() && !(r[i].kind == transport::CaptureRecord::Kind::marker && r[i].name == "invoke" &&
                                 r[i].text.rfind(action + " ", 0) == 0))
            ++i;
        REQUIRE_MESSAGE(i < r.size(), file.filename() << " has no " << action);
        while (i < r.size() && !pred(r[i])) ++i;
        REQUIRE(i < r.size());
        return i;
    }
};

bool is_read(const transport::CaptureRecord& r) { return r.kind == transport::CaptureRecord::Kind::read; }
bool is_write(const transport::CaptureRecord& r) { return r.kind == transport::CaptureRecord::Kind::write; }
bool is_result(const transport::CaptureRecord& r) {
    return r.kind == transport::CaptureRecord::Kind::marker && r.name == "result";
}

}  // namespace

// Skipped in a plain run and in ctest's discovery: ctest runs it once per capture
// (`golden: NAME`, with --no-skip and CERTLAB_CAPTURE), see tests/CMakeLists.txt.
TEST_CASE("replay: capture matches its golden file" * doctest::skip()) {
    const auto list = selected_captures();
    REQUIRE_FALSE(list.empty());
    for (const auto& file : list) {
        CAPTURE(file);
        const auto capture = transport::load_capture(file);
        const auto name = file.filename().string();
        const auto actual = replay_capture(capture, name, profile_dirs());
        const auto golden = golden_path(file);
        if (updating()) {
            // The golden file says what today's driver makes of the capture; when that is
            // not what the device session itself produced, say so before it is accepted.
            const auto vs_session = golden_diff(recorded_outcomes(capture, name), actual);
            if (!vs_session.empty())
                MESSAGE("note: " << name << " replays differently from its recorded session:\n" << lines(vs_session));
            write_file(golden, actual.dump(2) + "\n");
            MESSAGE("wrote " << golden.string());
            continue;
        }
        REQUIRE_MESSAGE(fs::exists(golden), "no golden file " << golden.string()
                                                              << " (CERTLAB_UPDATE_GOLDEN=1 writes it)");
        const auto d = golden_diff(load_json(golden), actual);
        CHECK_MESSAGE(d.empty(), name << " no longer replays to " << golden.filename().string() << ":\n" << lines(d)
                                      << "(if the change is intended: CERTLAB_UPDATE_GOLDEN=1 and review the diff)");
        // A capture whose actions all failed would compare equal just as well: make sure
        // each golden test exercises the driver for real.
        CHECK_MESSAGE(count_ok_actions(actual) > 0, name << " replays no action that succeeds");
    }
}

TEST_CASE("every shipped driver family has a capture with a golden file") {
    std::set<std::string> families;
    for (const auto& file : all_captures()) {
        const auto c = transport::load_capture(file);
        CHECK_MESSAGE(fs::exists(golden_path(file)), file.string() << " has no golden file");
        families.insert(c.header.driver.substr(0, c.header.driver.find(' ')));
    }
    CHECK(families.contains("escpos"));
    CHECK(families.contains("scpi"));
}

TEST_CASE("an escpos capture with one status byte altered no longer matches its golden file") {
    Fixture f("escpos-receipt-printer.capture");
    REQUIRE(f.replay_diff().empty());
    // The answer to the first DLE EOT 1 of printer.status: bit 3 set means offline.
    const auto at = f.after_invoke("printer.status", is_read);
    REQUIRE(f.capture.records[at].bytes.size() == 1);
    f.capture.records[at].bytes[0] = static_cast<char>(f.capture.records[at].bytes[0] | 0x08);
    const auto d = f.replay_diff();
    INFO(lines(d));
    CHECK(any_contains(d, "printer.status: values.online expected true, got false"));
}

TEST_CASE("an scpi capture with one digit of a reading altered no longer matches its golden file") {
    Fixture f("scpi-bench-supply.capture");
    REQUIRE(f.replay_diff().empty());
    // The answer to MEAS:VOLT? in the first power.measure: change its first digit.
    const auto at = f.after_invoke("power.measure", is_read);
    auto& bytes = f.capture.records[at].bytes;
    auto digit = bytes.find_first_of("0123456789");
    REQUIRE(digit != std::string::npos);
    bytes[digit] = bytes[digit] == '7' ? '8' : '7';
    const auto d = f.replay_diff();
    INFO(lines(d));
    CHECK(any_contains(d, "power.measure: values.voltage.value expected"));
}

TEST_CASE("a driver writing other bytes than recorded is stopped with the offset, expected and got") {
    Fixture f("escpos-receipt-printer.capture");
    // Make the capture say the first status request was DLE EOT 2: the driver sends DLE EOT 1.
    const auto at = f.after_invoke("printer.status", is_write);
    REQUIRE(f.capture.records[at].bytes == std::string("\x10\x04\x01", 3));
    f.capture.records[at].bytes[2] = '\x02';
    std::size_t offset = 2;
    for (std::size_t i = 0; i < at; ++i)
        if (is_write(f.capture.records[i])) offset += f.capture.records[i].bytes.size();

    const auto actual = replay_capture(f.capture, "altered", profile_dirs());
    const json* step = nullptr;
    for (const auto& s : actual["steps"])
        if (s.value("action", "") == "printer.status") {
            step = &s;
            break;
        }
    REQUIRE(step);
    REQUIRE((*step)["outcome"] == "error");
    const auto message = (*step)["error"]["message"].get<std::string>();
    CHECK((*step)["error"]["kind"] == "io");
    CHECK(message.find("replay: write differs from the capture at written-byte offset " + std::to_string(offset)) !=
          std::string::npos);
    CHECK(message.find("capture line " + std::to_string(f.capture.records[at].line)) != std::string::npos);
    CHECK(message.find("expected 10 04 02, got 10 04 01") != std::string::npos);
    CHECK_FALSE(golden_diff(f.golden, actual).empty());
}

TEST_CASE("a driver that stops short of the recording is reported as not replaying it all") {
    Fixture f("escpos-receipt-printer.capture");
    // One more answer byte inside the first printer.status than the driver asks for.
    const auto at = f.after_invoke("printer.status", is_result);
    transport::CaptureRecord extra;
    extra.kind = transport::CaptureRecord::Kind::read;
    extra.bytes = "\x12";
    extra.line = 999999;
    f.capture.records.insert(f.capture.records.begin() + static_cast<std::ptrdiff_t>(at), extra);
    const auto d = f.replay_diff();
    INFO(lines(d));
    CHECK(any_contains(d, "printer.status: unreplayed not expected"));
    CHECK(any_contains(d, "capture line 999999: a read of 12"));
}
