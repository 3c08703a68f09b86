// RecordingTransport and CaptureWriter: every exchange lands in the capture in order,
// the wrapped transport's results and failures pass through unchanged, and a capture
// that cannot be written is reported once and never disturbs the session.
#include <doctest/doctest.h>

#include <array>
#include <deque>
#include <variant>

#include <boost/asio/io_context.hpp>

#include "run_io.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"
#include "transport/recording.hpp"

using namespace certlab;
using namespace certlab::test;
using transport::CaptureRecord;
using Kind = CaptureRecord::Kind;

namespace {

/// A transport that answers from a script: each read takes the next chunk or throws
/// the next error; writes are kept.
class ScriptTransport final : public sdk::Transport {
public:
    std::deque<std::variant<std::string, sdk::TransportError>> reads;
    std::string written;
    bool fail_open = false;
    bool fail_write = false;
    bool open_ = false;
    int discards = 0;

    [[nodiscard]] const std::string& address() const override { return address_; }
    sdk::Task<void> open(sdk::Duration) override {
        if (fail_open) throw sdk::TransportError(sdk::TransportError::Kind::closed, "script: refused");
        open_ = true;
        co_return;
    }
    void close() noexcept override { open_ = false; }
    [[nodiscard]] bool is_open() const noexcept override { return open_; }
    sdk::Task<void> write(std::string_view data, sdk::Duration) override {
        if (fail_write) throw sdk::TransportError(sdk::TransportError::Kind::io, "script: write: EIO");
        written += data;
        co_return;
    }
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration) override {
        auto next = reads.front();
        reads.pop_front();
        if (auto* e = std::get_if<sdk::TransportError>(&next)) throw *e;
        const auto& s = std::get<std::string>(next);
        std::copy(s.begin(), s.end(), buf.begin());
        co_return s.size();
    }
    void discard_input() noexcept override { ++discards; }

private:
    std::string address_ = "script:1";
};

transport::CaptureHeader header() {
    transport::CaptureHeader h;
    h.device = "dut";
    h.address = "script:1";
    return h;
}

}  // namespace

TEST_CASE("a recorded session is in the capture in order, and the transport works as before") {
    TempDir dir;
    boost::asio::io_context io;
    auto inner = std::make_unique<ScriptTransport>();
    auto& script = *inner;
    script.reads = {std::string("\x16"), std::string("AB"), std::string("C"),
                    sdk::TransportError(sdk::TransportError::Kind::timeout, "script: read: no data within 1 s")};
    auto capture = std::make_shared<transport::CaptureWriter>(dir / "s.capture", header());
    {
        transport::RecordingTransport t(std::move(inner), capture);
        CHECK(t.address() == "script:1");
        sdk::Stream stream(t);
        const auto [one, three] = run(io, [&]() -> sdk::Task<std::pair<std::string, std::string>> {
            co_await t.open(1s);
            co_await stream.write(std::string("\x10\x04\x01", 3), 1s);
            std::string a = co_await stream.read_exact(1, 1s);
            stream.discard_input();
            std::string b = co_await stream.read_exact(3, 1s);
            co_return std::pair{a, b};
        });
        CHECK(one == "\x16");
        CHECK(three == "ABC");
        auto e = transport_error(io, [&]() -> sdk::Task<void> { (void)co_await stream.read_exact(1, 1s); });
        CHECK(e.kind() == sdk::TransportError::Kind::timeout);  // unchanged
        CHECK(std::string(e.what()) == "script: read: no data within 1 s");
        CHECK(script.written == std::string("\x10\x04\x01", 3));
        CHECK(script.discards == 1);
        t.close();
        t.close();  // closing a closed transport records nothing more
    }
    capture.reset();  // flushes

    const auto c = transport::load_capture(dir / "s.capture");
    CHECK(c.header.device == "dut");
    CHECK_FALSE(c.header.date.empty());
    REQUIRE(c.records.size() == 8);
    CHECK((c.records[0].kind == Kind::marker && c.records[0].name == "open" && c.records[0].text == "script:1"));
    CHECK((c.records[1].kind == Kind::write && c.records[1].bytes == std::string("\x10\x04\x01", 3)));
    CHECK((c.records[2].kind == Kind::read && c.records[2].bytes == "\x16"));
    CHECK((c.records[3].kind == Kind::marker && c.records[3].name == "discard"));
    CHECK((c.records[4].kind == Kind::read && c.records[4].bytes == "AB"));  // chunks as they arrived
    CHECK((c.records[5].kind == Kind::read && c.records[5].bytes == "C"));
    CHECK((c.records[6].kind == Kind::error && c.records[6].name == "read" && c.records[6].error_kind == "timeout" &&
           c.records[6].text == "script: read: no data within 1 s"));
    CHECK((c.records[7].kind == Kind::marker && c.records[7].name == "close"));
    for (std::size_t i = 1; i < c.records.size(); ++i) CHECK(c.records[i - 1].offset_us <= c.records[i].offset_us);
}

TEST_CASE("failed opens and writes are recorded and rethrown unchanged") {
    TempDir dir;
    boost::asio::io_context io;
    auto inner = std::make_unique<ScriptTransport>();
    auto& script = *inner;
    auto capture = std::make_shared<transport::CaptureWriter>(dir / "f.capture", header());
    transport::RecordingTransport t(std::move(inner), capture);
    script.fail_open = true;
    auto e = transport_error(io, [&]() -> sdk::Task<void> { co_await t.open(1s); });
    CHECK(e.kind() == sdk::TransportError::Kind::closed);
    t.close();  // never opened: no close recorded
    script.fail_open = false;
    script.fail_write = true;
    run(io, [&]() -> sdk::Task<void> { co_await t.open(1s); });
    e = transport_error(io, [&]() -> sdk::Task<void> { co_await t.write("Z", 1s); });
    CHECK(e.kind() == sdk::TransportError::Kind::io);
    capture->flush();
    const auto text = read_file(dir / "f.capture");
    const auto c = transport::parse_capture(text);
    REQUIRE(c.records.size() == 5);
    CHECK((c.records[1].kind == Kind::error && c.records[1].name == "open" && c.records[1].error_kind == "closed" &&
           c.records[1].text == "script: refused"));
    CHECK((c.records[2].kind == Kind::marker && c.records[2].name == "open"));
    CHECK((c.records[3].kind == Kind::write && c.records[3].bytes == "Z"));
    CHECK((c.records[4].kind == Kind::error && c.records[4].name == "write" && c.records[4].error_kind == "io"));
}

TEST_CASE("the capture header waits for the identity, within a bound") {
    TempDir dir;
    const auto path = dir / "h.capture";
    {
        transport::CaptureWriter w(path, header());
        w.mark("open", "script:1");
        w.write("x");
        CHECK_FALSE(std::filesystem::exists(path));  // nothing before the header
        w.identified("ACME", "P-1", "S-9", "1.2");
        CHECK(std::filesystem::exists(path));
        w.identified("OTHER", "P-2", "S-0", "9");  // a later identification does not rewrite it
        w.mark("result", "printer.status {}");
        const auto c = transport::parse_capture(read_file(path));  // markers reach the disk at once
        CHECK(c.header.manufacturer == "ACME");
        CHECK(c.header.model == "P-1");
        CHECK(c.header.serial_number == "S-9");
        CHECK(c.header.firmware == "1.2");
        CHECK(c.records.size() == 3);
    }
    {
        // A device that never identifies still gets its capture once enough has happened.
        const auto quiet = dir / "q.capture";
        transport::CaptureWriter w(quiet, header());
        for (std::size_t i = 0; i + 1 < transport::CaptureWriter::max_pending; ++i) w.write("y");
        CHECK_FALSE(std::filesystem::exists(quiet));
        w.write("y");
        CHECK(std::filesystem::exists(quiet));
        CHECK(transport::parse_capture(read_file(quiet)).header.manufacturer.empty());
    }
    {
        // A device never opened leaves no file behind.
        transport::CaptureWriter w(dir / "none.capture", header());
    }
    CHECK_FALSE(std::filesystem::exists(dir / "none.capture"));
}

TEST_CASE("a capture that cannot be written is reported once, then recording stops") {
    TempDir dir;
    for (const auto& path : {std::filesystem::path("/dev/full"), dir / "no-such-dir" / "x.capture"}) {
        CAPTURE(path);
        std::vector<std::string> reports;
        transport::CaptureWriter w(path, header(), [&](const std::string& what) { reports.push_back(what); });
        w.mark("open", "x");
        w.identified("A", "B", "C", "D");  // the header goes out: the first failure
        CHECK(w.failed());
        for (int i = 0; i < 10; ++i) {
            w.write(std::string(4096, 'z'));
            w.mark("result", "x {}");
            w.flush();
        }
        REQUIRE(reports.size() == 1);
        CHECK(reports[0].find("capture " + path.string() + ": ") == 0);
        CHECK(reports[0].find("recording of this device stopped") != std::string::npos);
    }
}
