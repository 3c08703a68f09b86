// What does the engine cost per step? Runs N printer.status steps through the
// engine (each step committed to the store) against a pty simulator, then the
// same N exchanges (DLE EOT 1, 2, 4: write one request, read one byte, three
// times) as a bare blocking read/write loop on the same pty, and prints both.
// Then it commits N copies of the engine's last step with nothing else around
// them: the store's share of a step, which with the bare loop is the floor no
// engine can go under while every step is committed before the next one starts.
//
//   step_overhead [N] [--sync normal|full]
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <spdlog/spdlog.h>
#include <string>

#include "config/station_config.hpp"
#include "engine/runner.hpp"
#include "engine/suite.hpp"
#include "record/store.hpp"
#include "sdk/registry.hpp"
#include "station/device.hpp"
#include "support/process.hpp"

using namespace certlab;
using Clock = std::chrono::steady_clock;

namespace {

double engine_run(const std::string& pty, int n, record::Store::Sync sync, const std::filesystem::path& db,
                  record::StepResult* last = nullptr) {
    boost::asio::io_context io(1);
    auto profile = config::load_profile(test::source("lab-config/devices/escpos-generic.yaml"));
    config::DeviceConfig dc;
    dc.id = "bench";
    dc.profile = profile.id;
    dc.address = "serial:" + pty;
    station::Device device(io.get_executor(), dc, profile, *sdk::Registry::instance().find(profile.driver));
    auto suite = engine::parse_suite("suite: bench\ntitle: Bench\nrequires: [printer]\nscenarios:\n"
                                     "  - id: B-1\n    title: status\n    iterations: " + std::to_string(n) +
                                         "\n    steps:\n      - call: printer.status\n"
                                         "        expect: { online: true }\n",
                                     "bench.yaml");
    auto store = record::Store::open(db, {sync});
    record::Run run;
    run.device_id = "bench";
    run.suite_id = suite.id;
    run.started_at = std::chrono::system_clock::now();
    store->begin_run(run);
    engine::RunControl control;
    engine::Runner runner(*store, device, suite, run, control);

    auto up = boost::asio::co_spawn(io, device.bring_up(), boost::asio::use_future);
    io.run();
    up.get();
    io.restart();
    // Timed inside the coroutine: io.run() itself may return later, when the
    // transport's last lazy deadline timer wait ends.
    double elapsed = 0;
    auto timed = [&]() -> boost::asio::awaitable<record::Outcome> {
        const auto t0 = Clock::now();
        const auto result = co_await runner.run();
        elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        device.close();
        co_return result;
    };
    auto done = boost::asio::co_spawn(io, timed(), boost::asio::use_future);
    io.run();
    auto outcome = done.get();
    if (outcome != record::Outcome::pass || store->step_count(run.id) != n) {
        std::fprintf(stderr, "engine run did not pass: %s, %lld steps\n", std::string(record::to_string(outcome)).c_str(),
                     static_cast<long long>(store->step_count(run.id)));
        std::exit(1);
    }
    if (last) *last = store->steps(run.id, n - 1, 1).at(0);
    return elapsed / n;
}

/// Seconds per Store::commit_step of `step` (a copy per seq), N in a row.
double commit_only(const std::filesystem::path& db, record::Store::Sync sync, const record::StepResult& step, int n) {
    auto store = record::Store::open(db, {sync});
    record::Run run;
    run.device_id = "bench";
    run.suite_id = "bench";
    run.started_at = std::chrono::system_clock::now();
    store->begin_run(run);
    record::ScenarioResult sc;
    sc.run_id = run.id;
    sc.scenario_id = "B-1";
    sc.started_at = run.started_at;
    store->begin_scenario(sc);
    auto copy = step;
    copy.run_id = run.id;
    copy.scenario_result_id = sc.id;
    const auto t0 = Clock::now();
    for (int i = 1; i <= n; ++i) {
        copy.id = 0;
        copy.seq = i;
        store->commit_step(copy);
    }
    return std::chrono::duration<double>(Clock::now() - t0).count() / n;
}

double bare_run(const std::string& pty, int n) {
    int fd = ::open(pty.c_str(), O_RDWR | O_NOCTTY);
    if (fd < 0) {
        std::perror("open pty");
        std::exit(1);
    }
    termios t{};
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    tcsetattr(fd, TCSANOW, &t);
    tcflush(fd, TCIOFLUSH);
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        for (unsigned char kind : {1, 2, 4}) {
            unsigned char req[3] = {0x10, 0x04, kind};
            if (::write(fd, req, 3) != 3) std::exit(1);
            unsigned char b;
            if (::read(fd, &b, 1) != 1) std::exit(1);
        }
    }
    auto elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    ::close(fd);
    return elapsed / n;
}

}  // namespace

int main(int argc, char** argv) {
    int n = 2000;
    std::string sync_name = "both";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--sync") && i + 1 < argc) sync_name = argv[++i];
        else n = std::atoi(argv[i]);
    }
    spdlog::set_level(spdlog::level::warn);
    test::TempDir dir;
    auto sim = test::Process::start({test::bin("certlab-sim").string(), "printer", "--pty"});
    auto line = sim.read_line(std::chrono::seconds(5));
    if (!line || line->rfind("pty ", 0) != 0) return 1;
    auto pty = line->substr(4);

    std::printf("step_overhead: %d printer.status steps (3 DLE EOT exchanges each) on %s\n", n, pty.c_str());
    double bare = bare_run(pty, n);  // also warms the simulator
    bare = bare_run(pty, n);
    std::printf("  bare read/write loop          %8.1f us/step\n", bare * 1e6);
    // A store on tmpfs first: engine and SQLite cost without the disk.
    auto shm = std::filesystem::path("/dev/shm") / ("certlab-bench-" + std::to_string(getpid()) + ".db");
    double mem = engine_run(pty, n, record::Store::Sync::normal, shm);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(shm.string() + suffix);
    std::printf("  engine, store on tmpfs         %8.1f us/step   ratio %.2f  (no disk: engine + SQLite CPU)\n",
                mem * 1e6, mem / bare);
    for (auto [name, sync] : {std::pair{"normal", record::Store::Sync::normal}, std::pair{"full", record::Store::Sync::full}}) {
        if (sync_name != "both" && sync_name != name) continue;
        record::StepResult last;
        double eng = engine_run(pty, n, sync, dir / (std::string("bench-") + name + ".db"), &last);
        std::printf("  engine, store sync=%-6s     %8.1f us/step   ratio %.2f\n", name, eng * 1e6, eng / bare);
        double commit = commit_only(dir / (std::string("commit-") + name + ".db"), sync, last, n);
        std::printf("    of which the commit alone   %8.1f us/step   floor bare + commit: ratio %.2f\n", commit * 1e6,
                    (bare + commit) / bare);
    }
    return 0;
}
