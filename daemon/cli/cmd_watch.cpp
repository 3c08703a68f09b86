// `certlab watch`: live progress per device from the station's event stream
// (GET /v1/events). On a terminal, one progress bar per device redrawn in place; into
// a pipe or a file, plain lines, one per change worth a line.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/commands.hpp"

namespace certlab::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Progress {
    std::string device;
    std::string state;          ///< device state (ready, busy, lost, ...)
    std::int64_t run = 0;       ///< 0: no run
    std::string suite;
    std::string status;         ///< run status, or its outcome once ended
    int scenarios_total = 0;
    int scenarios_done = 0;
    std::string scenario;
    std::int64_t iteration = 0;     ///< 0-based, of the step last seen
    std::int64_t iterations_planned = 1;
    std::string last_step;          ///< "printer.status pass"
    std::int64_t steps = 0;
    std::int64_t bad_steps = 0;
    std::string prompt;             ///< waiting for a technician: the message
    Clock::time_point scenario_seen{};  ///< when this scenario's first step came (0: not yet)
    double scenario_first_at = 0;       ///< [s since epoch] that step's start, by the station's clock
    double last_at = 0;                 ///< [s since epoch] the latest step's start
    std::int64_t scenario_first_iteration = 0;
    std::vector<std::string> ended_scenarios;  ///< "W-1 pass", for a run that ended before the watch
    bool ended = false;
};

/// Seconds left in a soak scenario at its pace since the watch first saw it, by the
/// station's own step times (events can arrive in bursts; their times do not).
std::optional<double> eta_s(const Progress& p) {
    if (p.iterations_planned <= 1 || p.scenario_seen == Clock::time_point{}) return std::nullopt;
    const double done = static_cast<double>(p.iteration - p.scenario_first_iteration);
    const double elapsed = p.last_at - p.scenario_first_at;
    if (done < 1 || elapsed <= 0) return std::nullopt;
    return static_cast<double>(p.iterations_planned - p.iteration - 1) * elapsed / done;
}

/// "2026-11-29T03:45:41.123Z" as seconds since the epoch; 0 when it is not that.
double epoch_s(const std::string& iso) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<double>(::timegm(&tm)) + ms / 1000.0;
}

/// Fraction of the run done: ended scenarios, plus the share of the current soak.
double fraction(const Progress& p) {
    if (p.ended) return 1.0;
    if (p.scenarios_total <= 0) return 0.0;
    double in_scenario = p.iterations_planned > 1
                             ? static_cast<double>(p.iteration) / static_cast<double>(p.iterations_planned)
                             : 0.0;
    return std::clamp((p.scenarios_done + in_scenario) / p.scenarios_total, 0.0, 1.0);
}

std::string bar(double f, int width) {
    const int full = static_cast<int>(std::lround(f * width));
    std::string out = "[";
    for (int i = 0; i < width; ++i) out += i < full ? "#" : "-";
    return out + "]";
}

/// The line for one device; `bar_width` 0 for plain output.
std::string describe(const Progress& p, int bar_width, Clock::time_point now) {
    std::ostringstream o;
    o << p.device << "  ";
    if (p.run == 0) {
        o << paint(p.state.empty() ? "idle" : p.state);
        return o.str();
    }
    o << "run " << p.run << ' ' << p.suite << "  ";
    if (bar_width > 0) o << bar(fraction(p), bar_width) << ' ';
    o << static_cast<int>(std::lround(fraction(p) * 100)) << "%  ";
    if (p.ended) {
        o << paint(p.status);
        return o.str();
    }
    o << "scenario " << std::min(p.scenarios_done + 1, std::max(p.scenarios_total, 1)) << '/' << p.scenarios_total;
    if (!p.scenario.empty()) o << ' ' << p.scenario;
    if (p.iterations_planned > 1) o << "  iteration " << p.iteration + 1 << '/' << p.iterations_planned;
    if (auto eta = eta_s(p)) o << "  ETA " << format_duration(*eta);
    if (!p.last_step.empty()) o << "  last: " << p.last_step;
    if (!p.prompt.empty()) o << "  " << paint("waiting") << " for a technician: " << p.prompt;
    return o.str();
}

class Watch {
public:
    Watch(const ApiClient& api, const HttpClient& http, const WatchOptions& opts)
        : api_(api), http_(http), opts_(opts), tty_(::isatty(STDOUT_FILENO) == 1 && !opts.plain) {}

    int run() {
        load();
        draw(true);
        if (!tty_) {
            // Where things stand as the watch begins, with the scenarios already ended.
            const auto now = Clock::now();
            for (const auto& [id, p] : devices_) {
                for (const auto& sc : p.ended_scenarios)
                        std::cout << clock_text() << ' ' << p.device << "  run " << p.run << ' ' << sc << '\n';
                line(p, now);
            }
        }
        std::string last_id;
        for (int failures = 0;;) {
            if (done()) break;
            std::string path = "/v1/events";
            if (opts_.run > 0) path += "?run=" + std::to_string(opts_.run);
            else if (!opts_.device.empty()) path += "?device=" + url_encode(opts_.device);
            std::string pending;
            try {
                auto res = http_.stream(path, last_id, std::chrono::seconds(45), [&](std::string_view bytes) {
                    pending.append(bytes);
                    for (auto end = pending.find("\n\n"); end != std::string::npos; end = pending.find("\n\n")) {
                        frame(pending.substr(0, end), last_id);
                        pending.erase(0, end + 2);
                    }
                    draw(false);
                    return !done();
                });
                if (res.status != 200)
                    throw CliError(exit_usage, "GET " + path + ": HTTP " + std::to_string(res.status) + " " + res.body);
                failures = 0;
            } catch (const ConnectionError& e) {
                // The station restarts, the network blips: say so, and come back.
                if (++failures > opts_.max_reconnects) throw;
                note(std::string("lost the station (") + e.what() + "); reconnecting");
                std::this_thread::sleep_for(std::chrono::seconds(std::min(failures, 5)));
                if (last_id.empty()) load();
            }
        }
        draw(true);
        if (opts_.run > 0) return exit_code_of(devices_);
        return exit_ok;
    }

private:
    /// What is going on now, from the station's documents.
    void load() {
        auto doc = api_.get("/v1/devices");
        for (const auto& d : doc.value("devices", Json::array())) {
            const auto id = text(d, "id");
            if (!opts_.device.empty() && id != opts_.device) continue;
            auto& p = devices_[id];
            p.device = id;
            p.state = text(d, "state");
            auto current = d.find("current_run");
            if (current != d.end() && current->is_number_integer()) adopt(p, current->get<std::int64_t>());
        }
        if (opts_.run > 0) {
            auto run = api_.get("/v1/runs/" + std::to_string(opts_.run) + "?steps=0");
            auto& p = devices_[text(run["run"], "device")];
            p.device = text(run["run"], "device");
            adopt(p, opts_.run, &run);
        }
    }

    void adopt(Progress& p, std::int64_t run_id, const Json* known = nullptr) {
        Json doc = known ? *known : api_.get("/v1/runs/" + std::to_string(run_id) + "?steps=0");
        const auto& r = doc["run"];
        p.run = run_id;
        p.suite = text(r, "suite");
        p.status = text(r, "status");
        p.ended = p.status != "queued" && p.status != "running";
        if (p.ended) p.status = text(r, "outcome") == "-" ? p.status : text(r, "outcome");
        p.scenarios_total = r.value("scenarios_total", 0);
        p.scenarios_done = 0;
        p.ended_scenarios.clear();
        for (const auto& s : doc.value("scenarios", Json::array())) {
            if (!s["outcome"].is_null()) {
                ++p.scenarios_done;
                p.ended_scenarios.push_back(text(s, "id") + " " + paint(text(s, "outcome")) +
                                            (s.value("reason", "").empty() ? "" : "  " + text(s, "reason")));
            }
            else {
                p.scenario = text(s, "id");
                p.iteration = s.value("iterations", std::int64_t{0});
                p.iterations_planned = std::max<std::int64_t>(1, s.value("iterations_planned", std::int64_t{1}));
            }
        }
    }

    Progress* device_of(const Json& d) {
        auto dev = text(d, "device");
        if (dev == "-") return nullptr;
        auto& p = devices_[dev];
        p.device = dev;
        return &p;
    }

    void frame(const std::string& text_frame, std::string& last_id) {
        std::string type = "message", data, id;
        std::istringstream lines(text_frame);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("id: ", 0) == 0) id = line.substr(4);
            else if (line.rfind("event: ", 0) == 0) type = line.substr(7);
            else if (line.rfind("data: ", 0) == 0) data += line.substr(6);
        }
        if (!id.empty()) last_id = id;
        if (type == "gap") {
            // Events were missed: start again from the station's documents.
            note("missed events while away; reloading");
            load();
            return;
        }
        if (data.empty()) return;
        Json d;
        try {
            d = Json::parse(data);
        } catch (const std::exception&) {
            return;  // not ours to judge; the stream goes on
        }
        on_event(type, d);
    }

    void on_event(const std::string& type, const Json& d) {
        const auto now = Clock::now();
        if (type == "device.state") {
            if (auto* p = device_of(d)) p->state = text(d, "state");
            return;
        }
        const auto run = d.value("run", std::int64_t{0});
        if (opts_.run > 0 && run != opts_.run) return;
        Progress* p = device_of(d);
        if (type == "run.queued" || type == "run.started") {
            if (p && (p->run != run || p->ended)) {
                *p = Progress{p->device, p->state};
                adopt(*p, run);
                line(*p, now);
            }
            return;
        }
        if (!p) {
            // Steps and prompts name no device: find the run's.
            for (auto& [id, q] : devices_)
                if (q.run == run) p = &q;
            if (!p) return;
        }
        if (type == "step") {
            const auto scenario = text(d, "scenario");
            p->last_at = epoch_s(d.value("started_at", ""));
            if (scenario != p->scenario || p->scenario_seen == Clock::time_point{}) {
                p->scenario = scenario;
                p->scenario_seen = now;
                p->scenario_first_at = p->last_at;
                p->scenario_first_iteration = d.value("iteration", std::int64_t{0});
            }
            p->iteration = d.value("iteration", std::int64_t{0});
            p->iterations_planned = std::max<std::int64_t>(1, d.value("iterations_planned", std::int64_t{1}));
            const auto outcome = text(d, "outcome");
            p->last_step = text(d, "action") == "-" ? text(d, "kind") : text(d, "action");
            p->last_step += " " + paint(outcome);
            ++p->steps;
            if (outcome != "pass" && outcome != "skipped") ++p->bad_steps;
            if (worth_a_line(*p, outcome, now)) line(*p, now);
        } else if (type == "scenario.ended") {
            ++p->scenarios_done;
            p->iterations_planned = 1;
            p->iteration = 0;
            p->scenario_seen = {};
            if (!tty_)
                std::cout << clock_text() << ' ' << p->device << "  run " << run << ' ' << text(d, "scenario") << ' '
                          << paint(text(d, "outcome")) << (d.value("reason", "").empty() ? "" : "  " + text(d, "reason"))
                          << std::endl;
        } else if (type == "run.ended") {
            p->ended = true;
            p->status = text(d, "outcome") == "-" ? text(d, "status") : text(d, "outcome");
            line(*p, now);
        } else if (type == "prompt.opened") {
            p->prompt = "prompt " + text(d, "prompt") + ": " + text(d, "message");
            line(*p, now);
        } else if (type == "prompt.answered" || type == "prompt.closed") {
            p->prompt.clear();
        }
    }

    /// Plain output gets every step of a short scenario, and a soak's progress in
    /// steps of 5 % or 10 s, and every bad step: enough to follow, little to scroll.
    bool worth_a_line(Progress& p, const std::string& outcome, Clock::time_point now) {
        if (tty_) return false;
        if (outcome != "pass" && outcome != "skipped") return true;
        if (p.iterations_planned <= 1) return true;
        const auto step = std::max<std::int64_t>(1, p.iterations_planned / 20);
        auto& last = printed_[p.device];
        if (p.iteration / step != last.first || now - last.second > std::chrono::seconds(10)) {
            last = {p.iteration / step, now};
            return true;
        }
        return false;
    }

    void line(const Progress& p, Clock::time_point now) {
        if (tty_) return;
        std::cout << clock_text() << ' ' << describe(p, 0, now) << std::endl;
    }

    void note(const std::string& what) {
        if (tty_) {
            notice_ = what;
            draw(true);
        } else {
            std::cout << clock_text() << " " << what << std::endl;
        }
    }

    /// Redraws the block of bars in place, at most ten times a second.
    void draw(bool force) {
        if (!tty_) return;
        const auto now = Clock::now();
        if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        std::string out;
        if (drawn_lines_ > 0) out += "\x1b[" + std::to_string(drawn_lines_) + "F";
        int lines = 0;
        for (const auto& [id, p] : devices_) {
            out += "\x1b[2K" + describe(p, 24, now) + "\n";
            ++lines;
        }
        if (!notice_.empty()) {
            out += "\x1b[2K" + notice_ + "\n";
            ++lines;
        }
        std::cout << out << std::flush;
        drawn_lines_ = lines;
    }

    bool done() const {
        if (opts_.run > 0) {
            for (const auto& [id, p] : devices_)
                if (p.run == opts_.run) return p.ended;
            return false;
        }
        if (!opts_.until_idle) return false;
        return std::all_of(devices_.begin(), devices_.end(), [](const auto& kv) { return kv.second.run == 0 || kv.second.ended; });
    }

    int exit_code_of(const std::map<std::string, Progress>& devices) const {
        for (const auto& [id, p] : devices)
            if (p.run == opts_.run) {
                if (p.status == "pass") return exit_ok;
                if (p.status == "fail") return exit_run_failed;
                return exit_run_error;
            }
        return exit_run_error;
    }

    static std::string clock_text() {
        auto t = std::time(nullptr);
        std::tm tm{};
        ::localtime_r(&t, &tm);
        char buf[16];
        std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
        return buf;
    }

    const ApiClient& api_;
    const HttpClient& http_;
    WatchOptions opts_;
    bool tty_;
    std::map<std::string, Progress> devices_;
    std::map<std::string, std::pair<std::int64_t, Clock::time_point>> printed_;
    Clock::time_point last_draw_{};
    int drawn_lines_ = 0;
    std::string notice_;
};

}  // namespace

int cmd_watch(const ApiClient& api, const HttpClient& http, const WatchOptions& opts) {
    Watch w(api, http, opts);
    return w.run();
}

}  // namespace certlab::cli
