// `certlab run show`, `certlab run start [--wait]` and `certlab run abort`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"

namespace certlab::cli {

namespace {

using namespace std::chrono_literals;

// How long --wait keeps retrying while the daemon is unreachable (a restart, say)
// before giving up with exit_usage.
constexpr auto lost_contact_limit = 30s;
constexpr int steps_page = 1000;

std::string iterations(const Json& s) {
    auto done = s.value("iterations", 0);
    auto planned = s.value("iterations_planned", 0);
    return std::to_string(s.value("passed_iterations", 0)) + "/" +
           std::to_string(std::max(done, planned));
}

void print_run_header(const Json& run) {
    std::cout << "run " << text(run, "id") << "  " << text(run, "suite") << " on "
              << text(run, "device") << "  " << paint(text(run, "status")) << "  "
              << paint(text(run, "outcome")) << '\n';
    std::cout << "  suite     " << text(run, "suite_title") << '\n'
              << "  driver    " << text(run, "driver") << '\n'
              << "  started   " << format_time(run.value("started_at", Json()))
              << "  duration " << format_duration(run.value("duration_s", Json())) << '\n';
    if (auto reason = text(run, "reason"); reason != "-") std::cout << "  reason    " << reason << '\n';
}

std::string number(const Json& v, const char* format) {
    if (!v.is_number()) return "-";
    char buf[48];
    std::snprintf(buf, sizeof buf, format, v.get<double>());
    return buf;
}

/// A soak's running statistics under the scenario table: pass rate, latency, drift.
void print_soak_stats(const std::string& id, const Json& stats) {
    if (!stats.is_object()) return;
    std::cout << '\n' << id << " soak: " << stats.value("passed", 0) << " of " << stats.value("iterations", 0)
              << " iterations passed (" << number(stats["pass_rate"].is_number() ? Json(stats["pass_rate"].get<double>() * 100.0) : Json(), "%.2f") << " %), "
              << stats.value("failed", 0) << " fail, " << stats.value("errors", 0) << " error, "
              << stats.value("timeouts", 0) << " timeout";
    if (auto cycles = stats.value("power_cycles", 0); cycles > 0) std::cout << ", " << cycles << " power cycles";
    if (auto marginal = stats.value("marginal", 0); marginal > 0) std::cout << ", " << marginal << " marginal";
    std::cout << '\n';
    for (const auto& l : stats.value("latency", Json::array()))
        std::cout << "  latency " << text(l, "action") << ": p50 " << number(l["p50_ms"], "%.3g") << " ms, p95 "
                  << number(l["p95_ms"], "%.3g") << " ms, p99 " << number(l["p99_ms"], "%.3g") << " ms, max "
                  << number(l["max_ms"], "%.3g") << " ms (" << l.value("count", 0) << " calls)\n";
    for (const auto& d : stats.value("drift", Json::array())) {
        const auto unit = d.value("unit", std::string());
        std::cout << "  drift " << text(d, "name") << ": " << number(d["first"], "%.4g") << " -> "
                  << number(d["last"], "%.4g") << ' ' << unit << ", mean " << number(d["mean"], "%.4g") << ", range "
                  << number(d["min"], "%.4g") << ".." << number(d["max"], "%.4g") << ", slope "
                  << number(d["slope_per_1k"], "%+.3g") << ' ' << unit << " per 1000 iterations\n";
    }
}

void print_scenarios(const Json& scenarios) {
    Table table({"SCENARIO", "TITLE", "OUTCOME", "ITER", "REASON"});
    for (const auto& s : scenarios)
        table.add({text(s, "id"), text(s, "title"), paint(text(s, "outcome")), iterations(s),
                   s.value("reason", "")});
    table.print(std::cout);
    for (const auto& s : scenarios) print_soak_stats(text(s, "id"), s.value("stats", Json()));
}

/// Every step of the run, paged through /steps?after=.
Json all_steps(const ApiClient& api, std::int64_t id) {
    Json steps = Json::array();
    std::int64_t after = 0;
    for (;;) {
        auto page = api.get("/v1/runs/" + std::to_string(id) + "/steps?after=" +
                            std::to_string(after) + "&limit=" + std::to_string(steps_page));
        const auto& list = page.value("steps", Json::array());
        for (const auto& s : list) steps.push_back(s);
        auto next = page.value("next_after", after);
        if (list.size() < static_cast<std::size_t>(steps_page) || next <= after) break;
        after = next;
    }
    return steps;
}

void print_steps(const Json& steps, const Json& scenarios) {
    std::map<std::int64_t, std::string> scenario_of;  // result id -> PRN-003
    for (const auto& s : scenarios) scenario_of[s.value("result_id", 0ll)] = text(s, "id");
    for (const auto& st : steps) {
        auto sc = scenario_of.find(st.value("scenario_result_id", 0ll));
        std::ostringstream line;
        line << '#' << text(st, "seq") << "  " << (sc == scenario_of.end() ? "-" : sc->second)
             << " it" << text(st, "iteration") << " step" << text(st, "index") << "  "
             << (st.value("action", "").empty() ? text(st, "kind") : text(st, "action")) << "  "
             << paint(text(st, "outcome")) << "  "
             << format_duration(st.value("duration_us", 0.0) / 1e6);
        if (auto reason = text(st, "reason"); reason != "-") line << "  " << reason;
        std::cout << line.str() << '\n';
        // The rendered transcript: "> 10 04 01" per exchange, indented under its step.
        std::istringstream transcript(st.value("transcript", Json::object()).value("text", ""));
        for (std::string t; std::getline(transcript, t);) std::cout << "      " << t << '\n';
    }
}

bool finished(const Json& run) {
    auto status = text(run, "status");
    return status != "queued" && status != "running";
}

void print_summary(const Json& detail) {
    const auto& run = detail.at("run");
    std::map<std::string, int> counts;
    for (const auto& s : detail.value("scenarios", Json::array())) ++counts[text(s, "outcome")];
    std::cout << "run " << text(run, "id") << " " << text(run, "status") << ": "
              << paint(text(run, "outcome")) << " in "
              << format_duration(run.value("duration_s", Json()));
    std::string sep = " (";
    for (const auto& [outcome, n] : counts) {
        std::cout << sep << n << ' ' << outcome;
        sep = ", ";
    }
    std::cout << (counts.empty() ? "" : ")") << '\n';
    if (auto reason = text(run, "reason"); reason != "-") std::cout << "  reason: " << reason << '\n';
}

}  // namespace

int exit_code_for_run(const Json& run) {
    auto outcome = text(run, "outcome");
    if (outcome == "pass") return exit_ok;
    if (outcome == "fail") return exit_run_failed;
    return exit_run_error;
}

int cmd_run_show(const ApiClient& api, Output out, std::int64_t id, bool steps) {
    // Steps come separately (paged) for humans; --json gets the one document.
    auto detail = api.get("/v1/runs/" + std::to_string(id) +
                          (steps && out.json ? "?steps=-1" : "?steps=0"));
    if (out.json) {
        std::cout << detail.dump(2) << '\n';
        return exit_ok;
    }
    print_run_header(detail.at("run"));
    auto scenarios = detail.value("scenarios", Json::array());
    std::cout << '\n';
    if (scenarios.empty()) std::cout << "no scenario results yet\n";
    else print_scenarios(scenarios);
    if (steps) {
        std::cout << '\n';
        print_steps(all_steps(api, id), scenarios);
    }
    return exit_ok;
}

int cmd_run_start(const ApiClient& api, Output out, const StartOptions& opts) {
    Json body{{"device", opts.device}, {"suite", opts.suite}};
    if (opts.certification > 0) body["certification"] = opts.certification;
    auto started = api.post("/v1/runs", body);
    auto id = started.at("id").get<std::int64_t>();
    if (!opts.wait) {
        if (out.json) std::cout << started.dump(2) << '\n';
        else std::cout << id << '\n';  // bare, for `id=$(certlab run start ...)`
        return exit_ok;
    }
    if (!out.json)
        std::cout << "run " << id << ": suite " << opts.suite << " on " << opts.device << '\n';

    std::set<std::int64_t> reported;  // scenario result ids already printed
    std::optional<std::chrono::steady_clock::time_point> lost_since;
    auto poll = std::chrono::duration<double>(opts.poll_s);
    Json detail;
    for (;;) {
        try {
            detail = api.get("/v1/runs/" + std::to_string(id) + "?steps=0");
            lost_since.reset();
        } catch (const ConnectionError& e) {
            auto now = std::chrono::steady_clock::now();
            if (!lost_since) {
                lost_since = now;
                std::cerr << e.what() << "; retrying\n";
            }
            if (now - *lost_since > lost_contact_limit) throw;
            std::this_thread::sleep_for(poll);
            continue;
        }
        if (!out.json) {
            for (const auto& s : detail.value("scenarios", Json::array())) {
                auto rid = s.value("result_id", 0ll);
                if (s.value("outcome", Json()).is_null() || reported.count(rid)) continue;
                reported.insert(rid);
                std::cout << "  " << text(s, "id") << "  " << paint(text(s, "outcome")) << "  "
                          << iterations(s) << "  " << text(s, "title");
                if (auto reason = text(s, "reason"); reason != "-") std::cout << "  (" << reason << ")";
                std::cout << '\n' << std::flush;
            }
        }
        if (finished(detail.at("run"))) break;
        std::this_thread::sleep_for(poll);
    }
    if (out.json) std::cout << detail.dump(2) << '\n';
    else print_summary(detail);
    return exit_code_for_run(detail.at("run"));
}

int cmd_run_abort(const ApiClient& api, Output out, std::int64_t id, const std::string& reason, std::string by) {
    // Who aborts is on the record, as for sign-off (cert_args.cpp): --by, else the login.
    for (const char* var : {"CERTLAB_USER", "USER", "LOGNAME"})
        if (const char* v = std::getenv(var); by.empty() && v && *v) by = v;
    Json body = Json::object();
    if (!by.empty()) body["by"] = by;
    if (!reason.empty()) body["reason"] = reason;
    auto doc = api.post("/v1/runs/" + std::to_string(id) + "/abort", body);
    if (out.json) std::cout << doc.dump(2) << '\n';
    else std::cout << "run " << id << ": abort requested; it stops at the next step boundary\n";
    return exit_ok;
}

}  // namespace certlab::cli
