// The http driver in process, over a real TCP transport to certlab-sim kds: actions a
// test profile defines, the keep-alive connection and its reconnects, the token kept
// out of the transcript, the error kinds, and settings checked at creation.
#include <doctest/doctest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "sdk/error.hpp"
#include "sdk/registry.hpp"
#include "support/process.hpp"
#include "transport/tcp.hpp"
#include "unit/transport/run_io.hpp"

using namespace certlab;
using namespace std::chrono_literals;
using test::run;

namespace {

/// A capability for these tests only, defined as a profile would define it.
const sdk::CapabilitySpec& kdst() {
    static const sdk::CapabilitySpec& spec = [] {
        sdk::CapabilitySpec c;
        c.name = "kdst";
        c.doc = "kds for the http driver's unit tests";
        c.origin = "tests/unit/drivers/http/driver_test.cpp";
        sdk::ActionSpec status{"kdst", "status", "", {},
                               {{"brightness", sdk::ValueType::integer, "%", ""},
                                {"display_on", sdk::ValueType::boolean, "", ""},
                                {"stations", sdk::ValueType::string_list, "", ""}}};
        sdk::ActionSpec order{"kdst", "order", "",
                              {{"id", sdk::ValueType::string, true, ""}, {"items", sdk::ValueType::integer, false, ""}},
                              {{"position", sdk::ValueType::integer, "", ""}}};
        sdk::ActionSpec bump{"kdst", "bump", "", {{"id", sdk::ValueType::string, true, ""}}, {}};
        c.actions = {status, order, bump};
        return sdk::define_capability(c);
    }();
    return spec;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

sdk::ProfileAction action(const char* name, Fields fields) {
    sdk::ProfileAction a;
    a.name = name;
    a.where = "kds-test.yaml:10:3";
    a.spec = name == std::string("identify") ? nullptr : sdk::find_action(name);
    int line = 11;
    for (const auto& [k, v] : fields) a.fields.set(k, v, "kds-test.yaml:" + std::to_string(line++) + ":5");
    return a;
}

std::vector<sdk::ProfileAction> standard_actions() {
    (void)kdst();
    return {
        action("identify", {{"manufacturer", "/vendor/name"}, {"serial_number", "/device/serial"}}),
        action("kdst.status", {{"path", "/api/status"},
                               {"results.brightness.pointer", "/display/brightness"},
                               {"results.display_on.pointer", "/display/on"},
                               {"results.stations.pointer", "/stations"}}),
        action("kdst.order", {{"path", "/api/orders"},
                              {"body", R"({"id": "{id}", "station": "grill", "items": "{items}"})"},
                              {"expect_status", "201"},
                              {"results.position.pointer", "/order/position"}}),
        action("kdst.bump", {{"path", "/api/orders/{id}/bump"}, {"method", "POST"}}),
    };
}

/// certlab-sim kds on an ephemeral port.
struct KdsSim {
    test::Process process;
    std::uint16_t port = 0;
    explicit KdsSim(std::vector<std::string> options = {}) {
        std::vector<std::string> argv{test::bin("certlab-sim").string(), "kds", "--tcp", "0"};
        argv.insert(argv.end(), options.begin(), options.end());
        process = test::Process::start(argv);
        auto line = process.read_line(5s);
        REQUIRE(line);
        port = static_cast<std::uint16_t>(std::stoi(line->substr(14)));
    }
};

class Rig {
public:
    Rig(std::vector<std::string> sim_options = {}, std::map<std::string, std::string> settings = {},
        std::vector<sdk::ProfileAction> actions = standard_actions())
        : sim_(std::move(sim_options)),
          transport_(ioc_.get_executor(), "127.0.0.1", sim_.port),
          stream_(transport_),
          sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200)),
          log_(std::make_shared<spdlog::logger>("device.kds", sink_)),
          actions_(std::move(actions)) {
        log_->set_level(spdlog::level::trace);
        resource_.kind = sdk::Resource::Kind::net;
        resource_.address = transport_.address();
        settings_.set("response_timeout", "500ms", "kds-test.yaml:5:21");
        for (const auto& [k, v] : settings) settings_.set(k, v, "kds-test.yaml:6:3");
        ctx_ = std::make_unique<sdk::DriverContext>(
            sdk::DriverContext{"kds", resource_, stream_, settings_, log_, actions_});
        stream_.set_transcript(&transcript_);
    }

    std::unique_ptr<sdk::Driver> create() { return sdk::Registry::instance().find("http")->create(*ctx_); }

    sdk::Driver& driver() {
        if (!driver_) driver_ = create();
        return *driver_;
    }

    sdk::Identity bring_up() {
        return run(ioc_, [this]() -> sdk::Task<sdk::Identity> {
            co_await transport_.open(2s);
            co_await driver().open();
            sdk::Identity id = co_await driver().identify();
            co_return id;
        });
    }

    sdk::Values invoke(const char* name, sdk::Args args = {}) {
        const auto* a = sdk::find_action(name);
        REQUIRE(a);
        return run(ioc_, [this, a, args]() -> sdk::Task<sdk::Values> {
            sdk::Values v = co_await driver().invoke(*a, args);
            co_return v;
        });
    }

    template <typename E>
    std::string failure(const char* name, sdk::Args args = {}) {
        try {
            invoke(name, args);
        } catch (const E& e) {
            return e.what();
        }
        FAIL("expected an exception of the right kind");
        return {};
    }

    std::string transcript() const { return transcript_.render(); }
    bool noted(const std::string& part) const {
        for (const auto& e : transcript_.entries())
            if (e.dir == sdk::TranscriptEntry::Dir::note && e.bytes.find(part) != std::string::npos) return true;
        return false;
    }
    std::string sent() const {
        std::string all;
        for (const auto& e : transcript_.entries())
            if (e.dir == sdk::TranscriptEntry::Dir::tx) all += e.bytes;
        return all;
    }
    std::string log_text() const {
        std::string all;
        for (const auto& l : sink_->last_formatted()) all += l;
        return all;
    }

private:
    boost::asio::io_context ioc_;
    KdsSim sim_;
    transport::TcpTransport transport_;
    sdk::Stream stream_;
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> log_;
    std::vector<sdk::ProfileAction> actions_;
    sdk::Resource resource_;
    sdk::Settings settings_;
    sdk::Transcript transcript_;
    std::unique_ptr<sdk::DriverContext> ctx_;
    std::unique_ptr<sdk::Driver> driver_;
};

std::string config_error(std::vector<sdk::ProfileAction> actions, std::map<std::string, std::string> settings = {}) {
    Rig rig({}, std::move(settings), std::move(actions));
    try {
        (void)rig.create();
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("http driver: identify, typed results and a body with an optional member left out") {
    Rig rig({"--serial", "U-7"});
    auto id = rig.bring_up();
    CHECK(id.manufacturer == "CERTLAB");
    CHECK(id.serial_number == "U-7");
    CHECK(id.model.empty());  // the profile named no pointer for it
    auto v = rig.invoke("kdst.status");
    CHECK(v.at("brightness") == sdk::Value(std::int64_t{80}, "%"));
    CHECK(v.at("display_on") == sdk::Value(true));
    CHECK(v.at("stations") == sdk::Value(std::vector<std::string>{"grill", "fry", "salad", "expo"}));
    auto o = rig.invoke("kdst.order", {{"id", sdk::Value("A-1")}});
    CHECK(o.at("position") == sdk::Value(std::int64_t{1}));
    CHECK(rig.sent().find(R"({"id":"A-1","station":"grill"})") != std::string::npos);
    CHECK(rig.invoke("kdst.bump", {{"id", sdk::Value("A-1")}}).empty());
    CHECK(rig.sent().find("POST /api/orders/A-1/bump HTTP/1.1\r\n") != std::string::npos);
    CHECK(rig.sent().find("Content-Length: 0\r\n") != std::string::npos);
    // One connection for all of it.
    CHECK_FALSE(rig.noted("new connection"));
}

TEST_CASE("http driver: a server that says Connection close gets a new connection for the next request") {
    Rig rig({"--close"});
    rig.bring_up();
    for (int i = 0; i < 3; ++i) CHECK(rig.invoke("kdst.status").at("brightness") == sdk::Value(std::int64_t{80}, "%"));
    CHECK(rig.noted("new connection (5 since bring-up)"));
}

TEST_CASE("http driver: keep_alive false asks for close and reconnects every time") {
    Rig rig({}, {{"keep_alive", "false"}});
    rig.bring_up();
    rig.invoke("kdst.status");
    CHECK(rig.sent().find("Connection: close\r\n") != std::string::npos);
    CHECK(rig.noted("new connection"));
}

TEST_CASE("http driver: the device's faults become fail, timeout and error") {
    SUBCASE("500") {
        Rig rig({"--http-500"});
        rig.bring_up();
        CHECK(rig.failure<sdk::ProtocolError>("kdst.status") ==
              "kdst.status: GET /api/status: HTTP 500 Internal Server Error (expected 2xx): "
              "{\"error\":\"internal error: display service crashed\"}");
    }
    SUBCASE("an unexpected success status") {
        Rig rig;
        rig.bring_up();
        (void)rig.invoke("kdst.order", {{"id", sdk::Value("B-1")}});
        CHECK(rig.failure<sdk::ProtocolError>("kdst.order", {{"id", sdk::Value("B-1")}}).find(
                  "HTTP 409 Conflict (expected 201)") != std::string::npos);
    }
    SUBCASE("garbage, then a clean connection") {
        Rig rig({"--garbage-after", "2"});
        rig.bring_up();
        CHECK(rig.failure<sdk::ProtocolError>("kdst.status").find("not an HTTP response") != std::string::npos);
    }
    SUBCASE("stall") {
        Rig rig({"--stall-after", "2"});
        rig.bring_up();
        const auto start = test::Clock::now();
        try {
            rig.invoke("kdst.status");
            FAIL("no timeout");
        } catch (const sdk::TransportError& e) {
            CHECK(e.kind() == sdk::TransportError::Kind::timeout);
            CHECK(std::string(e.what()).starts_with("kdst.status: GET /api/status: no response: "));
        }
        CHECK(test::elapsed_since(start) >= 450ms);
    }
    SUBCASE("disconnect") {
        Rig rig({"--disconnect-after", "2"});
        rig.bring_up();
        try {
            rig.invoke("kdst.status");
            FAIL("no error");
        } catch (const sdk::TransportError& e) {
            CHECK(e.kind() == sdk::TransportError::Kind::closed);
            CHECK(std::string(e.what()) == "kdst.status: GET /api/status: the connection closed before a response");
        }
        // The next request goes out on a new connection, which the device serves again.
        CHECK(rig.invoke("kdst.status").at("display_on") == sdk::Value(true));
        CHECK(rig.noted("new connection"));
    }
}

TEST_CASE("http driver: the bearer token goes to the device but not into the transcript or the log") {
    test::TempDir dir;
    const std::string token = "tok-3c1f0e9a";
    test::write_file(dir / "token", token + "\n");
    Rig rig({"--token", token}, {{"token_file", (dir / "token").string()}});
    rig.bring_up();
    CHECK(rig.invoke("kdst.status").at("brightness") == sdk::Value(std::int64_t{80}, "%"));
    CHECK(rig.noted("Authorization: Bearer <redacted>"));
    CHECK(rig.transcript().find(token) == std::string::npos);
    CHECK(rig.log_text().find(token) == std::string::npos);
    CHECK(rig.sent().find("GET /api/status HTTP/1.1\r\n") != std::string::npos);
}

TEST_CASE("http driver: profile and settings mistakes are configuration errors with their place") {
    auto with = [](const char* name, Fields f) {
        auto a = standard_actions();
        for (auto& x : a)
            if (x.name == name) x = action(name, std::move(f));
        return a;
    };
    CHECK(config_error(with("kdst.bump", {{"path", "/x/{id}"}, {"methd", "POST"}})) ==
          "kds-test.yaml:12:5: kdst.bump: methd: unknown field (the http driver reads method, path, body, expect_status, "
          "timeout, headers.<name>, results.<name>.pointer)");
    CHECK(config_error(with("kdst.bump", {{"method", "POST"}})) == "kds-test.yaml:10:3: kdst.bump: missing required field 'path'");
    CHECK(config_error(with("kdst.order", {{"path", "/o/{items}"}, {"results.position.pointer", "/p"}})) ==
          "kds-test.yaml:11:5: kdst.order: path: {items} is not a required parameter of kdst.order");
    CHECK(config_error(with("kdst.order", {{"path", "/o"}, {"body", R"({"n": "x{items}"})"}, {"results.position.pointer", "/p"}}))
              .find("{items} is optional, so it can only be a whole") != std::string::npos);
    CHECK(config_error(with("kdst.status", {{"path", "/s"}, {"results.brightness.pointer", "display"}})) ==
          "kds-test.yaml:12:5: kdst.status: results.brightness.pointer: a JSON pointer is empty or starts with '/'");
    CHECK(config_error(with("kdst.status", {{"path", "/s"}, {"results.brightness.pointer", "/b"}, {"results.display_on.pointer", "/d"}})) ==
          "kds-test.yaml:10:3: kdst.status: result stations has no results.stations.pointer");
    CHECK(config_error(with("kdst.bump", {{"path", "/b/{id}"}, {"body", "{}"}, {"method", "GET"}})) ==
          "kds-test.yaml:12:5: kdst.bump: body: a GET request carries no body");
    CHECK(config_error(with("kdst.bump", {{"path", "/b/{id}"}, {"headers.Host", "x"}})) ==
          "kds-test.yaml:12:5: kdst.bump: headers.Host: this header is the driver's to send");
    CHECK(config_error(with("kdst.bump", {{"path", "/b/{id}"}, {"expect_status", "2xx,7"}}))
              .find("'7' is not a status code") != std::string::npos);
    CHECK(config_error(with("identify", {{"firmware", "/v"}, {"colour", "/c"}}))
              .find("identify: colour: unknown field") != std::string::npos);
    CHECK(config_error(standard_actions(), {{"token_file", "/nonexistent/token"}}) ==
          "kds-test.yaml:6:3: token_file: cannot read '/nonexistent/token'");
    CHECK(config_error(standard_actions(), {{"header.X-A", "a\r\nb"}}).find("control byte") != std::string::npos);
    CHECK(config_error(standard_actions(), {{"health", "health"}}) ==
          "kds-test.yaml:6:3: health: expected a path starting with '/'");
    CHECK(config_error({action("identify", {})}) == "http: the profile defines no actions besides identify");
    CHECK(config_error(standard_actions()).empty());
}
