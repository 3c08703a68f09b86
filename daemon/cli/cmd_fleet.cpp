// `certlab fleet status`: every station of the stations file at a glance, asked in
// parallel so one unreachable bench costs one timeout, not one per bench.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/stations.hpp"

namespace certlab::cli {

std::string default_stations_file() {
    if (const char* env = std::getenv("CERTLAB_STATIONS"); env && *env) return env;
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.config/certlab/stations";
}

namespace {

std::string expand_home(const std::string& path) {
    if (path.rfind("~/", 0) != 0) return path;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
}

}  // namespace

std::vector<StationEntry> read_stations(const std::string& file, bool must_exist) {
    std::ifstream in(file);
    if (!in) {
        if (!must_exist && errno == ENOENT) return {};
        throw CliError(exit_usage, "cannot read stations file " + file + ": " + std::strerror(errno));
    }
    std::vector<StationEntry> out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        auto fail = [&](std::size_t col, const std::string& what) {
            return CliError(exit_usage, file + ":" + std::to_string(number) + ":" + std::to_string(col + 1) + ": " + what);
        };
        std::vector<std::pair<std::size_t, std::string>> fields;
        for (std::size_t col = 0; col < line.size();) {
            if (line[col] == '#') break;
            if (std::isspace(static_cast<unsigned char>(line[col]))) {
                ++col;
                continue;
            }
            auto end = line.find_first_of(" \t\r#", col);
            if (end == std::string::npos) end = line.size();
            fields.emplace_back(col, line.substr(col, end - col));
            col = end;
        }
        if (fields.empty()) continue;
        if (fields.size() < 2) throw fail(fields[0].first, "expected NAME URL [ca=FILE] [token-file=FILE]");
        StationEntry e{fields[0].second, fields[1].second, {}, {}};
        try {
            (void)parse_station_url(e.url);
        } catch (const CliError& bad) {
            throw fail(fields[1].first, bad.what());
        }
        for (std::size_t i = 2; i < fields.size(); ++i) {
            const auto& [col, f] = fields[i];
            if (f.rfind("ca=", 0) == 0) e.ca_file = expand_home(f.substr(3));
            else if (f.rfind("token-file=", 0) == 0) e.token_file = expand_home(f.substr(11));
            else throw fail(col, "expected ca=FILE or token-file=FILE, found '" + f + "'");
        }
        for (const auto& seen : out)
            if (seen.name == e.name) throw fail(fields[0].first, "station '" + e.name + "' is named twice");
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

/// One station's answers, or why there are none.
struct Report {
    StationEntry station;
    std::string error;
    Json health, devices, runs, prompts;
};

Report ask(const StationEntry& s, std::chrono::seconds timeout) {
    Report r{s, {}, {}, {}, {}, {}};
    try {
        ApiClient api(HttpClient(parse_station_url(s.url), timeout, ClientAuth{read_token(s.token_file), s.ca_file}));
        r.health = api.get("/v1/health");
        r.devices = api.get("/v1/devices");
        r.runs = api.get("/v1/runs?limit=50");
        r.prompts = api.get("/v1/prompts");
    } catch (const std::exception& e) {
        r.error = e.what();
    }
    return r;
}

std::string device_summary(const Json& devices) {
    std::map<std::string, int> by_state;
    for (const auto& d : devices.value("devices", Json::array())) ++by_state[text(d, "state")];
    std::string out;
    for (const auto& [state, n] : by_state) out += (out.empty() ? "" : " ") + std::to_string(n) + " " + paint(state);
    return out.empty() ? "none" : out;
}

std::string running_summary(const Json& runs) {
    std::string out;
    for (const auto& r : runs.value("runs", Json::array())) {
        const auto status = text(r, "status");
        if (status != "running" && status != "queued") continue;
        out += (out.empty() ? "" : ", ") + std::string("run ") + text(r, "id") + " " + text(r, "suite") + "@" +
               text(r, "device") + (status == "queued" ? " (queued)" : "");
    }
    return out.empty() ? "-" : out;
}

}  // namespace

int cmd_fleet_status(const std::string& stations_file, std::chrono::seconds timeout, Output out) {
    const auto file = stations_file.empty() ? default_stations_file() : stations_file;
    const auto stations = read_stations(file, true);
    if (stations.empty()) throw CliError(exit_usage, "stations file " + file + " lists no station");
    std::vector<std::future<Report>> asked;
    for (const auto& s : stations) asked.push_back(std::async(std::launch::async, ask, s, timeout));
    std::vector<Report> reports;
    for (auto& f : asked) reports.push_back(f.get());

    bool all_reached = true;
    for (const auto& r : reports) all_reached = all_reached && r.error.empty();
    if (out.json) {
        Json doc = Json::array();
        for (const auto& r : reports) {
            Json one{{"station", r.station.name}, {"url", r.station.url}, {"reachable", r.error.empty()}};
            if (r.error.empty()) {
                one["health"] = r.health;
                one["devices"] = r.devices.value("devices", Json::array());
                Json active = Json::array();
                for (const auto& run : r.runs.value("runs", Json::array()))
                    if (text(run, "status") == "running" || text(run, "status") == "queued") active.push_back(run);
                one["active_runs"] = std::move(active);
                one["prompts_waiting"] = r.prompts.value("prompts", Json::array()).size();
            } else {
                one["error"] = r.error;
            }
            doc.push_back(std::move(one));
        }
        std::cout << doc.dump(2) << '\n';
        return all_reached ? exit_ok : exit_usage;
    }
    Table table({"STATION", "STATUS", "UP", "DEVICES", "ACTIVE RUNS", "PROMPTS"});
    for (const auto& r : reports) {
        if (!r.error.empty()) {
            table.add({r.station.name, paint("unreachable"), "-", "-", "-", "-"});
            continue;
        }
        const auto waiting = r.prompts.value("prompts", Json::array()).size();
        table.add({r.station.name, paint(text(r.health, "status")), format_duration(r.health.value("uptime_s", Json())),
                   device_summary(r.devices), running_summary(r.runs),
                   waiting == 0 ? std::string("-") : paint("waiting") + " " + std::to_string(waiting)});
    }
    table.print(std::cout);
    for (const auto& r : reports)
        if (!r.error.empty()) std::cerr << "certlab: " << r.station.name << ": " << r.error << '\n';
    return all_reached ? exit_ok : exit_usage;
}

}  // namespace certlab::cli
