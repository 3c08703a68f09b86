// The device layer's part of recording: where each device's capture goes, the JSON
// forms of marker payloads, and RecordingDriver's markers around every driver call.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "../transport/run_io.hpp"
#include "sdk/error.hpp"
#include "station/capture_json.hpp"
#include "station/recording.hpp"
#include "support/process.hpp"

using namespace certlab;
using namespace certlab::test;
using station::capture_path;

TEST_CASE("each device's capture path follows --record FILE") {
    CHECK(capture_path("/tmp/s.capture", "printer-1", false) == "/tmp/s.capture");
    CHECK(capture_path("/tmp/s.capture", "printer-1", true) == "/tmp/s.printer-1.capture");
    CHECK(capture_path("out", "psu-1", true) == "out.psu-1");
    CHECK(capture_path("caps/{device}.capture", "psu-1", true) == "caps/psu-1.capture");
    CHECK(capture_path("caps/{device}.capture", "psu-1", false) == "caps/psu-1.capture");
    CHECK(capture_path("{device}/{device}.cap", "a", true) == "a/a.cap");
}

TEST_CASE("marker payloads keep every value type and unit") {
    sdk::Values v{
        {"online", true},
        {"count", sdk::Value(std::int64_t{40})},
        {"voltage", sdk::Value(5.0, "V")},
        {"latency", sdk::Value(0.125, "ms")},
        {"bytes", sdk::Value(std::int64_t{12}, "B")},
        {"reason", "paper out (DLE EOT 4 = 0x72)"},
        {"lines", std::vector<std::string>{"a", "b"}},
        {"none", sdk::Value()},
    };
    const auto text = station::encode_values(v);
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.find(R"("voltage":{"unit":"V","value":5.0})") != std::string::npos);
    CHECK(text.find(R"("count":40)") != std::string::npos);
    CHECK(station::decode_values(text) == v);

    sdk::Identity id{"EPSON", "TM-T88V", "X1", "30.01", {{"model_id", sdk::Value(std::int64_t{32})}}};
    const auto back = station::decode_identity(station::encode_identity(id));
    CHECK(back.manufacturer == "EPSON");
    CHECK(back.model == "TM-T88V");
    CHECK(back.serial_number == "X1");
    CHECK(back.firmware == "30.01");
    CHECK(back.extra == id.extra);

    const auto e = station::decode_error(station::encode_error({"timeout", "no answer"}));
    CHECK(e.kind == "timeout");
    CHECK(e.message == "no answer");

    // Bytes that are not UTF-8 (garbage quoted in a reason) do not stop the recording.
    CHECK(station::encode_values({{"reason", std::string("got \xff\xfe")}}).find("got ") != std::string::npos);

    CHECK_THROWS_AS((void)station::decode_values("[1]"), sdk::ConfigError);
    CHECK_THROWS_AS((void)station::decode_values(R"({"a":{"value":1}})"), sdk::ConfigError);
    CHECK_THROWS_AS((void)station::decode_values(R"({"a":[1,2]})"), sdk::ConfigError);
    CHECK_THROWS_AS((void)station::decode_values("{oops"), sdk::ConfigError);

    auto p = station::split_payload(R"(printer.print {"count":3})");
    CHECK(p.name == "printer.print");
    CHECK(p.json == R"({"count":3})");
}

namespace {

/// Answers from fields the test sets; throws `fail` when it is set.
class FakeDriver final : public sdk::Driver {
public:
    std::exception_ptr fail;
    int closes = 0;
    sdk::Task<void> open() override {
        if (fail) std::rethrow_exception(fail);
        co_return;
    }
    sdk::Task<sdk::Identity> identify() override {
        if (fail) std::rethrow_exception(fail);
        co_return sdk::Identity{"ACME", "P-1", "S-1", "2.0", {}};
    }
    sdk::Task<sdk::Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        if (fail) std::rethrow_exception(fail);
        sdk::Values v{{"action", action.qualified()}, {"latency", sdk::Value(1.5, "ms")}};
        for (const auto& [k, a] : args) v["arg." + k] = a;
        co_return v;
    }
    void close() noexcept override { ++closes; }
};

}  // namespace

TEST_CASE("the recording driver marks each call and passes results and errors through") {
    TempDir dir;
    boost::asio::io_context io;
    auto inner = std::make_unique<FakeDriver>();
    auto& fake = *inner;
    auto capture = std::make_shared<transport::CaptureWriter>(dir / "d.capture", transport::CaptureHeader{});
    station::RecordingDriver d(std::move(inner), capture);
    const auto* status = sdk::find_action("printer.status");
    const auto* print = sdk::find_action("printer.print");
    REQUIRE(status);
    REQUIRE(print);

    // (doctest's macros and initializer lists stay out of co_await expressions: g++ 12)
    const sdk::Args args{{"count", sdk::Value(std::int64_t{3})}};
    const auto [model, count] = run(io, [&]() -> sdk::Task<std::pair<std::string, sdk::Value>> {
        co_await d.open();
        sdk::Identity id = co_await d.identify();
        sdk::Values v = co_await d.invoke(*print, args);
        co_return std::pair{id.model, v["arg.count"]};
    });
    CHECK(model == "P-1");
    CHECK(count == sdk::Value(std::int64_t{3}));
    fake.fail = std::make_exception_ptr(sdk::ProtocolError("DLE EOT 1: fixed bits wrong (0xFF)"));
    const sdk::Args none;
    CHECK_THROWS_WITH_AS(run(io, [&]() -> sdk::Task<void> { (void)co_await d.invoke(*status, none); }),
                         "DLE EOT 1: fixed bits wrong (0xFF)", sdk::ProtocolError);
    fake.fail = std::make_exception_ptr(sdk::TransportError(sdk::TransportError::Kind::closed, "gone"));
    auto e = transport_error(io, [&]() -> sdk::Task<void> { (void)co_await d.identify(); });
    CHECK(e.kind() == sdk::TransportError::Kind::closed);
    CHECK_THROWS_AS(run(io, [&]() -> sdk::Task<void> { co_await d.open(); }), sdk::TransportError);
    d.close();
    CHECK(fake.closes == 1);
    capture.reset();

    const auto c = transport::load_capture(dir / "d.capture");
    CHECK(c.header.manufacturer == "ACME");  // the header waited for the identity
    CHECK(c.header.firmware == "2.0");
    std::vector<std::string> lines;
    for (const auto& r : c.records) lines.push_back(r.name + (r.text.empty() ? "" : " " + r.text));
    const std::vector<std::string> expected{
        "identify",
        R"(identified {"extra":{},"firmware":"2.0","manufacturer":"ACME","model":"P-1","serial_number":"S-1"})",
        R"(invoke printer.print {"count":3})",
        R"(result printer.print {"action":"printer.print","arg.count":3,"latency":{"unit":"ms","value":1.5}})",
        R"(invoke printer.status {})",
        R"x(error printer.status {"kind":"protocol","message":"DLE EOT 1: fixed bits wrong (0xFF)"})x",
        "identify",
        R"(error identify {"kind":"closed","message":"gone"})",
        R"(error open {"kind":"closed","message":"gone"})",
    };
    CHECK(lines == expected);
}
