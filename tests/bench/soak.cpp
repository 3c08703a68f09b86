// Issue 5, acceptance 5: a long soak through a real certlabd against certlab-sim
// printer on a pty, watching the daemon from outside. It writes a suite with one
// scenario of steps/2 iterations (printer.status, printer.print), starts the simulator
// and certlabd, starts the run, and samples the daemon's /proc/PID/stat (CPU time) and
// /proc/PID/status (VmRSS, VmHWM) while it runs. Prints steps/s, the daemon's CPU time
// per step, and its peak RSS at 10 % and at 100 % of the run. Goal: growth < 5 MB.
//
//   soak [--steps N] [--sync normal|full] [--sample-ms MS] [--keep DIR]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http.hpp"
#include "support/process.hpp"

using namespace certlab;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Options {
    long steps = 100000;
    std::string sync = "normal";  ///< the store's sync mode (station.yaml store.sync)
    int sample_ms = 250;  ///< between samples; each polls the run once (a count over its steps)
    std::string keep;  ///< copy the daemon's log and store here at the end
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "soak: %s\nusage: soak [--steps N (even, >= 20)] [--sync normal|full] [--sample-ms MS] [--keep DIR]\n",
                 why);
    std::exit(2);
}

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "soak: %s\n", why.c_str());
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) usage(("missing value after " + a).c_str());
        const std::string v = argv[++i];
        if (a == "--steps") o.steps = std::atol(v.c_str());
        else if (a == "--sync") o.sync = v;
        else if (a == "--sample-ms") o.sample_ms = std::atoi(v.c_str());
        else if (a == "--keep") o.keep = v;
        else usage(("unknown option " + a).c_str());
    }
    if (o.steps < 20 || o.steps % 2 != 0) usage("--steps must be an even number, at least 20");
    if (o.sync != "normal" && o.sync != "full") usage("--sync is normal or full");
    if (o.sample_ms < 10) usage("--sample-ms must be at least 10");
    return o;
}

/// What /proc says about a process at one moment.
struct Sample {
    Clock::time_point at;
    double cpu_s = 0;       ///< utime + stime [s]
    long rss_kb = 0;        ///< VmRSS [kB]
    long hwm_kb = 0;        ///< VmHWM, peak RSS so far [kB]
    std::int64_t steps = 0; ///< steps the run had committed
};

double cpu_seconds(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(f)), {});
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int n = 3; n <= 15 && rest >> field; ++n) {
        if (n == 14) utime = std::stoul(field);
        if (n == 15) stime = std::stoul(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long status_kb(pid_t pid, const char* key) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
    return -1;
}

Sample sample(pid_t pid, std::int64_t steps) {
    return {Clock::now(), cpu_seconds(pid), status_kb(pid, "VmRSS:"), status_kb(pid, "VmHWM:"), steps};
}

std::string suite_yaml(long steps) {
    return "suite: soak-bench\ntitle: Soak benchmark\nrequires: [printer]\nscenarios:\n"
           "  - id: SOAK-B\n    title: status and a one-line print, many times\n"
           "    iterations: " + std::to_string(steps / 2) + "\n"
           "    steps:\n"
           "      - call: printer.status\n        expect: { online: true }\n"
           "      - call: printer.print\n        args: { lines: [\"certlab soak line\"] }\n"
           "        expect: { accepted: true }\n";
}

std::string station_yaml(const test::TempDir& dir, const std::string& address, const std::string& sync) {
    return "station:\n  id: soak-bench\n"
           "store:\n  path: " + (dir / "s.db").string() + "\n  sync: " + sync + "\n"
           "profiles: " + test::source("lab-config/devices").string() + "\n"
           "suites: " + (dir / "suites").string() + "\n"
           "devices:\n  - id: printer\n    profile: escpos-generic\n    address: " + address + "\n";
}

nlohmann::json get(std::uint16_t port, const std::string& target) {
    auto r = test::http_get(port, target);
    if (r.status != 200) {
        std::fprintf(stderr, "GET %s -> %d %s\n", target.c_str(), r.status, r.body.c_str());
        std::exit(1);
    }
    return nlohmann::json::parse(r.body);
}

double mb(long kb) { return static_cast<double>(kb) / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
    const auto opt = parse(argc, argv);
    test::TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    test::write_file(dir / "suites" / "soak-bench.yaml", suite_yaml(opt.steps));

    auto sim = test::Process::start({test::bin("certlab-sim").string(), "printer", "--pty"});
    auto ready = sim.read_line(5s);
    if (!ready || ready->rfind("pty ", 0) != 0) fail("certlab-sim did not report its pty");
    test::write_file(dir / "station.yaml", station_yaml(dir, "serial:" + ready->substr(4), opt.sync));

    // The daemon as shipped: its default log level (info), no debug logging per step.
    auto daemon = test::Process::start({test::bin("certlabd").string(), "--config", (dir / "station.yaml").string(),
                                        "--api-port", "0", "--port-file", (dir / "port").string()},
                                       dir / "certlabd.log");
    if (!test::wait_until([&] { return std::filesystem::exists(dir / "port"); }, 10s)) fail("certlabd did not start");
    const auto port = static_cast<std::uint16_t>(std::stoi(test::read_file(dir / "port")));
    if (!test::wait_until([&] { return get(port, "/v1/devices/printer")["state"] == "ready"; }, 10s))
        fail("the printer did not become ready");

    const pid_t pid = daemon.pid();
    const auto idle = sample(pid, 0);
    auto started = test::http("POST", port, "/v1/runs", R"({"device": "printer", "suite": "soak-bench"})");
    if (started.status != 202) fail("run refused: " + started.body);
    const auto id = nlohmann::json::parse(started.body)["id"].get<std::int64_t>();
    const auto target = "/v1/runs/" + std::to_string(id) + "?steps=0";
    std::printf("soak: %ld steps (%ld iterations of printer.status + printer.print), store sync=%s, run %lld, "
                "certlabd pid %d\n",
                opt.steps, opt.steps / 2, opt.sync.c_str(), static_cast<long long>(id), static_cast<int>(pid));
    std::fflush(stdout);

    // Poll the run (a small GET every sample; its cost is in the daemon's figures) and
    // /proc until the run ends; keep the first sample at or past 10 % of the steps.
    const auto start = sample(pid, 0);
    std::vector<Sample> tenths{start};  // the first sample at or past each tenth of the steps
    Sample last = start;
    nlohmann::json run;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(opt.sample_ms));
        auto detail = get(port, target);
        run = detail["run"];
        last = sample(pid, detail["step_count"].get<std::int64_t>());
        while (tenths.size() <= 10 && last.steps * 10 >= opt.steps * static_cast<long>(tenths.size()))
            tenths.push_back(last);
        if (run["status"] != "queued" && run["status"] != "running") break;
        if (!daemon.running()) fail("certlabd died during the run");
    }
    if (run["status"] != "completed" || run["outcome"] != "pass" || last.steps != opt.steps) {
        std::fprintf(stderr, "soak did not pass: %s\n", run.dump().c_str());
        return 1;
    }

    const Sample at10 = tenths.at(1);
    // The run's own record times it exactly; the samples see its end up to a sample late.
    const double run_s = run["duration_s"].get<double>();
    const double cpu = last.cpu_s - start.cpu_s;
    const double late_steps = static_cast<double>(last.steps - at10.steps);
    std::printf("  run time            %8.1f s   (started -> ended, the run's record)\n", run_s);
    std::printf("  steps/s             %8.0f\n", static_cast<double>(opt.steps) / run_s);
    std::printf("  daemon CPU          %8.1f s   %6.1f us/step (user+sys; %.1f us/step after 10 %%)\n", cpu,
                cpu / static_cast<double>(opt.steps) * 1e6, (last.cpu_s - at10.cpu_s) / late_steps * 1e6);
    // Whether a step costs more as the run grows (statistics, store size) shows here.
    std::printf("  CPU us/step by tenth");
    for (std::size_t k = 1; k < tenths.size(); ++k)
        std::printf(" %.0f", (tenths[k].cpu_s - tenths[k - 1].cpu_s) /
                                 static_cast<double>(std::max<std::int64_t>(1, tenths[k].steps - tenths[k - 1].steps)) * 1e6);
    std::printf("\n  RSS MB by tenth     ");
    for (std::size_t k = 1; k < tenths.size(); ++k) std::printf(" %.1f", mb(tenths[k].rss_kb));
    std::printf("\n");
    std::printf("  daemon RSS idle     %8.1f MB  (peak %.1f MB, before the run)\n", mb(idle.rss_kb), mb(idle.hwm_kb));
    std::printf("  peak RSS at 10 %%    %8.1f MB  (RSS %.1f MB, at step %lld)\n", mb(at10.hwm_kb), mb(at10.rss_kb),
                static_cast<long long>(at10.steps));
    std::printf("  peak RSS at 100 %%   %8.1f MB  (RSS %.1f MB, at step %lld)\n", mb(last.hwm_kb), mb(last.rss_kb),
                static_cast<long long>(last.steps));
    const double growth = mb(last.hwm_kb - at10.hwm_kb);
    std::printf("  growth 10 %% -> 100 %% %7.2f MB  (goal < 5 MB: %s)\n", growth, growth < 5 ? "met" : "NOT met");
    std::printf("  store               %8.1f MB  (s.db + WAL)\n",
                mb(static_cast<long>((std::filesystem::file_size(dir / "s.db") +
                                      (std::filesystem::exists(dir / "s.db-wal") ? std::filesystem::file_size(dir / "s.db-wal") : 0)) /
                                     1024)));
    if (!opt.keep.empty()) {
        std::filesystem::create_directories(opt.keep);
        for (const char* f : {"certlabd.log", "s.db", "s.db-wal", "station.yaml"})
            if (std::filesystem::exists(dir / f))
                std::filesystem::copy_file(dir / f, std::filesystem::path(opt.keep) / f,
                                           std::filesystem::copy_options::overwrite_existing);
    }
    return 0;
}
