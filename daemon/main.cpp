// certlabd: process concerns only — arguments, configuration, logging, signals,
// systemd notification. Everything else is built by station::Station.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "config/station_config.hpp"
#include "engine/suite.hpp"
#include "record/store.hpp"
#include "sdk/error.hpp"
#include "station/plugins.hpp"
#include "station/station.hpp"

namespace {

constexpr int exit_config = 2;
constexpr int exit_runtime = 1;

/// True when stderr is the journal stream systemd connected us to (JOURNAL_STREAM
/// names its device:inode; a child that inherited the variable but not the fd is not).
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    if (!stream || std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/// Under systemd: journald, with each line's priority. Otherwise the rotating
/// log.file when the configuration names one, else stderr. The level lives on the
/// sinks, not the loggers: every per-device logger shares them, so a reload that
/// changes log.level reaches loggers made before it (station/station_reload.cpp).
void setup_logging(const certlab::config::StationConfig& cfg, const std::string& level) {
    spdlog::sink_ptr sink;
    bool timestamps = true;
    if (stderr_is_journal()) {
        sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("certlabd");
        timestamps = false;  // the journal stamps every entry itself
    } else if (!cfg.log_file.empty()) {
        sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
            cfg.log_file.string(), static_cast<std::size_t>(cfg.log_max_size), static_cast<std::size_t>(cfg.log_max_files));
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        timestamps = !std::getenv("INVOCATION_ID");
    }
    sink->set_level(spdlog::level::from_str(level));
    auto log = std::make_shared<spdlog::logger>("certlabd", sink);
    log->set_level(spdlog::level::trace);
    // A log file is read while the daemon runs (and after a crash): no line waits in a buffer.
    log->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(log);
    spdlog::set_pattern(timestamps ? "%Y-%m-%dT%H:%M:%S.%e %n %l: %v" : "%n %l: %v");
}

/// Feeds the systemd watchdog from the io_context every half interval: when the
/// loop is stuck, the pings stop and systemd restarts the service (WatchdogSec=).
class Watchdog {
public:
    explicit Watchdog(boost::asio::io_context& io) : timer_(io) {
        std::uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) interval_ = std::chrono::microseconds(usec / 2);
    }
    void start() {
        if (interval_.count() == 0) return;
        spdlog::info("systemd watchdog: pinging every {} ms", interval_.count() / 1000);
        ping();
    }
    void stop() { timer_.cancel(); }

private:
    void ping() {
        sd_notify(0, "WATCHDOG=1");
        timer_.expires_after(interval_);
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) ping();
        });
    }
    boost::asio::steady_timer timer_;
    std::chrono::microseconds interval_{0};
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"certlabd — the certlab lab station daemon"};
    std::string config_file = "/etc/certlab/station.yaml";
    std::string store_path;
    int api_port = -1;
    std::string log_level;
    bool check_only = false;
    std::string port_file;
    std::string record_file;
    std::string record_notes;
    app.add_option("-c,--config", config_file, "station configuration (station.yaml)");
    app.add_option("--store", store_path, "SQLite store path (overrides store.path)");
    app.add_option("--api-port", api_port, "API port (overrides api.port; 0 = any free port)")->check(CLI::Range(0, 65535));
    app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
    app.add_option("--port-file", port_file, "write the bound API port to this file once listening");
    app.add_flag("--check-config", check_only, "validate the configuration and suites, then exit");
    auto* record_opt = app.add_option("--record", record_file,
                   "record every device's sessions as captures (docs/CAPTURES.md); {device} in FILE is the "
                   "device id, else with several devices the id goes before the extension")
        ->option_text("FILE");
    app.add_option("--record-notes", record_notes, "notes for the header of every capture --record writes")
        ->needs(record_opt);
    app.set_version_flag("--version", std::string("certlabd ") + CERTLAB_VERSION);
    CLI11_PARSE(app, argc, argv);

    certlab::config::StationConfig cfg;
    std::vector<certlab::config::PluginLoad> plugins;
    try {
        // Plugins load while the configuration is read, before the profiles naming
        // their drivers; the station logs what became of each.
        cfg = certlab::config::load_station_config(config_file, [&plugins](const auto& dirs) {
            plugins = certlab::station::load_plugins(dirs, certlab::sdk::Registry::instance());
            return plugins;
        });
    } catch (const std::exception& e) {
        // A profile naming a refused plugin's driver fails here: say why it was refused.
        for (const auto& p : plugins)
            if (!p.refused.empty())
                std::fprintf(stderr, "certlabd: plugin %s refused: %s\n", p.file.c_str(), p.refused.c_str());
        std::fprintf(stderr, "certlabd: configuration error: %s\n", e.what());
        return exit_config;
    }
    try {
        setup_logging(cfg, log_level.empty() ? cfg.log_level : log_level);
    } catch (const spdlog::spdlog_ex& e) {
        std::fprintf(stderr, "certlabd: configuration error: log.file %s: %s\n", cfg.log_file.c_str(), e.what());
        return exit_config;
    }

    // The API's connections have a thread of their own (api/server.hpp). Its context
    // is made first, so it outlives `io` and the API coroutines `io` may still hold.
    boost::asio::io_context api_io(1);
    boost::asio::io_context io(1);
    std::unique_ptr<certlab::station::Station> station;
    certlab::station::Station::Overrides overrides;
    if (!store_path.empty()) overrides.store_path = store_path;
    if (api_port >= 0) overrides.api_port = static_cast<std::uint16_t>(api_port);
    if (!record_file.empty()) overrides.record = certlab::station::RecordOptions{record_file, record_notes};
    if (!log_level.empty()) overrides.log_level = log_level;
    try {
        if (check_only) {
            std::vector<std::string> skipped;
            auto suites = certlab::engine::load_suites(cfg.suite_dirs, &skipped);
            for (const auto& w : skipped) std::printf("warning: %s\n", w.c_str());
            std::printf("configuration ok: %zu profile(s), %zu device(s), %zu suite(s)\n", cfg.profiles.size(),
                        cfg.devices.size(), suites.size());
            return 0;
        }
        station = std::make_unique<certlab::station::Station>(io, api_io, cfg, overrides);
        station->start();
        if (!port_file.empty()) {
            // Written to a temporary name and renamed, so a reader never sees half a number.
            auto tmp = port_file + ".tmp";
            if (FILE* f = std::fopen(tmp.c_str(), "w")) {
                std::fprintf(f, "%u\n", station->api_port());
                std::fclose(f);
                std::rename(tmp.c_str(), port_file.c_str());
            }
        }
    } catch (const certlab::sdk::ConfigError& e) {
        std::fprintf(stderr, "certlabd: configuration error: %s\n", e.what());
        return exit_config;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "certlabd: cannot start: %s\n", e.what());
        return exit_runtime;
    }

    // A stop that does not drain in time must still end the process: every result
    // is already committed, so a hard exit loses nothing.
    std::atomic<bool> stopping{false};
    std::thread watchdog;
    Watchdog systemd_watchdog(io);
    // SIGHUP: re-read station.yaml, profiles and suites (Station::reload logs what
    // changed, or the errors of a refused config while the old one keeps running).
    boost::asio::signal_set hangup(io, SIGHUP);
    std::function<void()> wait_hangup = [&] {
        hangup.async_wait([&](boost::system::error_code ec, int) {
            if (ec || stopping) return;
            spdlog::info("received SIGHUP, reloading {}", config_file);
            sd_notify(0, "RELOADING=1");
            (void)station->reload();
            sd_notify(0, "READY=1");
            wait_hangup();
        });
    };
    wait_hangup();
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        hangup.cancel();
        spdlog::info("received {}, stopping at the next step boundary", sig == SIGINT ? "SIGINT" : "SIGTERM");
        sd_notify(0, "STOPPING=1");
        stopping = true;
        auto grace = cfg.shutdown_grace + std::chrono::seconds(10);
        watchdog = std::thread([grace] {
            std::this_thread::sleep_for(grace);
            std::fprintf(stderr, "certlabd: shutdown did not finish in time; exiting\n");
            std::_Exit(exit_runtime);
        });
        watchdog.detach();
        // The watchdog keeps pinging while runs drain: the loop is alive, and
        // TimeoutStopSec= bounds the stop. It ends with the loop.
        station->shutdown([&] {
            signals.cancel();
            systemd_watchdog.stop();
        });
    });

    sd_notify(0, "READY=1");
    systemd_watchdog.start();
    spdlog::info("certlabd {} ready", CERTLAB_VERSION);
    io.run();
    spdlog::info("stopped");
    station.reset();
    return 0;
}
