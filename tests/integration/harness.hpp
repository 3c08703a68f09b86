// Starting the real binaries for integration tests: simulators, certlabd, certlab.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http.hpp"
#include "support/process.hpp"

namespace certlab::test {

/// A running certlab-sim printer and the transport address to reach it.
struct Sim {
    Process process;
    std::string address;  ///< serial:/dev/pts/N or tcp:127.0.0.1:PORT
};

enum class Link { pty, tcp };
/// Starts `certlab-sim printer` with extra fault options; waits for its ready line.
Sim start_printer(Link link, std::vector<std::string> options = {});
/// A pty printer behind a stable symlink (replacing a stale one), as a device
/// that is plugged back into the same port.
Sim start_printer_at(const std::filesystem::path& link, std::vector<std::string> options = {});

struct DeviceDecl {
    std::string id;
    std::string address;
    std::string extra;  ///< extra YAML lines for the device entry (indented 4)
};

/// station.yaml text for devices using the repository's profiles, and the given
/// suites directory (the repository's by default).
std::string station_yaml(const std::vector<DeviceDecl>& devices, const std::filesystem::path& store,
                         const std::filesystem::path& suites = source("lab-config/suites"));

/// certlabd on an ephemeral API port, with its log in dir/certlabd.log.
class Daemon {
public:
    Daemon(const TempDir& dir, const std::string& yaml);
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] Process& process() { return process_; }
    [[nodiscard]] std::string log() const { return read_file(log_); }
    [[nodiscard]] std::string station_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    nlohmann::json get(const std::string& target) const;
    /// Waits until every listed device reports `state`.
    bool wait_for_state(const std::vector<std::string>& ids, const std::string& state,
                        std::chrono::milliseconds timeout = 10s) const;
    /// POST /v1/runs; returns the run id (or -status on refusal).
    std::int64_t start_run(const std::string& device, const std::string& suite) const;
    /// Polls until the run is no longer queued or running; returns the run JSON.
    nlohmann::json wait_for_run(std::int64_t id, std::chrono::milliseconds timeout = 60s) const;

private:
    std::filesystem::path log_;
    Process process_;
    std::uint16_t port_ = 0;
};

/// Runs `certlab --station URL args...`.
RunResult cli(const Daemon& d, std::vector<std::string> args);

/// Opens the store read-only and runs one query returning a single integer/text.
std::string sql_value(const std::filesystem::path& db, const std::string& query);

/// Starts `certlab-sim FAMILY` (printer, psu, ...) with its options; waits for its
/// ready line.
Sim start_sim(const std::string& family, Link link, std::vector<std::string> options = {});

/// A device entry with its profile, for stations that are not all ESC/POS printers.
struct ProfiledDevice {
    std::string profile;  ///< a profile of lab-config/devices, e.g. scpi-psu
    DeviceDecl device;
};
/// station.yaml text like station_yaml(), each device with its own profile.
std::string station_yaml_profiled(const std::vector<ProfiledDevice>& devices, const std::filesystem::path& store,
                                  const std::filesystem::path& suites = source("lab-config/suites"));

/// station_yaml_profiled() with more profile directories beside the repository's, and
/// extra top-level YAML (a `plugins:` list, say).
std::string station_yaml_extended(const std::vector<ProfiledDevice>& devices, const std::filesystem::path& store,
                                  const std::filesystem::path& suites,
                                  const std::vector<std::filesystem::path>& more_profiles,
                                  const std::string& top_level = {});

}  // namespace certlab::test
