#include "harness.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <stdexcept>

namespace certlab::test {

Sim start_printer(Link link, std::vector<std::string> options) {
    std::vector<std::string> argv{bin("certlab-sim").string(), "printer"};
    if (link == Link::pty) argv.push_back("--pty");
    else {
        argv.push_back("--tcp");
        argv.push_back("0");
    }
    argv.insert(argv.end(), options.begin(), options.end());
    Sim sim{Process::start(argv), {}};
    auto line = sim.process.read_line(5s);
    if (!line) throw std::runtime_error("certlab-sim did not report its endpoint");
    if (line->rfind("pty ", 0) == 0) sim.address = "serial:" + line->substr(4);
    else if (line->rfind("tcp ", 0) == 0) sim.address = "tcp:" + line->substr(4);
    else throw std::runtime_error("unexpected certlab-sim output: " + *line);
    return sim;
}

Sim start_printer_at(const std::filesystem::path& link, std::vector<std::string> options) {
    std::filesystem::remove(link);
    options.insert(options.begin(), {"--link", link.string()});
    auto sim = start_printer(Link::pty, std::move(options));
    sim.address = "serial:" + link.string();
    return sim;
}

std::string station_yaml(const std::vector<DeviceDecl>& devices, const std::filesystem::path& store,
                         const std::filesystem::path& suites) {
    // lost_wait: a run waits briefly for a device that is away, so a test of a lost
    // device sees its `error` in seconds.
    std::string y = "station:\n  id: test-bench\n  reconnect_interval: 200ms\n  shutdown_grace: 3s\n  lost_wait: 1s\n";
    y += "store:\n  path: " + store.string() + "\n  sync: normal\n";
    y += "api:\n  bind: 127.0.0.1\n  port: 0\n";
    y += "profiles: " + source("lab-config/devices").string() + "\n";
    y += "suites: " + suites.string() + "\n";
    y += "devices:\n";
    for (const auto& d : devices) {
        y += "  - id: " + d.id + "\n    profile: escpos-generic\n    address: " + d.address + "\n";
        y += d.extra;
    }
    return y;
}

Daemon::Daemon(const TempDir& dir, const std::string& yaml, std::vector<std::string> extra_args)
    : log_(dir / "certlabd.log") {
    auto cfg = dir / "station.yaml";
    if (!std::filesystem::exists(cfg)) write_file(cfg, yaml);
    auto port_file = dir / "api.port";
    std::filesystem::remove(port_file);
    std::vector<std::string> argv{bin("certlabd").string(), "--config", cfg.string(), "--api-port", "0",
                                  "--port-file", port_file.string(), "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = Process::start(argv, log_);
    if (!wait_until([&] { return std::filesystem::exists(port_file) || !process_.running(); }, 10s) ||
        !std::filesystem::exists(port_file))
        throw std::runtime_error("certlabd did not start:\n" + log());
    port_ = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));
}

nlohmann::json Daemon::get(const std::string& target) const {
    auto r = http_get(port_, target);
    if (r.status != 200) throw std::runtime_error("GET " + target + " -> " + std::to_string(r.status) + " " + r.body);
    return nlohmann::json::parse(r.body);
}

bool Daemon::wait_for_state(const std::vector<std::string>& ids, const std::string& state,
                            std::chrono::milliseconds timeout) const {
    return wait_until(
        [&] {
            auto r = http_get(port_, "/v1/devices");
            if (r.status != 200) return false;
            auto j = nlohmann::json::parse(r.body);
            auto& list = j.contains("devices") ? j["devices"] : j;
            std::size_t ok = 0;
            for (const auto& d : list)
                for (const auto& id : ids)
                    if (d.value("id", "") == id && d.value("state", "") == state) ++ok;
            return ok == ids.size();
        },
        timeout);
}

std::int64_t Daemon::start_run(const std::string& device, const std::string& suite) const {
    nlohmann::json body{{"device", device}, {"suite", suite}};
    auto r = http("POST", port_, "/v1/runs", body.dump());
    if (r.status != 202) return -r.status;
    return nlohmann::json::parse(r.body).at("id").get<std::int64_t>();
}

nlohmann::json Daemon::wait_for_run(std::int64_t id, std::chrono::milliseconds timeout) const {
    nlohmann::json run;
    wait_until(
        [&] {
            auto r = http_get(port_, "/v1/runs/" + std::to_string(id) + "?steps=-1");
            if (r.status != 200) return false;
            run = nlohmann::json::parse(r.body);
            auto status = run["run"].value("status", "");
            return status != "queued" && status != "running";
        },
        timeout);
    return run;
}

RunResult cli(const Daemon& d, std::vector<std::string> args) {
    std::vector<std::string> argv{bin("certlab").string(), "--station", d.station_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, 120s);
}

CliOutput certlab_cli(const TempDir& dir, std::vector<std::string> args) {
    std::vector<std::string> argv{bin("certlab").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto err_file = dir / "cli.err";
    auto r = run(argv, 120s, err_file);
    return {r.status, r.out, read_file(err_file)};
}

std::vector<std::vector<std::string>> sql_rows(const std::filesystem::path& db, const std::string& query) {
    sqlite3* h = nullptr;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(h);
        throw std::runtime_error("cannot open " + db.string());
    }
    sqlite3_busy_timeout(h, 2000);
    sqlite3_stmt* st = nullptr;
    std::vector<std::vector<std::string>> rows;
    int rc = sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        auto& row = rows.emplace_back();
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
            auto* t = sqlite3_column_text(st, c);
            row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        std::string err = sqlite3_errmsg(h);
        sqlite3_finalize(st);
        sqlite3_close(h);
        throw std::runtime_error("query failed: " + query + ": " + err);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rows;
}

std::string sql_value(const std::filesystem::path& db, const std::string& query) {
    auto rows = sql_rows(db, query);
    if (rows.empty() || rows[0].empty()) throw std::runtime_error("query returned no row: " + query);
    return rows[0][0];
}

Sim start_sim(const std::string& family, Link link, std::vector<std::string> options) {
    std::vector<std::string> argv{bin("certlab-sim").string(), family};
    if (link == Link::pty) argv.push_back("--pty");
    else argv.insert(argv.end(), {"--tcp", "0"});
    argv.insert(argv.end(), options.begin(), options.end());
    Sim sim{Process::start(argv), {}};
    auto line = sim.process.read_line(5s);
    if (!line) throw std::runtime_error("certlab-sim " + family + " did not report its endpoint");
    if (line->rfind("pty ", 0) == 0) sim.address = "serial:" + line->substr(4);
    else if (line->rfind("tcp ", 0) == 0) sim.address = "tcp:" + line->substr(4);
    else throw std::runtime_error("unexpected certlab-sim output: " + *line);
    return sim;
}

std::string station_yaml_profiled(const std::vector<ProfiledDevice>& devices, const std::filesystem::path& store,
                                  const std::filesystem::path& suites) {
    std::string y = station_yaml(std::vector<DeviceDecl>{}, store, suites);  // ends with "devices:\n"
    for (const auto& [profile, d] : devices) {
        y += "  - id: " + d.id + "\n    profile: " + profile + "\n    address: " + d.address + "\n";
        y += d.extra;
    }
    return y;
}

std::string station_yaml_extended(const std::vector<ProfiledDevice>& devices, const std::filesystem::path& store,
                                  const std::filesystem::path& suites,
                                  const std::vector<std::filesystem::path>& more_profiles,
                                  const std::string& top_level) {
    auto y = station_yaml_profiled(devices, store, suites);
    const std::string key = "profiles: " + source("lab-config/devices").string() + "\n";
    auto at = y.find(key);
    if (at == std::string::npos) throw std::logic_error("station_yaml() no longer writes " + key);
    std::string list = "profiles: [" + source("lab-config/devices").string();
    for (const auto& p : more_profiles) list += ", " + p.string();
    y.replace(at, key.size(), list + "]\n" + top_level);
    return y;
}

SuiteRun finish_run(Daemon& d, std::int64_t id, std::chrono::milliseconds timeout) {
    REQUIRE_MESSAGE(id > 0, d.log());
    SuiteRun r;
    r.run = d.wait_for_run(id, timeout);
    for (const auto& s : r.run["steps"])
        if (s["outcome"] != "pass" && s["outcome"] != "skipped") {
            r.first_bad_step = s;
            break;
        }
    CHECK(http_get(d.port(), "/v1/health").status == 200);
    CHECK(d.process().running());
    return r;
}

SuiteRun run_profiled_suite(const TempDir& dir, const std::string& profile, const Sim& sim, const std::string& suite,
                            const std::string& extra, const std::filesystem::path& suites) {
    Daemon d(dir, station_yaml_profiled({{profile, {"dut", sim.address, extra}}}, dir / "store.db", suites));
    REQUIRE_MESSAGE(d.wait_for_state({"dut"}, "ready"), d.log());
    return finish_run(d, d.start_run("dut", suite));
}

nlohmann::json scenario_of(const nlohmann::json& run, const std::string& id) {
    for (const auto& s : run["scenarios"])
        if (s["id"] == id) return s;
    return nlohmann::json{{"outcome", "missing"}, {"reason", ""}};
}

bool text_contains(const nlohmann::json& text, const std::string& part) {
    return text.is_string() && text.get<std::string>().find(part) != std::string::npos;
}

bool step_transcript_has(const nlohmann::json& step, const std::string& dir, const std::string& part,
                         const char* field) {
    for (const auto& e : step["transcript"]["entries"])
        if (e["dir"] == dir && text_contains(e[field], part)) return true;
    return false;
}

}  // namespace certlab::test
