// Issue 7, acceptance 7: the API under load while the station works. Starts 16
// simulated printers (TCP) and certlabd with one device each, keeps a soak running on
// every device, and loads GET /v1/devices and GET /v1/runs/{id} with wrk at a paced
// rate (wrk's Lua `delay()`: each connection waits between requests, so N connections
// at D ms make about N*1000/D requests/s). Prints wrk's requests/s and latency
// percentiles, and the runs' own pace (steps/s and their step duration p50/p99) in a
// quiet window before the load and in the loaded window, so "the runs unaffected" is
// a measured statement.
//
//   api [--devices 16] [--rate 1000] [--seconds 20] [--connections 16]
//
// wrk (Debian package wrk) must be at /usr/bin/wrk. Note: wrk measures latency from when it
// sends; with pacing, a stalled server delays later requests rather than counting
// them late (coordinated omission), so read p99 together with the achieved rate.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
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
    int devices = 16;
    int rate = 1000;         ///< [requests/s] aimed at
    int seconds = 20;        ///< of load, and of the quiet window before it
    int connections = 16;
};

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "api bench: %s\n", why.c_str());
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const int v = std::atoi(argv[i + 1]);
        if (a == "--devices") o.devices = v;
        else if (a == "--rate") o.rate = v;
        else if (a == "--seconds") o.seconds = v;
        else if (a == "--connections") o.connections = v;
        else fail("unknown option " + a + " (--devices N --rate RPS --seconds S --connections C)");
    }
    if (o.devices < 1 || o.rate < 1 || o.seconds < 2 || o.connections < 1) fail("every option must be positive");
    return o;
}

nlohmann::json get(std::uint16_t port, const std::string& target) {
    auto r = test::http_get(port, target);
    if (r.status != 200) fail("GET " + target + " -> " + std::to_string(r.status) + " " + r.body);
    return nlohmann::json::parse(r.body);
}

/// The runs' pace in a window: steps committed and their durations, from the API.
struct Pace {
    std::int64_t steps = 0;
    double seconds = 0;
    double p50_ms = 0, p99_ms = 0;
};

std::int64_t total_steps(std::uint16_t port, const std::vector<std::int64_t>& runs) {
    std::int64_t n = 0;
    for (auto id : runs) n += get(port, "/v1/runs/" + std::to_string(id) + "?steps=0")["step_count"].get<std::int64_t>();
    return n;
}

/// Durations of the steps each run committed after `from_seq`, up to now.
std::vector<double> step_ms(std::uint16_t port, const std::vector<std::int64_t>& runs,
                            const std::vector<std::int64_t>& from_seq, std::vector<std::int64_t>& to_seq) {
    std::vector<double> out;
    to_seq.assign(runs.size(), 0);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        to_seq[i] = from_seq[i];
        for (;;) {  // page on with next_after until a page comes back empty
            auto doc = get(port, "/v1/runs/" + std::to_string(runs[i]) + "/steps?after=" + std::to_string(to_seq[i]) +
                                     "&limit=1000");
            if (doc["steps"].empty()) break;
            for (const auto& s : doc["steps"]) out.push_back(s["duration_us"].get<double>() / 1000.0);
            to_seq[i] = doc["next_after"].get<std::int64_t>();
        }
    }
    return out;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

Pace measure(std::uint16_t port, const std::vector<std::int64_t>& runs, std::vector<std::int64_t>& seq,
             const std::function<void()>& during) {
    const auto t0 = Clock::now();
    const auto s0 = total_steps(port, runs);
    during();
    const auto s1 = total_steps(port, runs);
    Pace p;
    p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    p.steps = s1 - s0;
    std::vector<std::int64_t> next;
    auto ms = step_ms(port, runs, seq, next);
    seq = next;
    p.p50_ms = percentile(ms, 0.50);
    p.p99_ms = percentile(ms, 0.99);
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    const auto opt = parse(argc, argv);
    // Debian's wrk; test::Process takes a path, not a name to look up.
    const std::string wrk = "/usr/bin/wrk";
    if (!std::filesystem::exists(wrk)) fail("wrk is not installed (apt-get install wrk)");
    test::TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    // A long soak per device: status and a short print, paced like a real bench.
    test::write_file(dir / "suites" / "api-bench.yaml",
                     "suite: api-bench\ntitle: API benchmark load\nrequires: [printer]\nscenarios:\n"
                     "  - id: LOAD\n    title: status and print, until stopped\n    iterations: 1000000\n"
                     "    interval: 20ms\n    steps:\n"
                     "      - call: printer.status\n        expect: { online: true }\n"
                     "      - call: printer.print\n        args: { lines: [\"certlab api bench\"] }\n"
                     "        expect: { accepted: true }\n");
    std::vector<test::Process> sims;
    std::string devices;
    for (int i = 0; i < opt.devices; ++i) {
        auto sim = test::Process::start({test::bin("certlab-sim").string(), "printer", "--tcp", "0"});
        auto line = sim.read_line(5s);
        if (!line || line->rfind("tcp ", 0) != 0) fail("certlab-sim did not report its port");
        devices += "  - id: printer-" + std::to_string(i + 1) + "\n    profile: escpos-generic\n    address: tcp:" +
                   line->substr(4) + "\n";
        sims.push_back(std::move(sim));
    }
    test::write_file(dir / "station.yaml", "station:\n  id: api-bench\nstore:\n  path: " + (dir / "s.db").string() +
                                               "\n  sync: normal\nprofiles: " +
                                               test::source("lab-config/devices").string() +
                                               "\nsuites: " + (dir / "suites").string() + "\ndevices:\n" + devices);
    auto daemon = test::Process::start({test::bin("certlabd").string(), "--config", (dir / "station.yaml").string(),
                                        "--api-port", "0", "--port-file", (dir / "port").string()},
                                       dir / "certlabd.log");
    if (!test::wait_until([&] { return std::filesystem::exists(dir / "port"); }, 10s)) fail("certlabd did not start");
    const auto port = static_cast<std::uint16_t>(std::stoi(test::read_file(dir / "port")));
    if (!test::wait_until(
            [&] {
                auto list = get(port, "/v1/devices")["devices"];
                return std::all_of(list.begin(), list.end(), [](const auto& d) { return d["state"] == "ready"; });
            },
            20s))
        fail("the printers did not all become ready");

    std::vector<std::int64_t> runs;
    for (int i = 0; i < opt.devices; ++i) {
        auto r = test::http("POST", port, "/v1/runs",
                            R"({"device": "printer-)" + std::to_string(i + 1) + R"(", "suite": "api-bench"})");
        if (r.status != 202) fail("run refused: " + r.body);
        runs.push_back(nlohmann::json::parse(r.body)["id"].get<std::int64_t>());
    }
    std::this_thread::sleep_for(2s);  // every run under way

    // wrk: half the requests to /v1/devices, half to a run's document, paced. A
    // connection waits `delay` after each answer, so it makes 1000 / (delay + latency)
    // requests/s: the delay is 1 ms short of connections * 1000 / rate, making up for
    // a typical latency, so the aimed rate is reached and the achieved one printed.
    const int delay_ms = std::max(1, opt.connections * 1000 / opt.rate - 1);
    std::string lua = "local paths = {\"/v1/devices\"";
    for (auto id : runs) lua += ", \"/v1/runs/" + std::to_string(id) + "\", \"/v1/devices\"";
    lua += "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n"
           "  return wrk.format(\"GET\", paths[i])\nend\n"
           "delay = function() return " + std::to_string(delay_ms) + " end\n"
           "done = function(summary, latency, requests)\n"
           "  io.write(string.format(\"RESULT requests=%d errors=%d seconds=%.3f p50_us=%d p90_us=%d p99_us=%d max_us=%d\\n\",\n"
           "    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +\n"
           "    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,\n"
           "    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))\nend\n";
    test::write_file(dir / "paced.lua", lua);

    const std::vector<std::int64_t> from_start(runs.size(), 0);
    std::vector<std::int64_t> seq;
    (void)step_ms(port, runs, from_start, seq);  // the windows start at the steps so far
    const auto quiet = measure(port, runs, seq, [&] { std::this_thread::sleep_for(std::chrono::seconds(opt.seconds)); });
    std::string wrk_out;
    const auto loaded = measure(port, runs, seq, [&] {
        // One wrk thread is plenty for this rate, and leaves the two cores to the station.
        auto r = test::run({wrk, "-t", "1", "-c", std::to_string(opt.connections), "-d",
                            std::to_string(opt.seconds) + "s", "--timeout", "2s", "-s", (dir / "paced.lua").string(),
                            "http://127.0.0.1:" + std::to_string(port)},
                           std::chrono::seconds(opt.seconds + 30));
        wrk_out = r.out;
    });
    if (!daemon.running()) fail("certlabd died under load");
    auto at = wrk_out.find("RESULT ");
    if (at == std::string::npos) fail("wrk printed no result:\n" + wrk_out);
    long requests = 0, errors = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
    double secs = 0;
    std::sscanf(wrk_out.c_str() + at, "RESULT requests=%ld errors=%ld seconds=%lf p50_us=%ld p90_us=%ld p99_us=%ld max_us=%ld",
                &requests, &errors, &secs, &p50, &p90, &p99, &max);

    std::printf("api bench: %d simulated printers, each running a soak; wrk %d connections paced at %d ms "
                "(aim %d req/s) for %d s on /v1/devices and /v1/runs/{id}\n",
                opt.devices, opt.connections, delay_ms, opt.rate, opt.seconds);
    std::printf("  requests/s      %8.0f   (%ld requests, %ld errors)\n", static_cast<double>(requests) / secs, requests,
                errors);
    std::printf("  latency         p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms\n", p50 / 1000.0, p90 / 1000.0,
                p99 / 1000.0, max / 1000.0);
    std::printf("  runs, quiet     %8.0f steps/s   step p50 %.2f ms  p99 %.2f ms\n",
                static_cast<double>(quiet.steps) / quiet.seconds, quiet.p50_ms, quiet.p99_ms);
    std::printf("  runs, loaded    %8.0f steps/s   step p50 %.2f ms  p99 %.2f ms\n",
                static_cast<double>(loaded.steps) / loaded.seconds, loaded.p50_ms, loaded.p99_ms);
    std::printf("  goal: p99 < 5 ms at 1000 req/s: %s\n",
                p99 < 5000 && static_cast<double>(requests) / secs >= 0.95 * opt.rate ? "met" : "NOT met");
    for (auto id : runs) (void)test::http("POST", port, "/v1/runs/" + std::to_string(id) + "/abort", "{}");
    return 0;
}
