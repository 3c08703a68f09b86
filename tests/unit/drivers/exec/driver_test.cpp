// The exec driver in process: the Python fixture driver (fixtures/exec-driver) drives
// certlab-sim through a real TCP transport; faults, deadlines, restarts, backoff,
// cancellation and start-up failures, with the child always reaped.
#include <doctest/doctest.h>

#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <regex>
#include <set>
#include <thread>
#include <variant>

#include "sdk/error.hpp"
#include "sdk/registry.hpp"
#include "support/process.hpp"
#include "transport/tcp.hpp"
#include "unit/transport/run_io.hpp"

using namespace certlab;
using namespace std::chrono_literals;
using test::run;
using test::TempDir;

namespace {

/// certlab-sim printer on an ephemeral TCP port.
struct PrinterSim {
    test::Process process;
    std::uint16_t port = 0;

    explicit PrinterSim(std::vector<std::string> options = {}) {
        std::vector<std::string> argv{test::bin("certlab-sim").string(), "printer", "--tcp", "0"};
        argv.insert(argv.end(), options.begin(), options.end());
        process = test::Process::start(argv);
        auto line = process.read_line(5s);
        REQUIRE(line);
        REQUIRE(line->rfind("tcp 127.0.0.1:", 0) == 0);
        port = static_cast<std::uint16_t>(std::stoi(line->substr(14)));
    }
};

std::string fixture() { return test::source("fixtures/exec-driver/escpos_exec.py").string(); }

/// One device driven by the exec driver, as the station would set it up.
class Rig {
public:
    /// `settings` are the profile's (command included); `sim_options` fault the printer.
    Rig(std::map<std::string, std::string> settings, std::vector<std::string> sim_options = {})
        : sim_(std::move(sim_options)),
          transport_(ioc_.get_executor(), "127.0.0.1", sim_.port),
          stream_(transport_),
          sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(500)),
          log_(std::make_shared<spdlog::logger>("device.test", sink_)) {
        log_->set_level(spdlog::level::trace);
        resource_.kind = sdk::Resource::Kind::net;
        resource_.address = transport_.address();
        for (const auto& [k, v] : settings) settings_.set(k, v, "profile.yaml:9:3");
        ctx_ = std::make_unique<sdk::DriverContext>(sdk::DriverContext{"test", resource_, stream_, settings_, log_});
        const auto* info = sdk::Registry::instance().find("exec");
        REQUIRE(info);
        driver_ = info->create(*ctx_);
    }

    ~Rig() {
        driver_->close();
        // Let the reaper finish (end of input, then SIGKILL after the grace).
        auto until = test::Clock::now() + 3s;
        while (test::Clock::now() < until && ioc_.run_one_for(50ms) > 0) {
        }
        driver_.reset();
    }

    sdk::Driver& driver() { return *driver_; }
    boost::asio::io_context& ioc() { return ioc_; }
    sdk::Stream& stream() { return stream_; }

    void open() {
        run(ioc_, [this]() -> sdk::Task<void> {
            co_await transport_.open(2s);
            co_await driver_->open();
        });
    }

    sdk::Values invoke(const char* action, sdk::Args args = {}) {
        const auto* a = sdk::find_action(action);
        REQUIRE(a);
        return run(ioc_, [this, a, args]() -> sdk::Task<sdk::Values> {
            sdk::Values v = co_await driver_->invoke(*a, args);
            co_return v;
        });
    }

    /// The exception an invoke ends with (nullptr when it succeeded).
    std::exception_ptr failing_invoke(const char* action) {
        try {
            invoke(action);
        } catch (...) {
            return std::current_exception();
        }
        return nullptr;
    }

    std::string log_text() const {
        std::string all;
        for (const auto& l : sink_->last_formatted()) all += l;
        return all;
    }

    std::vector<int> child_pids() const {
        std::vector<int> pids;
        static const std::regex started(R"(started \(pid (\d+)\))");
        auto text = log_text();
        for (std::sregex_iterator it(text.begin(), text.end(), started), end; it != end; ++it)
            pids.push_back(std::stoi((*it)[1]));
        return pids;
    }

private:
    boost::asio::io_context ioc_;
    PrinterSim sim_;
    transport::TcpTransport transport_;
    sdk::Stream stream_;
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Resource resource_;
    sdk::Settings settings_;
    std::unique_ptr<sdk::DriverContext> ctx_;
    std::unique_ptr<sdk::Driver> driver_;
};

std::map<std::string, std::string> python_driver(const std::string& switches = {}) {
    // Generous start and call deadlines: python3 alone takes ~2 s to start on a loaded CI box.
    return {{"command", "python3 " + fixture() + " " + switches},
            {"call_timeout", "2s"},
            {"start_timeout", "15s"},
            {"kill_grace", "200ms"},
            {"restart_backoff", "50ms"},
            {"response_timeout_ms", "300"}};
}

std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    }
}

/// The failure of a child (as opposed to a device or link fault): a plain driver error.
bool is_driver_error(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const sdk::TransportError&) {
        return false;
    } catch (const sdk::ProtocolError&) {
        return false;
    } catch (const sdk::ConfigError&) {
        return false;
    } catch (const std::runtime_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

bool gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

TEST_CASE("exec driver: open, identify and invoke go through the daemon's link") {
    Rig rig(python_driver());
    rig.open();
    auto id = run(rig.ioc(), [&]() -> sdk::Task<sdk::Identity> {
        sdk::Identity i = co_await rig.driver().identify();
        co_return i;
    });
    CHECK(id.manufacturer == "CERTLAB");
    CHECK(id.model == "CERTLAB-SIM-80");
    CHECK(id.serial_number == "SIM0001");
    CHECK(id.firmware == "1.00");
    CHECK(id.extra.at("exec_driver") == sdk::Value(std::string("escpos-py")));
    CHECK(id.extra.at("exec_driver_version") == sdk::Value(std::string("1.0")));

    sdk::Transcript transcript;
    rig.stream().set_transcript(&transcript);
    auto v = rig.invoke("printer.status");
    rig.stream().set_transcript(nullptr);
    CHECK(v.at("online") == sdk::Value(true));
    CHECK(v.at("paper_out") == sdk::Value(false));
    CHECK(v.at("latency").unit == "ms");
    // The bytes the child asked for went out on the transport, tapped into the transcript.
    REQUIRE(!transcript.entries().empty());
    CHECK(transcript.entries().front().dir == sdk::TranscriptEntry::Dir::tx);
    CHECK(transcript.entries().front().bytes == std::string("\x10\x04\x01", 3));

    CHECK(rig.invoke("cash_drawer.open").at("accepted") == sdk::Value(true));
    CHECK(rig.invoke("cash_drawer.status").at("open") == sdk::Value(true));
    CHECK(rig.child_pids().size() == 1);
}

TEST_CASE("exec driver: the child's error kinds become fail, timeout and error outcomes") {
    SUBCASE("garbage from the printer: the child says fail -> ProtocolError") {
        Rig rig(python_driver(), {"--garbage"});
        rig.open();
        auto e = rig.failing_invoke("printer.status");
        REQUIRE(e);
        CHECK_THROWS_AS(std::rethrow_exception(e), sdk::ProtocolError);
        CHECK(message_of(e).find("DLE EOT 1 answered 0xFF") != std::string::npos);
    }
    SUBCASE("a silent printer: the child says timeout -> TransportError timeout") {
        Rig rig(python_driver(), {"--stall"});
        rig.open();
        auto e = rig.failing_invoke("printer.status");
        REQUIRE(e);
        try {
            std::rethrow_exception(e);
        } catch (const sdk::TransportError& t) {
            CHECK(t.kind() == sdk::TransportError::Kind::timeout);
        } catch (...) {
            FAIL("expected a TransportError, got: ", message_of(e));
        }
        CHECK(rig.child_pids().size() == 1);  // a device fault is not a child fault: no restart
    }
    SUBCASE("an action the child does not implement -> ConfigError") {
        Rig rig(python_driver());
        rig.open();
        auto e = rig.failing_invoke("printer.cut");
        REQUIRE(e);
        CHECK_THROWS_AS(std::rethrow_exception(e), sdk::ConfigError);
        CHECK(message_of(e) == "exec driver escpos-py 1.0 does not implement printer.cut");
    }
}

TEST_CASE("exec driver: a child that crashes, hangs or babbles fails the call and is restarted") {
    TempDir dir;
    const auto marker = " --fault-marker " + (dir / "marker").string();
    struct Case {
        const char* fault;
        const char* reason;
        const char* end;
    };
    const Case cases[] = {
        {"--crash-on 1", "exec driver crashed (signal 11)", "killed by signal 11 (SIGSEGV)"},
        {"--hang-on 1", "exec driver did not answer within 2 s", "killed by signal 9 (SIGKILL)"},
        {"--garbage-on 1", "exec driver wrote malformed JSON: parse error at line 1, column 2", "killed by signal 15"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.fault);
        std::filesystem::remove(dir / "marker");
        Rig rig(python_driver(std::string(c.fault) + marker));
        rig.open();
        const auto t0 = test::Clock::now();
        auto e = rig.failing_invoke("printer.status");
        const auto took = test::elapsed_since(t0);
        REQUIRE(e);
        CHECK(is_driver_error(e));
        CHECK(message_of(e).find(c.reason) != std::string::npos);
        CHECK(took < 5s);  // 2 s call deadline + 200 ms grace at most
        INFO(rig.log_text());
        CHECK(rig.log_text().find(c.end) != std::string::npos);
        auto first = rig.child_pids();
        REQUIRE(first.size() == 1);
        CHECK(gone(first[0]));  // killed and reaped

        // The next call starts a new child (opened again) and works.
        CHECK(rig.invoke("printer.status").at("online") == sdk::Value(true));
        auto pids = rig.child_pids();
        REQUIRE(pids.size() == 2);
        CHECK(pids[1] != pids[0]);
    }
}

TEST_CASE("exec driver: a child that died while idle is replaced before the next call, which passes") {
    Rig rig(python_driver());
    rig.open();
    auto pids = rig.child_pids();
    REQUIRE(pids.size() == 1);
    REQUIRE(::kill(pids[0], SIGKILL) == 0);
    std::this_thread::sleep_for(200ms);  // SIGKILL is immediate; the driver has not noticed yet
    CHECK(rig.invoke("printer.status").at("online") == sdk::Value(true));
    CHECK(gone(pids[0]));
    CHECK(rig.child_pids().size() == 2);
    CHECK(rig.log_text().find("killed by signal 9 (SIGKILL) while no call was in flight") != std::string::npos);
}

TEST_CASE("exec driver: restarts back off, doubling up to the maximum") {
    auto settings = python_driver("--crash-on 1");  // every child crashes on its first call
    settings["restart_backoff"] = "300ms";
    settings["restart_backoff_max"] = "500ms";
    Rig rig(settings);
    rig.open();
    CHECK(rig.failing_invoke("printer.status"));
    // Restart 1 waits 300 ms; its open replays fine (which does not reset the count),
    // then it crashes too.
    auto t0 = test::Clock::now();
    CHECK(rig.failing_invoke("printer.status"));
    CHECK(test::elapsed_since(t0) >= 300ms);
    // Restart 2 waits 600 ms, capped at 500 ms.
    t0 = test::Clock::now();
    CHECK(rig.failing_invoke("printer.status"));
    CHECK(test::elapsed_since(t0) >= 500ms);
    auto log = rig.log_text();
    INFO(log);
    auto first = log.find("restart in 300 ms");
    REQUIRE(first != std::string::npos);
    auto second = log.find("restart in 500 ms", first);
    REQUIRE(second != std::string::npos);
    CHECK(log.find("restart in 500 ms", second + 1) != std::string::npos);  // capped, not 1 s
    CHECK(log.find("exec driver restarts in") != std::string::npos);
    CHECK(rig.child_pids().size() == 3);
}

TEST_CASE("exec driver: an answered action resets the restart delay") {
    auto settings = python_driver("--crash-on 2");  // every child answers once, then crashes
    settings["restart_backoff"] = "300ms";
    settings["restart_backoff_max"] = "5s";
    Rig rig(settings);
    rig.open();
    for (int round = 0; round < 2; ++round) {
        CHECK(rig.invoke("printer.status").at("online") == sdk::Value(true));
        CHECK(rig.failing_invoke("printer.status"));
    }
    auto log = rig.log_text();
    INFO(log);
    auto first = log.find("restart in 300 ms");
    REQUIRE(first != std::string::npos);
    CHECK(log.find("restart in 300 ms", first + 1) != std::string::npos);  // not 600 ms
    CHECK(log.find("restart in 600 ms") == std::string::npos);
}

TEST_CASE("exec driver: a call cancelled by the step timeout kills the child, and the next call starts another") {
    using namespace boost::asio::experimental::awaitable_operators;
    TempDir dir;
    auto settings = python_driver("--hang-on 1 --fault-marker " + (dir / "marker").string());
    settings["call_timeout"] = "10s";  // the step's timer is the one that fires
    Rig rig(settings);
    rig.open();
    const auto* status = sdk::find_action("printer.status");
    auto timed_out = run(rig.ioc(), [&]() -> sdk::Task<bool> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 300ms);
        auto call = [&]() -> sdk::Task<bool> {
            co_await rig.driver().invoke(*status, {});
            co_return true;
        };
        auto either = call() || timer.async_wait(boost::asio::use_awaitable);
        auto first = co_await std::move(either);
        co_return first.index() == 1;
    });
    CHECK(timed_out);
    auto pids = rig.child_pids();
    REQUIRE(pids.size() == 1);
    CHECK(gone(pids[0]));  // killed and reaped at once, not left hanging
    CHECK(rig.invoke("printer.status").at("online") == sdk::Value(true));
    CHECK(rig.child_pids().size() == 2);
    CHECK(rig.log_text().find("killed by signal 9 (SIGKILL) while no call was in flight") != std::string::npos);
}

TEST_CASE("exec driver: children that cannot start are reported and reaped") {
    TempDir dir;
    auto script = [&](const std::string& name, const std::string& body) {
        auto p = dir / name;
        test::write_file(p, body);
        return "python3 " + p.string();
    };
    const std::string hello = R"(import json, sys, time
def send(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
)";
    struct Case {
        std::string command;
        std::string reason;
    };
    const std::vector<Case> cases{
        {"/nonexistent/driver --x", "exec driver could not start: cannot start /nonexistent/driver: No such file or directory"},
        {script("exit3.py", "import sys\nsys.stderr.write('no device here\\n')\nsys.exit(3)\n"),
         "exec driver exited with status 3 before saying hello"},
        {script("silent.py", "import time\ntime.sleep(30)\n"), "exec driver did not say hello within 300 ms"},
        {script("v2.py", hello + R"(send({"type":"hello","protocol":2,"driver":"d","version":"1","actions":[]})
time.sleep(30)
)"),
         "exec driver speaks protocol 2, certlabd speaks 1"},
        {script("unknown.py", hello + R"(send({"type":"hello","protocol":1,"driver":"d","version":"1","actions":["printer.fly"]})
time.sleep(30)
)"),
         "exec driver offers unknown action 'printer.fly'"},
        {script("result.py", hello + R"(send({"type":"result","id":1})
time.sleep(30)
)"),
         "exec driver broke the protocol: its first message must be hello"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.command);
        auto settings = python_driver();
        settings["command"] = c.command;
        if (c.command.find("silent.py") != std::string::npos) settings["start_timeout"] = "300ms";
        Rig rig(settings);
        std::string what;
        try {
            rig.open();
        } catch (const std::exception& e) {
            what = e.what();
        }
        CHECK(what == c.reason);
    }
}

TEST_CASE("exec driver: stderr reaches the device log, and close lets the child exit") {
    TempDir dir;
    auto path = dir / "chatty.py";
    test::write_file(path, R"(import json, sys
sys.stderr.write("starting up\n"); sys.stderr.flush()
sys.stdout.write(json.dumps({"type":"hello","protocol":1,"driver":"chatty","version":"0","actions":[]}) + "\n")
sys.stdout.flush()
for line in sys.stdin:
    m = json.loads(line)
    sys.stdout.write(json.dumps({"type":"log","level":"warn","message":"opening " + m["device"]["address"]}) + "\n")
    sys.stdout.write(json.dumps({"type":"result","id":m["id"]}) + "\n")
    sys.stdout.flush()
sys.stderr.write("end of input, bye\n")
)");
    auto settings = python_driver();
    settings["command"] = "python3 " + path.string();
    int pid = 0;
    {
        Rig rig(settings);
        rig.open();
        auto pids = rig.child_pids();
        REQUIRE(pids.size() == 1);
        pid = pids[0];
        rig.driver().close();
        auto until = test::Clock::now() + 3s;
        while (!gone(pid) && test::Clock::now() < until) rig.ioc().run_one_for(20ms);
        CHECK(gone(pid));
        auto log = rig.log_text();
        INFO(log);
        CHECK(log.find("stderr: starting up") != std::string::npos);
        CHECK(log.find("chatty: opening tcp:127.0.0.1:") != std::string::npos);
        CHECK(log.find("stderr: end of input, bye") != std::string::npos);
        CHECK(log.find("stopped: exited with status 0") != std::string::npos);
    }
}

TEST_CASE("exec driver: settings are checked at creation, with their location") {
    auto error = [](std::map<std::string, std::string> settings) {
        try {
            Rig rig(std::move(settings));
        } catch (const sdk::ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("(accepted)");
    };
    CHECK(error({}).find("command: the exec driver needs the program to run") == 0);
    CHECK(error({{"command", "python3 'x.py"}}) == "profile.yaml:9:3: command: unterminated ' quote");
    CHECK(error({{"command", "x"}, {"call_timeout", "0s"}}) == "profile.yaml:9:3: call_timeout: must be more than 0");
    CHECK(error({{"command", "x"}, {"kill_grace", "soon"}}).find("kill_grace: expected a duration") !=
          std::string::npos);
}
