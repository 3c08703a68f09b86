// Issue 6, acceptance 5: the uploader against the local record server
// (certlab-record-server, HTTPS, SQLite with synchronous=FULL), with the station's
// store at its shipped durability (sync: full). Two measurements:
//
// 1. Throughput: a soak of --steps status steps runs while the record is down, so
//    every result waits in the outbox; then the record comes up and the time until the
//    outbox is empty gives results uploaded per second (runs, scenario results and
//    steps, each one acknowledged request).
// 2. Latency: a soak paced at --rate steps/s with the record up; for each step, the
//    record's received_at minus the step's commit time (its started_at + duration):
//    the time from a durable step to the record holding it, median and p99.
//
//   upload [--steps 5000] [--rate 100] [--seconds 20]
#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http.hpp"
#include "support/pki.hpp"
#include "support/process.hpp"

using namespace certlab;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct Options {
    int steps = 5000;
    int rate = 100;     ///< [steps/s] of the paced soak
    int seconds = 20;   ///< of the paced soak
};

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "upload bench: %s\n", why.c_str());
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const int v = std::atoi(argv[i + 1]);
        if (a == "--steps") o.steps = v;
        else if (a == "--rate") o.rate = v;
        else if (a == "--seconds") o.seconds = v;
        else fail("unknown option " + a + " (--steps N --rate STEPS_PER_S --seconds S)");
    }
    if (o.steps < 1 || o.rate < 1 || o.seconds < 1) fail("every option must be positive");
    return o;
}

json get(std::uint16_t port, const std::string& target) {
    auto r = test::http_get(port, target);
    if (r.status != 200) fail("GET " + target + " -> " + std::to_string(r.status) + " " + r.body);
    return json::parse(r.body);
}

void post(std::uint16_t port, const std::string& target, const json& body) {
    auto r = test::http("POST", port, target, body.dump());
    if (r.status / 100 != 2) fail("POST " + target + " -> " + std::to_string(r.status) + " " + r.body);
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::int64_t millis(const std::string& rfc3339) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(rfc3339.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms) != 7)
        fail("not a time: " + rfc3339);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

std::uint16_t port_from(test::Process& p, const std::string& prefix) {
    for (int i = 0; i < 4; ++i) {
        auto line = p.read_line(10s);
        if (!line) break;
        if (line->rfind(prefix, 0) == 0) return static_cast<std::uint16_t>(std::stoi(line->substr(prefix.size())));
    }
    fail("no '" + prefix + "' line");
}

}  // namespace

int main(int argc, char** argv) {
    const auto opt = parse(argc, argv);
    test::TempDir dir;
    const auto pki = test::make_pki(dir.path());
    const std::string token = "upload-bench-token";
    test::write_file(dir / "tokens", token + "\n");
    test::write_file(dir / "record-token", token + "\n");
    std::filesystem::permissions(dir / "record-token", std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_write);

    auto record = test::Process::start({test::bin("certlab-record-server").string(), "--tls-cert",
                                        pki.server_cert.string(), "--tls-key", pki.server_key.string(), "--db",
                                        (dir / "record.db").string(), "--token-file", (dir / "tokens").string(),
                                        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"},
                                       dir / "record-server.log");
    const auto admin = port_from(record, "admin on http://127.0.0.1:");
    const auto record_port = port_from(record, "listening on https://127.0.0.1:");

    auto sim = test::Process::start({test::bin("certlab-sim").string(), "printer", "--tcp", "0"});
    auto line = sim.read_line(5s);
    if (!line || line->rfind("tcp ", 0) != 0) fail("certlab-sim did not report its port");
    const std::string address = "tcp:" + line->substr(4);

    std::filesystem::create_directory(dir / "suites");
    const auto interval_ms = std::max(1, 1000 / opt.rate);
    test::write_file(dir / "suites" / "burst.yaml",
                     "suite: burst\ntitle: Upload burst\nrequires: [printer]\nscenarios:\n"
                     "  - id: BURST\n    title: status, back to back\n    iterations: " +
                         std::to_string(opt.steps) + "\n    timeout: 1h\n    steps:\n"
                         "      - call: printer.status\n        expect: { online: true }\n");
    test::write_file(dir / "suites" / "paced.yaml",
                     "suite: paced\ntitle: Upload paced\nrequires: [printer]\nscenarios:\n"
                     "  - id: PACED\n    title: status, paced\n    iterations: " +
                         std::to_string(opt.rate * opt.seconds) + "\n    interval: " + std::to_string(interval_ms) +
                         "ms\n    timeout: 1h\n    steps:\n"
                         "      - call: printer.status\n        expect: { online: true }\n");
    test::write_file(dir / "station.yaml",
                     "station:\n  id: upload-bench\nstore:\n  path: " + (dir / "s.db").string() +
                         "\n  sync: full\napi:\n  bind: 127.0.0.1\n  port: 0\nprofiles: " +
                         test::source("lab-config/devices").string() + "\nsuites: " + (dir / "suites").string() +
                         "\ndevices:\n  - id: p\n    profile: escpos-generic\n    address: " + address +
                         "\nupload:\n  url: https://localhost:" + std::to_string(record_port) + "\n  ca: " +
                         pki.ca.string() + "\n  token_file: " + (dir / "record-token").string() +
                         "\n  backoff: { initial: 20ms, max: 200ms }\n");
    auto daemon = test::Process::start({test::bin("certlabd").string(), "--config", (dir / "station.yaml").string(),
                                        "--port-file", (dir / "api.port").string(), "--log-level", "warn"},
                                       dir / "certlabd.log");
    if (!test::wait_until([&] { return std::filesystem::exists(dir / "api.port"); }, 10s)) fail("certlabd did not start");
    const auto port = static_cast<std::uint16_t>(std::stoi(test::read_file(dir / "api.port")));
    if (!test::wait_until([&] { return get(port, "/v1/devices")["devices"][0]["state"] == "ready"; }, 10s))
        fail("the printer did not come up");

    auto run_suite = [&](const std::string& suite) {
        auto r = test::http("POST", port, "/v1/runs", json{{"device", "p"}, {"suite", suite}}.dump());
        if (r.status != 202) fail("start " + suite + " -> " + r.body);
        const auto id = json::parse(r.body)["id"].get<std::int64_t>();
        if (!test::wait_until([&] { return get(port, "/v1/runs/" + std::to_string(id) + "?steps=0")["run"]["status"] ==
                                           "completed"; },
                              600s))
            fail("run " + std::to_string(id) + " did not complete");
        return id;
    };
    auto pending = [&] { return get(port, "/v1/upload")["pending"].get<std::int64_t>(); };

    // 1. Throughput from a backlog.
    post(admin, "/faults", {{"mode", "down"}});
    const auto t_burst = Clock::now();
    run_suite("burst");
    const double burst_s = std::chrono::duration<double>(Clock::now() - t_burst).count();
    const auto backlog = pending();
    const auto uploaded_before = get(port, "/v1/upload")["uploaded"].get<std::int64_t>();
    post(admin, "/faults", {{"mode", "none"}});
    const auto t0 = Clock::now();
    if (!test::wait_until([&] { return pending() == 0; }, 600s)) fail("the outbox did not drain");
    const double drain_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto sent = get(port, "/v1/upload")["uploaded"].get<std::int64_t>() - uploaded_before;

    // 2. Latency, paced, the record up.
    const auto paced = run_suite("paced");
    if (!test::wait_until([&] { return pending() == 0; }, 120s)) fail("the outbox did not drain after the paced run");
    std::map<std::int64_t, std::int64_t> received;  // seq -> received_at [ms]
    const auto items = get(admin, "/items");
    const std::string prefix = "upload-bench/run/" + std::to_string(paced) + "/step/";
    for (const auto& i : items["items"]) {
        const auto key = i["key"].get<std::string>();
        if (key.rfind(prefix, 0) == 0) received[std::stoll(key.substr(prefix.size()))] = millis(i["received_at"]);
    }
    std::vector<double> latency;
    for (std::int64_t after = 0;;) {
        auto doc = get(port, "/v1/runs/" + std::to_string(paced) + "/steps?after=" + std::to_string(after) + "&limit=1000");
        if (doc["steps"].empty()) break;
        for (const auto& s : doc["steps"]) {
            const auto seq = s["seq"].get<std::int64_t>();
            auto it = received.find(seq);
            if (it == received.end()) fail("step " + std::to_string(seq) + " is not in the record");
            const double committed = static_cast<double>(millis(s["started_at"])) + s["duration_us"].get<double>() / 1000.0;
            latency.push_back(static_cast<double>(it->second) - committed);
        }
        after = doc["next_after"].get<std::int64_t>();
    }

    std::printf("store sync: full; record: certlab-record-server over TLS on loopback (SQLite, synchronous=FULL)\n");
    std::printf("backlog: %d steps committed in %.2f s with the record down; outbox %lld rows\n", opt.steps, burst_s,
                static_cast<long long>(backlog));
    std::printf("throughput: %lld results uploaded in %.2f s = %.0f results/s\n", static_cast<long long>(sent), drain_s,
                static_cast<double>(sent) / drain_s);
    std::printf("latency, %zu steps paced at %d/s, step commit -> record holds it: median %.1f ms, p99 %.1f ms, max %.1f ms\n",
                latency.size(), opt.rate, percentile(latency, 0.5), percentile(latency, 0.99),
                percentile(latency, 1.0));
    daemon.signal(SIGTERM);
    (void)daemon.wait(15s);
    return 0;
}
