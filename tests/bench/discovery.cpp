// Discovery figures: enumerate-and-match of 200 serial resources, matching alone,
// pty appearance -> device ready through a running certlabd, and USB arrival ->
// ready under umockdev (discovery_usb.cpp).
//
//   discovery [arrivals]
#include <pty.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "inventory/matcher.hpp"
#include "discovery_usb.hpp"
#include "inventory/serial_watcher.hpp"
#include "support/http.hpp"
#include "support/process.hpp"

using namespace certlab;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

/// 50 profiles: 49 keyed on distinct serial paths that never exist, one on the glob.
std::vector<inventory::Matcher::Profile> profiles(const std::string& dir) {
    std::vector<inventory::Matcher::Profile> out;
    for (int i = 0; i < 49; ++i) {
        inventory::MatchSpec s;
        s.all.push_back({"kind", inventory::MatchCondition::Op::exact, "serial", ""});
        s.all.push_back({"address", inventory::MatchCondition::Op::glob, "serial:/nonexistent/" + std::to_string(i) + "-*", ""});
        out.emplace_back("p" + std::to_string(i), s);
    }
    inventory::MatchSpec s;
    s.all.push_back({"kind", inventory::MatchCondition::Op::exact, "serial", ""});
    s.all.push_back({"address", inventory::MatchCondition::Op::glob, "serial:" + dir + "/tty-*", ""});
    out.emplace_back("bench", s);
    return out;
}

void enumerate_and_match() {
    test::TempDir dir;
    std::vector<std::pair<int, int>> ptys;
    for (int i = 0; i < 200; ++i) {
        int m = -1, s = -1;
        if (openpty(&m, &s, nullptr, nullptr, nullptr) != 0) {
            std::perror("openpty");
            std::exit(1);
        }
        ptys.emplace_back(m, s);
        std::filesystem::create_symlink(ttyname(s), dir / ("tty-" + std::to_string(i)));
    }
    inventory::Matcher matcher(profiles(dir.path().string()));
    inventory::SerialWatchOptions opts;
    opts.enumerate = false;
    opts.globs = {(dir / "tty-*").string()};
    std::vector<double> scan_ms, match_ms;
    for (int rep = 0; rep < 20; ++rep) {
        auto t0 = Clock::now();
        auto found = inventory::scan_serial_ports(opts);
        scan_ms.push_back(ms_since(t0));
        auto t1 = Clock::now();
        int matched = 0;
        for (const auto& r : found) matched += !matcher.match(r).profile.empty();
        match_ms.push_back(ms_since(t1));
        if (found.size() != 200 || matched != 200) {
            std::fprintf(stderr, "expected 200 found and matched, got %zu / %d\n", found.size(), matched);
            std::exit(1);
        }
    }
    std::printf("200 serial resources, 50 profiles (20 repetitions)\n");
    std::printf("  enumerate (glob + stat)     median %7.2f ms  max %7.2f ms\n", percentile(scan_ms, 0.5), percentile(scan_ms, 1));
    std::printf("  match all 200               median %7.2f ms  max %7.2f ms\n", percentile(match_ms, 0.5), percentile(match_ms, 1));
    for (auto [m, s] : ptys) {
        close(m);
        close(s);
    }
}

bool device_ready(std::uint16_t port) {
    auto r = test::http_get(port, "/v1/devices");
    if (r.status != 200) return false;
    auto j = nlohmann::json::parse(r.body);
    for (const auto& d : j["devices"])
        if (d["state"] == "ready") return true;
    return false;
}

void pty_arrivals(int n) {
    test::TempDir dir;
    std::filesystem::create_directory(dir / "profiles");
    test::write_file(dir / "profiles" / "bench.yaml",
                     "profile: bench\ndriver: escpos\nmatch:\n  kind: serial\n  address: \"serial:" +
                         (dir / "tty-*").string() + "\"\n");
    std::filesystem::create_directory(dir / "suites");
    test::write_file(dir / "station.yaml",
                     "station:\n  id: bench\n  reconnect_interval: 20ms\n  quarantine_after: 0\nstore:\n  path: " + (dir / "s.db").string() +
                         "\n  sync: normal\nprofiles: " + (dir / "profiles").string() + "\nsuites: " +
                         (dir / "suites").string() +
                         "\nlog:\n  level: warn\ndiscovery:\n  serial:\n    enumerate: false\n    poll_interval: 20ms\n"
                         "    globs: [\"" + (dir / "tty-*").string() + "\"]\n");
    // Quarantine off: this bench plugs the same device in and out on purpose.
    auto d = test::Process::start({test::bin("certlabd").string(), "--config", (dir / "station.yaml").string(),
                                   "--api-port", "0", "--port-file", (dir / "port").string()},
                                  dir / "certlabd.log");
    if (!test::wait_until([&] { return std::filesystem::exists(dir / "port"); }, 10s)) std::exit(1);
    auto port = static_cast<std::uint16_t>(std::stoi(test::read_file(dir / "port")));
    std::vector<double> latency;
    for (int i = 0; i < n; ++i) {
        auto link = dir / "tty-printer";
        std::filesystem::remove(link);
        auto t0 = Clock::now();
        auto sim = test::Process::start({test::bin("certlab-sim").string(), "printer", "--pty", "--link", link.string()});
        if (!sim.read_line(5s)) std::exit(1);
        if (!test::wait_until([&] { return device_ready(port); }, 10s)) {
            std::fprintf(stderr, "device did not become ready\n%s", test::read_file(dir / "certlabd.log").c_str());
            std::exit(1);
        }
        latency.push_back(ms_since(t0));
        sim.signal(SIGTERM);
        sim.wait(5s);
        test::wait_until([&] { return !device_ready(port); }, 10s);
    }
    std::printf("pty appearance -> device ready (%d arrivals; serial poll 20 ms, API polled every 10 ms)\n", n);
    std::printf("  median %7.1f ms  p99 %7.1f ms  max %7.1f ms\n", percentile(latency, 0.5), percentile(latency, 0.99),
                percentile(latency, 1));
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 50;
    enumerate_and_match();
    pty_arrivals(n);
    certlab::bench::usb_arrivals(n);
    return 0;
}
