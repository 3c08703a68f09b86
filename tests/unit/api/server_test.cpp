// The API server end to end over loopback: a fake station over a real store, a
// Server on an ephemeral port, real HTTP requests from the test thread.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "api/server.hpp"
#include "api/station_view.hpp"
#include "record/store.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using namespace certlab;
using namespace std::chrono_literals;

namespace {

struct TempDb {
    std::filesystem::path path;
    TempDb() {
        static int n = 0;
        path = std::filesystem::temp_directory_path() /
               ("certlab-api-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".db");
    }
    ~TempDb() {
        std::error_code ec;
        for (auto suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(path.string() + suffix, ec);
    }
};

class FakeStation : public api::StationView {
public:
    explicit FakeStation(record::Store& store) : store_(store) {
        api::DeviceInfo printer;
        printer.id = "printer-1";
        printer.profile = "epson-tm-t88";
        printer.driver = "escpos";
        printer.address = "tcp:127.0.0.1:9100";
        printer.state = "ready";
        printer.identity = {{"model", "TM-T88VI"}};
        printer.capabilities = {"printer", "cash_drawer"};
        api::DeviceInfo busy = printer;
        busy.id = "bench 3/scale";  // a space and a slash: must survive the URL
        busy.state = "busy";
        busy.current_run = 7;
        devices_ = {printer, busy};
    }

    api::HealthInfo health() const override { return {"ok", "bench-3", "0.1.0", 42s}; }
    std::vector<api::DeviceInfo> devices() const override { return devices_; }
    std::vector<api::SuiteInfo> suites() const override {
        return {{"escpos-basic", "ESC/POS basics", "suites/escpos-basic.yaml", {"printer"}, {"PRN-001"}}};
    }
    std::vector<api::ResourceInfo> resources() const override { return {}; }
    std::optional<std::string> suggest_profile(const std::string&, const std::string&,
                                               const std::string&) const override {
        return std::nullopt;
    }
    api::ActionResult release_device(const std::string& id) override {
        if (id != "printer-1") return {404, "no device '" + id + "'"};
        return {409, "device 'printer-1' is ready, not quarantined"};
    }
    api::StartRunResult start_run(const std::string& device, const std::string& suite,
                                  std::optional<std::int64_t> certification) override {
        ++start_calls;
        last_certification = certification.value_or(0);
        if (throw_on_start) throw std::runtime_error("scheduler exploded");
        if (device == "bench 3/scale") return {std::nullopt, 409, "device bench 3/scale is busy with run 7"};
        record::Run run;
        run.device_id = device;
        run.suite_id = suite;
        run.status = record::RunStatus::queued;
        run.started_at = std::chrono::system_clock::now();
        store_.begin_run(run);
        return {run.id, 202, {}};
    }
    const record::Store& store() const override { return store_; }
    api::ReloadResult reload() override {
        ++reload_calls;
        if (reload_refuses) return {422, {}, {}, {"station.yaml:3:7: port: expected an integer"}};
        return {200, {"device printer-2 added"}, {}, {}};
    }

    std::atomic<int> reload_calls{0};
    std::atomic<bool> reload_refuses{false};
    std::atomic<int> start_calls{0};
    std::atomic<std::int64_t> last_certification{0};  ///< 0: the last run was for none
    std::atomic<bool> throw_on_start{false};

private:
    record::Store& store_;
    std::vector<api::DeviceInfo> devices_;
};

/// A finished run with one scenario and one step carrying a transcript.
std::int64_t seed_run(record::Store& store) {
    record::Run run;
    run.device_id = "printer-1";
    run.suite_id = "escpos-basic";
    run.suite_title = "ESC/POS basics";
    run.status = record::RunStatus::running;
    run.started_at = std::chrono::system_clock::now() - 5s;
    run.scenarios_total = 1;
    store.begin_run(run);
    record::ScenarioResult sc;
    sc.run_id = run.id;
    sc.scenario_id = "PRN-001";
    sc.title = "Print a receipt";
    sc.started_at = run.started_at;
    store.begin_scenario(sc);
    record::StepResult step;
    step.run_id = run.id;
    step.scenario_result_id = sc.id;
    step.seq = 1;
    step.kind = "call";
    step.action = "printer.status";
    step.values = {{"paper", sdk::Value("ok")}, {"voltage", sdk::Value(3.3, "V")}};
    step.started_at = run.started_at;
    step.duration_us = 1200;
    step.transcript.append({sdk::TranscriptEntry::Dir::tx, 0, std::string("\x10\x04\x01", 3)});
    step.transcript.append({sdk::TranscriptEntry::Dir::rx, 800, std::string("\x16", 1)});
    store.commit_step(step);
    sc.outcome = record::Outcome::pass;
    sc.iterations = 1;
    sc.passed_iterations = 1;
    sc.ended_at = run.started_at + 1s;
    store.end_scenario(sc);
    store.end_run(run.id, record::RunStatus::completed, record::Outcome::pass, "");
    return run.id;
}

/// The server under test on its own io_context thread, as in certlabd.
class Harness {
public:
    explicit Harness(api::ServerOptions opts = {})
        : store_(record::Store::open(db_.path)), station(*store_) {
        run_id = seed_run(*store_);
        opts.bind = "127.0.0.1";
        opts.port = 0;
        server_ = std::make_unique<api::Server>(ioc_.get_executor(), station, opts);
        server_->start();
        port = server_->port();
        thread_ = std::thread([this] {
            ioc_.run();
            finished_.set_value();
        });
    }
    ~Harness() { (void)shutdown(); }

    /// Stops the server on its executor; true when the io_context then ran out of
    /// work on its own (every connection closed) within 5 s.
    bool shutdown() {
        if (!thread_.joinable()) return true;
        asio::post(ioc_, [this] { server_->stop(); });
        bool clean = finished_.get_future().wait_for(5s) == std::future_status::ready;
        if (!clean) ioc_.stop();
        thread_.join();
        return clean;
    }

private:
    TempDb db_;
    std::unique_ptr<record::Store> store_;

public:
    FakeStation station;
    std::int64_t run_id = 0;
    std::uint16_t port = 0;

private:
    asio::io_context ioc_;
    std::unique_ptr<api::Server> server_;
    std::promise<void> finished_;
    std::thread thread_;
};

struct Reply {
    unsigned status = 0;
    std::string content_type;
    http::response<http::string_body> msg;
    json body;
};

Reply to_reply(http::response<http::string_body> msg) {
    Reply r;
    r.status = msg.result_int();
    r.content_type = std::string(msg[http::field::content_type]);
    r.body = json::parse(msg.body(), nullptr, false);
    r.msg = std::move(msg);
    return r;
}

/// One request on a fresh connection.
Reply request(std::uint16_t port, http::verb verb, const std::string& target,
              const std::string& body = {}) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return to_reply(std::move(res));
}

Reply get(std::uint16_t port, const std::string& target) {
    return request(port, http::verb::get, target);
}

/// Sends raw bytes and reads until the server closes (5 s at most).
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    asio::write(socket, asio::buffer(bytes));
    // Plain recv(): asio's blocking read would poll past SO_RCVTIMEO and hang a
    // broken server's test forever.
    timeval tv{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    std::array<char, 4096> buf;
    for (;;) {
        auto n = ::recv(socket.native_handle(), buf.data(), buf.size(), 0);
        if (n <= 0) break;
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
}

void check_problem(const Reply& r, unsigned status) {
    CHECK(r.status == status);
    CHECK(r.content_type == "application/problem+json");
    REQUIRE(r.body.is_object());
    CHECK(r.body["status"] == status);
    CHECK(r.body["title"].is_string());
    CHECK(r.body["type"] == "about:blank");
    CHECK(r.body["detail"].is_string());
}

}  // namespace

TEST_CASE("api: health and devices") {
    Harness h;
    auto health = get(h.port, "/v1/health");
    CHECK(health.status == 200);
    CHECK(health.content_type == "application/json");
    CHECK(health.body["status"] == "ok");
    CHECK(health.body["station_id"] == "bench-3");
    CHECK(health.body["uptime_s"] == 42);

    auto devices = get(h.port, "/v1/devices");
    CHECK(devices.status == 200);
    REQUIRE(devices.body["devices"].size() == 2);
    const auto& d = devices.body["devices"][0];
    CHECK(d["id"] == "printer-1");
    CHECK(d["state"] == "ready");
    CHECK(d["current_run"].is_null());
    CHECK(d["identity"]["model"] == "TM-T88VI");
    CHECK(d["capabilities"] == json::array({"printer", "cash_drawer"}));
    CHECK(devices.body["devices"][1]["current_run"] == 7);

    auto one = get(h.port, "/v1/devices/bench%203%2Fscale");
    CHECK(one.status == 200);
    CHECK(one.body["id"] == "bench 3/scale");
    check_problem(get(h.port, "/v1/devices/nope"), 404);

    auto suites = get(h.port, "/v1/suites");
    CHECK(suites.body["suites"][0]["scenarios"] == json::array({"PRN-001"}));
}

TEST_CASE("api: unknown route is 404 and wrong method is 405 with Allow") {
    Harness h;
    check_problem(get(h.port, "/v2/health"), 404);
    auto r = request(h.port, http::verb::delete_, "/v1/health");
    check_problem(r, 405);
    CHECK(r.msg[http::field::allow] == "GET");
    auto runs = request(h.port, http::verb::put, "/v1/runs");
    check_problem(runs, 405);
    CHECK(runs.msg[http::field::allow] == "GET, POST");
}

TEST_CASE("api: run list, detail and steps come from the store") {
    Harness h;
    auto list = get(h.port, "/v1/runs?device=printer-1&limit=10");
    CHECK(list.status == 200);
    REQUIRE(list.body["runs"].size() == 1);
    CHECK(get(h.port, "/v1/runs?device=other").body["runs"].empty());

    auto detail = get(h.port, "/v1/runs/" + std::to_string(h.run_id));
    REQUIRE(detail.status == 200);
    CHECK(detail.body["run"]["status"] == "completed");
    CHECK(detail.body["run"]["outcome"] == "pass");
    CHECK(detail.body["run"]["started_at"].get<std::string>().back() == 'Z');
    CHECK(detail.body["scenarios"][0]["id"] == "PRN-001");
    CHECK(detail.body["scenarios"][0]["outcome"] == "pass");
    CHECK(detail.body["step_count"] == 1);
    REQUIRE(detail.body["steps"].size() == 1);
    CHECK(get(h.port, "/v1/runs/" + std::to_string(h.run_id) + "?steps=0").body["steps"].empty());

    auto steps = get(h.port, "/v1/runs/" + std::to_string(h.run_id) + "/steps?after=0");
    REQUIRE(steps.body["steps"].size() == 1);
    const auto& step = steps.body["steps"][0];
    CHECK(step["action"] == "printer.status");
    CHECK(step["values"]["voltage"] == json({{"value", 3.3}, {"unit", "V"}}));
    CHECK(step["values"]["paper"] == json({{"value", "ok"}}));
    CHECK(step["transcript"]["entries"][0]["dir"] == "tx");
    CHECK(step["transcript"]["entries"][0]["hex"] == "100401");
    CHECK(step["transcript"]["entries"][1]["hex"] == "16");
    CHECK(step["transcript"]["text"] == "> <10><04><01>\n< <16>\n");
    CHECK(steps.body["next_after"] == 1);
    CHECK(get(h.port, "/v1/runs/" + std::to_string(h.run_id) + "/steps?after=1").body["steps"].empty());

    check_problem(get(h.port, "/v1/runs/999"), 404);
    check_problem(get(h.port, "/v1/runs/999/steps"), 404);
    check_problem(get(h.port, "/v1/runs/abc"), 400);
    check_problem(get(h.port, "/v1/runs?limit=0"), 400);
    check_problem(get(h.port, "/v1/runs?limit=ten"), 400);
}

TEST_CASE("api: POST /v1/runs queues a run and passes the station's refusal through") {
    Harness h;
    auto r = request(h.port, http::verb::post, "/v1/runs",
                     R"({"device": "printer-1", "suite": "escpos-basic"})");
    REQUIRE(r.status == 202);
    auto id = r.body["id"].get<std::int64_t>();
    CHECK(id > h.run_id);
    CHECK(r.body["href"] == "/v1/runs/" + std::to_string(id));
    CHECK(r.msg[http::field::location] == r.body["href"].get<std::string>());
    auto run = get(h.port, r.body["href"].get<std::string>());
    CHECK(run.body["run"]["status"] == "queued");
    CHECK(run.body["run"]["outcome"].is_null());

    auto busy = request(h.port, http::verb::post, "/v1/runs",
                        R"({"device": "bench 3/scale", "suite": "escpos-basic"})");
    check_problem(busy, 409);
    CHECK(busy.body["detail"] == "device bench 3/scale is busy with run 7");
    CHECK(h.station.start_calls == 2);
    CHECK(h.station.last_certification == 0);

    // A run made for a certification passes its id to the station.
    auto for_cert = request(h.port, http::verb::post, "/v1/runs",
                            R"({"device": "printer-1", "suite": "escpos-basic", "certification": 12})");
    CHECK(for_cert.status == 202);
    CHECK(h.station.last_certification == 12);
}

TEST_CASE("api: bad POST bodies are 400 problems and never reach the station") {
    Harness h;
    for (auto body : {R"({"device": "printer-1", )", R"(["printer-1"])", R"({"suite": "s"})",
                      R"({"device": 5, "suite": "s"})", R"({"device": "", "suite": "s"})", "x",
                      R"({"device": "d", "suite": "s", "certification": "3"})",
                      R"({"device": "d", "suite": "s", "certification": 0})",
                      R"({"device": "d", "suite": "s", "certification": 1.5})"}) {
        auto r = request(h.port, http::verb::post, "/v1/runs", body);
        CAPTURE(body);
        check_problem(r, 400);
    }
    CHECK(h.station.start_calls == 0);
}

TEST_CASE("api: oversized body is 413 and oversized header is 431") {
    Harness h;
    auto big = request(h.port, http::verb::post, "/v1/runs", std::string(70 * 1024, 'x'));
    check_problem(big, 413);
    CHECK(h.station.start_calls == 0);

    auto head = raw_exchange(h.port, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                                         std::string(9 * 1024, 'a') + "\r\n\r\n");
    CHECK(head.rfind("HTTP/1.1 431", 0) == 0);
    CHECK(get(h.port, "/v1/health").status == 200);
}

TEST_CASE("api: a handler exception is a 500 and the server keeps serving") {
    Harness h;
    h.station.throw_on_start = true;
    auto r = request(h.port, http::verb::post, "/v1/runs", R"({"device": "printer-1", "suite": "s"})");
    check_problem(r, 500);
    CHECK(r.body["detail"].get<std::string>().find("scheduler exploded") != std::string::npos);
    CHECK(get(h.port, "/v1/health").status == 200);
}

TEST_CASE("api: a garbage request gets 400 on its own connection, and the next request works") {
    Harness h;
    auto answer = raw_exchange(h.port, "\x16\x03\x01 this is not HTTP\r\n\r\n");
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(answer.find("application/problem+json") != std::string::npos);
    // A client that connects and vanishes without a byte must not matter either.
    { asio::io_context ioc; tcp::socket s(ioc); s.connect({asio::ip::make_address("127.0.0.1"), h.port}); }
    CHECK(get(h.port, "/v1/health").status == 200);
}

TEST_CASE("api: a station without a certification record answers 503 there, after checking the request") {
    Harness h;
    auto list = get(h.port, "/v1/certifications");
    check_problem(list, 503);
    CHECK(list.body["detail"] == "this station keeps no certification record");
    check_problem(request(h.port, http::verb::post, "/v1/certifications/3/phase", R"({"to": "lab"})"), 503);
    check_problem(request(h.port, http::verb::post, "/v1/certifications/3/phase", "{}"), 400);
    check_problem(get(h.port, "/v1/certifications/x"), 400);
}

TEST_CASE("api: keep-alive serves several requests on one connection, and stop() closes it") {
    Harness h;
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), h.port));
    beast::flat_buffer buffer;
    for (auto target : {"/v1/health", "/v1/devices", "/v1/nowhere"}) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "x");
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        CHECK(res.keep_alive());
        CHECK(res.result_int() == (std::string_view(target) == "/v1/nowhere" ? 404u : 200u));
    }
    // The connection is idle and open: a graceful stop must still end it promptly.
    CHECK(h.shutdown());
    boost::system::error_code ec;
    std::array<char, 16> sink;
    stream.socket().read_some(asio::buffer(sink), ec);
    CHECK(ec == asio::error::eof);
}

TEST_CASE("api: start() reports a port in use clearly") {
    Harness h;
    asio::io_context ioc;
    TempDb db;
    auto store = record::Store::open(db.path);
    FakeStation station(*store);
    api::ServerOptions opts;
    opts.port = h.port;
    api::Server second(ioc.get_executor(), station, opts);
    try {
        second.start();
        FAIL("start() on a taken port must throw");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) ==
              "cannot bind API to 127.0.0.1:" + std::to_string(h.port) + ": Address already in use");
    }
    opts.bind = "not-an-address";
    api::Server third(ioc.get_executor(), station, opts);
    CHECK_THROWS_AS(third.start(), std::runtime_error);
}

TEST_CASE("api: idle and stalled connections are closed at their deadlines") {
    api::ServerOptions opts;
    opts.idle_timeout = 1s;
    opts.request_timeout = 1s;
    Harness h(opts);
    for (std::string bytes : {std::string{}, std::string("GET /v1/health HTTP/1.1\r\nHost:")}) {
        CAPTURE(bytes);
        auto t0 = std::chrono::steady_clock::now();
        auto answer = raw_exchange(h.port, bytes);  // returns when the server closes
        auto waited = std::chrono::steady_clock::now() - t0;
        CHECK(answer.empty());
        CHECK(waited >= 900ms);
        CHECK(waited < 4s);  // raw_exchange gives up at 5 s
    }
    CHECK(get(h.port, "/v1/health").status == 200);
}

namespace {

/// FakeStation that notes which thread asked it what.
class ThreadNotingStation : public FakeStation {
public:
    using FakeStation::FakeStation;
    api::HealthInfo health() const override {
        health_thread = std::this_thread::get_id();
        return FakeStation::health();
    }
    std::vector<api::DeviceInfo> devices() const override {
        devices_thread = std::this_thread::get_id();
        return FakeStation::devices();
    }
    mutable std::atomic<std::thread::id> health_thread{};
    mutable std::atomic<std::thread::id> devices_thread{};
};

}  // namespace

TEST_CASE("api: on a thread of its own, station routes run on the station's executor, and the server ends its thread") {
    TempDb db;
    auto store = record::Store::open(db.path);
    const auto run_id = seed_run(*store);
    ThreadNotingStation station(*store);
    // As in certlabd: the API's context made first, the station's on a thread of its own.
    asio::io_context api_io;
    asio::io_context station_io;
    auto keep = asio::make_work_guard(station_io);
    std::thread station_thread([&] { station_io.run(); });
    const auto station_id = station_thread.get_id();

    api::ServerOptions opts;
    opts.bind = "127.0.0.1";
    opts.port = 0;
    auto server = std::make_unique<api::Server>(station_io.get_executor(), api_io, station, opts);
    server->start();
    const auto port = server->port();

    CHECK(get(port, "/v1/health").body["station_id"] == "bench-3");
    CHECK(station.health_thread.load() == station_id);
    auto devices = get(port, "/v1/devices");
    CHECK(devices.body["devices"].size() == 2);
    const auto server_thread = station.devices_thread.load();
    CHECK(server_thread != station_id);
    CHECK(server_thread != std::this_thread::get_id());
    auto run = get(port, "/v1/runs/" + std::to_string(run_id));
    CHECK(run.status == 200);
    CHECK(run.body["steps"].size() == 1);
    // A write hops over and back with the station's answer.
    auto started = request(port, http::verb::post, "/v1/runs", R"({"device": "printer-1", "suite": "escpos-basic"})");
    CHECK(started.status == 202);
    CHECK(station.start_calls == 1);
    check_problem(request(port, http::verb::post, "/v1/runs", R"({"device": "bench 3/scale", "suite": "x"})"), 409);

    // A keep-alive connection stays open while the server is stopped and destroyed on
    // the station's thread, as certlabd does: the destructor cuts it and joins its thread.
    asio::io_context client_io;
    beast::tcp_stream stream(client_io);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> req{http::verb::get, "/v1/health", 11};
    req.set(http::field::host, "x");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    CHECK(res.keep_alive());
    std::promise<void> gone;
    asio::post(station_io, [&] {
        server->stop();
        server.reset();
        gone.set_value();
    });
    CHECK(gone.get_future().wait_for(5s) == std::future_status::ready);
    boost::system::error_code ec;
    std::array<char, 16> sink;
    stream.socket().read_some(asio::buffer(sink), ec);
    CHECK(ec);  // end of stream or reset: the connection is gone

    keep.reset();
    station_thread.join();
}
