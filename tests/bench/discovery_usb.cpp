#include "discovery_usb.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/http.hpp"
#include "support/process.hpp"
#include "support/usb_bench.hpp"

namespace certlab::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

/// CPU time a process has used so far [s] (user + system, from /proc).
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    std::size_t pos = line.rfind(')');
    std::vector<std::string> fields;
    std::string cur;
    for (std::size_t i = pos + 2; i <= line.size(); ++i) {
        if (i == line.size() || line[i] == ' ') {
            fields.push_back(cur);
            cur.clear();
        } else {
            cur += line[i];
        }
    }
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    return (std::stod(fields.at(11)) + std::stod(fields.at(12))) / ticks;
}

std::string state_of(std::uint16_t port, const std::string& id) {
    auto r = test::http_get(port, "/v1/devices/" + id);
    if (r.status != 200) return "";
    return nlohmann::json::parse(r.body).value("state", "");
}

/// Polls every 5 ms (finer than the 10 ms of test::wait_until, which would
/// dominate figures of a few ms).
template <typename Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
        if (pred()) return true;
        timespec ts{0, 5'000'000};
        nanosleep(&ts, nullptr);
    }
    return pred();
}

void report(const char* what, const std::vector<double>& v) {
    std::printf("%s (%zu arrivals)\n", what, v.size());
    std::printf("  median %7.1f ms  p99 %7.1f ms  max %7.1f ms\n", percentile(v, 0.5), percentile(v, 0.99),
                percentile(v, 1));
}

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& log) {
    std::fprintf(stderr, "%s\n%s", what.c_str(), test::read_file(log).c_str());
    std::exit(1);
}

}  // namespace

namespace {

/// certlabd under umockdev with `bench`'s testbed, USB discovery and the shipped
/// profiles; returns the process and its API port.
std::pair<std::unique_ptr<test::Process>, std::uint16_t> start_daemon(const test::UsbBench& bench,
                                                                     const test::TempDir& dir,
                                                                     const std::string& reconnect) {
    std::filesystem::create_directories(dir / "suites");
    test::write_file(dir / "station.yaml",
                     "station:\n  id: bench\n  reconnect_interval: " + reconnect + "\n  quarantine_after: 0\nstore:\n  path: " +
                         (dir / "s.db").string() + "\n  sync: normal\nprofiles: " +
                         test::source("lab-config/devices").string() + "\nsuites: " + (dir / "suites").string() +
                         "\nlog:\n  level: warn\ndiscovery:\n  usb:\n    rescan_interval: 2s\n");
    std::unique_ptr<test::Process> d;
    {
        test::UmockdevEnvironment env(bench);
        d = std::make_unique<test::Process>(test::Process::start(
            {test::bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0",
             "--port-file", (dir / "port").string()},
            dir / "certlabd.log"));
    }
    if (!test::wait_until([&] { return std::filesystem::exists(dir / "port"); }, 10s))
        fail("certlabd did not start", dir / "certlabd.log");
    return {std::move(d), static_cast<std::uint16_t>(std::stoi(test::read_file(dir / "port")))};
}

}  // namespace

void usb_arrivals(int n) {
    // New printers, one at a time, each in a port of its own: hotplug -> describe
    // (strings, 1284 id) -> match -> open, claim, ESC @, GS I identification ->
    // ready; then unplugged before the next. One at a time because under umockdev
    // every open device's node polls ready, so each libusb event round reaps every
    // open device: latency would grow with the number plugged in, which real usbfs
    // does not do. (Unplugged ones stay known as lost and are retried every 2 s.)
    std::vector<double> fresh;
    double d_idle = 0, b_idle = 0;
    constexpr int kIdle = 10;
    {
        test::TempDir dir;
        test::UsbBench usb;
        auto [d, port] = start_daemon(usb, dir, "2s");
        for (int i = 1; i <= n; ++i) {
            const auto name = "n" + std::to_string(i);
            const auto id = "escpos-usb-epson-tm-NEW" + std::to_string(i);
            const auto t0 = Clock::now();
            usb.add(name, "port=1-" + std::to_string(i) + " serial=NEW" + std::to_string(i));
            if (!poll_until([&] { return state_of(port, id) == "ready"; }, 10s))
                fail(id + " did not become ready", dir / "certlabd.log");
            fresh.push_back(ms_since(t0));
            if (i > n - kIdle) continue;  // the last ones stay for the idle figure
            usb.remove(name);
            if (!poll_until([&] { return state_of(port, id) == "lost"; }, 10s)) fail(id + " did not go lost", dir / "certlabd.log");
        }
        // Idle cost: printers ready, no transfer in flight (plus lost ones being retried).
        const double d0 = cpu_seconds(d->pid()), b0 = cpu_seconds(usb.pid());
        const auto t_idle = Clock::now();
        std::this_thread::sleep_for(3s);
        const double idle_s = std::chrono::duration<double>(Clock::now() - t_idle).count();
        d_idle = (cpu_seconds(d->pid()) - d0) / idle_s * 100;
        b_idle = (cpu_seconds(usb.pid()) - b0) / idle_s * 100;
        d->signal(SIGTERM);
        d->wait(10s);
    }

    // A known printer back into its port: the same device, lost -> ready. Its
    // supervisor notices on its next retry (every reconnect_interval, 20 ms here).
    std::vector<double> back;
    {
        test::TempDir dir;
        test::UsbBench usb;
        auto [d, port] = start_daemon(usb, dir, "20ms");
        const std::string id = "escpos-usb-epson-tm-BACK";
        for (int i = 0; i < n; ++i) {
            const auto t0 = Clock::now();
            usb.add("p", "port=1-4 serial=BACK");
            if (!poll_until([&] { return state_of(port, id) == "ready"; }, 10s)) fail(id + " did not come back", dir / "certlabd.log");
            back.push_back(ms_since(t0));
            usb.remove("p");
            if (!poll_until([&] { return state_of(port, id) == "lost"; }, 10s)) fail(id + " did not go lost", dir / "certlabd.log");
        }
        d->signal(SIGTERM);
        d->wait(10s);
    }

    report("USB arrival -> ready, new printer (umockdev: hotplug, describe, match, open, identify; API polled every 5 ms)", fresh);
    report("USB re-plug -> ready, known printer (same device back in its port; supervisor retry every 20 ms)", back);
    std::printf("CPU while %d USB printers idle (3 s): certlabd %.1f %% of a core, usb emulator %.1f %%\n", kIdle, d_idle, b_idle);
}

}  // namespace certlab::bench
