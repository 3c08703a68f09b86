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
    /// `extra_args` go to certlabd after the harness's own (e.g. --record FILE).
    Daemon(const TempDir& dir, const std::string& yaml, std::vector<std::string> extra_args = {});
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

/// `certlab args...` as given (no --station added), its stderr kept apart (in
/// dir/cli.err) so a refusal's message can be checked.
struct CliOutput {
    int status = -1;
    std::string out;
    std::string err;
};
CliOutput certlab_cli(const TempDir& dir, std::vector<std::string> args);

/// Opens the store read-only and runs one query; every row, each column as text ("" for NULL).
std::vector<std::vector<std::string>> sql_rows(const std::filesystem::path& db, const std::string& query);
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

/// One suite run to its end on one simulated device, and what a fault test looks at.
struct SuiteRun {
    nlohmann::json run;             ///< GET /v1/runs/{id} at the end
    nlohmann::json first_bad_step;  ///< the first step that neither passed nor was skipped (null: none)
};

/// Waits for run `id` to end and finds its first bad step; checks the daemon still
/// serves, whatever the device did.
SuiteRun finish_run(Daemon& d, std::int64_t id, std::chrono::milliseconds timeout = 90s);

/// Starts certlabd with one device `dut` of `profile` at the simulator's address
/// (`extra`: YAML lines for the device entry, e.g. settings), runs `suite` on it to its
/// end, and checks that the daemon still serves afterwards, whatever the device did.
SuiteRun run_profiled_suite(const TempDir& dir, const std::string& profile, const Sim& sim, const std::string& suite,
                            const std::string& extra = {},
                            const std::filesystem::path& suites = source("lab-config/suites"));

/// The scenario `id` of a run's JSON (outcome "missing" when it is not there).
nlohmann::json scenario_of(const nlohmann::json& run, const std::string& id);
/// True when `text` is a string containing `part`.
bool text_contains(const nlohmann::json& text, const std::string& part);
/// True when a step's transcript has an entry in direction `dir` (tx, rx, note) whose
/// `field` (text or hex) contains `part`.
bool step_transcript_has(const nlohmann::json& step, const std::string& dir, const std::string& part,
                         const char* field = "text");

}  // namespace certlab::test
