// The `certlab` commands. Each returns the process exit code (see ExitCode) and
// throws CliError for anything that ends it early.
#pragma once

#include <cstdint>
#include <string>

#include "cli/api_client.hpp"

namespace certlab::cli {

struct Output {
    bool json = false;  ///< print the API's JSON (pretty) instead of tables
};

/// `certlab status`: health line and the devices table.
int cmd_status(const ApiClient& api, Output out);

/// `certlab runs [--device D] [--limit N]`
int cmd_runs(const ApiClient& api, Output out, const std::string& device, int limit);

/// `certlab run show ID [--steps]`
int cmd_run_show(const ApiClient& api, Output out, std::int64_t id, bool steps);

struct StartOptions {
    std::string device;
    std::string suite;
    bool wait = false;
    double poll_s = 1.0;  ///< [s] between progress polls with --wait
};

/// `certlab run start --device D --suite S [--wait]`
int cmd_run_start(const ApiClient& api, Output out, const StartOptions& opts);

/// `certlab devices release ID`
int cmd_device_release(const ApiClient& api, Output out, const std::string& id);

/// `certlab devices suggest RESOURCE [--driver D] [--profile P]`: a profile skeleton.
int cmd_device_suggest(const ApiClient& api, Output out, const std::string& address, const std::string& driver,
                       const std::string& profile);

/// `certlab devices resources`: what discovery sees, claimed or not.
int cmd_resources(const ApiClient& api, Output out);

/// Exit code for a finished run document: pass 0, fail 1, anything else 2.
[[nodiscard]] int exit_code_for_run(const Json& run);

}  // namespace certlab::cli
