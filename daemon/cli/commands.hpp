// The `certlab` commands. Each returns the process exit code (see ExitCode) and
// throws CliError for anything that ends it early.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/api_client.hpp"

namespace certlab::cli {

struct Output {
    bool json = false;  ///< print the API's JSON (pretty) instead of tables
};

/// `certlab token new --name N --role R`: a new random token, printed once, and the
/// `NAME ROLE sha256:HEX` line to add to the station's tokens file. Needs no station.
int cmd_token_new(const std::string& name, const std::string& role);

struct WatchOptions {
    std::int64_t run = 0;     ///< > 0: only this run; exits when it ends, with its exit code
    std::string device;       ///< only this device
    bool until_idle = false;  ///< exit once no device has a run queued or running
    bool plain = false;       ///< plain lines even on a terminal
    int max_reconnects = 30;  ///< consecutive failed reconnects before giving up
};

/// `certlab watch`: live progress per device (scenario, step, soak iteration k/N, ETA)
/// as bars on a terminal, plain lines otherwise. Reconnects with Last-Event-ID.
int cmd_watch(const ApiClient& api, const HttpClient& http, const WatchOptions& opts);

/// `certlab fleet status`: every station of the stations file, asked in parallel.
/// Exit 0 when every station answered, else exit_usage (the table still shows all).
int cmd_fleet_status(const std::string& stations_file, std::chrono::seconds timeout, Output out);

/// `certlab status`: health line and the devices table.
int cmd_status(const ApiClient& api, Output out);

/// `certlab runs [--device D] [--limit N]`
int cmd_runs(const ApiClient& api, Output out, const std::string& device, int limit);

/// `certlab run show ID [--steps]`
int cmd_run_show(const ApiClient& api, Output out, std::int64_t id, bool steps);

struct StartOptions {
    std::string device;
    std::string suite;
    std::int64_t certification = 0;  ///< > 0: the run is evidence for this certification
    bool wait = false;
    double poll_s = 1.0;  ///< [s] between progress polls with --wait
};

/// `certlab run start --device D --suite S [--wait]`
int cmd_run_start(const ApiClient& api, Output out, const StartOptions& opts);

/// `certlab run abort ID [--reason TEXT] [--by NAME]`: the run stops at its next step
/// boundary; `by` empty means $CERTLAB_USER, else $USER.
int cmd_run_abort(const ApiClient& api, Output out, std::int64_t id, const std::string& reason, std::string by);

/// `certlab devices release ID`
int cmd_device_release(const ApiClient& api, Output out, const std::string& id);

/// `certlab devices suggest RESOURCE [--driver D] [--profile P]`: a profile skeleton.
int cmd_device_suggest(const ApiClient& api, Output out, const std::string& address, const std::string& driver,
                       const std::string& profile);

/// `certlab devices resources`: what discovery sees, claimed or not.
int cmd_resources(const ApiClient& api, Output out);

// The certification record (cmd_cert.cpp).

struct IntakeOptions {
    std::string partner;
    std::string integration;
    std::string model;
    std::string serial;
    std::string firmware;
    std::string device;
    std::vector<std::string> permissions;
    std::string by;
};

/// `certlab intake ...`: prints the new certification's id alone (like run start).
int cmd_intake(const ApiClient& api, Output out, const IntakeOptions& opts);
/// `certlab cert list`
int cmd_cert_list(const ApiClient& api, Output out);
/// `certlab cert show ID`: summary, plan with statuses, open issues, next phase.
int cmd_cert_show(const ApiClient& api, Output out, std::int64_t id);
/// `certlab plan ID`: the required scenarios, why and their status.
int cmd_plan(const ApiClient& api, Output out, std::int64_t id);
/// `certlab certify ID SCENARIO`
int cmd_certify(const ApiClient& api, Output out, std::int64_t id, const std::string& scenario,
                const std::string& by);
/// `certlab reject ID SCENARIO --feedback TEXT`
int cmd_reject(const ApiClient& api, Output out, std::int64_t id, const std::string& scenario,
               const std::string& by, const std::string& feedback);
/// `certlab issues ID [--all]`: open issues with their next steps (all with --all).
int cmd_issues(const ApiClient& api, Output out, std::int64_t id, bool all);

struct IssueOptions {
    std::string title;
    std::string next_steps;
    std::string severity = "major";
    std::string scenario;
    std::string by;
};
/// `certlab issue add ID --title T [--next-steps N] [--severity S] [--scenario SC]`
int cmd_issue_add(const ApiClient& api, Output out, std::int64_t id, const IssueOptions& opts);
/// `certlab issue close ID ISSUE --resolution TEXT`
int cmd_issue_close(const ApiClient& api, Output out, std::int64_t id, std::int64_t issue,
                    const std::string& resolution, const std::string& by);
/// `certlab merchant add ID NAME [--location L]`
int cmd_merchant_add(const ApiClient& api, Output out, std::int64_t id, const std::string& name,
                     const std::string& location, const std::string& by);
/// `certlab phase ID TO [--note N]`
int cmd_phase(const ApiClient& api, Output out, std::int64_t id, const std::string& to, const std::string& by,
              const std::string& note);

// Technician prompts (cmd_prompt.cpp).

/// `certlab prompts [--all] [--run ID]`: the prompts waiting for an answer (every
/// prompt with --all), with how to answer each and the time left.
int cmd_prompts(const ApiClient& api, Output out, bool all, std::int64_t run);

struct AnswerOptions {
    std::int64_t id = 0;
    std::string value;    ///< yes/no, a choice, a number, text; may be empty with --file
    std::string by;       ///< empty: $CERTLAB_USER, else $USER
    std::string comment;
    std::string file;     ///< a photo or file to attach
};
/// `certlab answer ID VALUE [--by NAME] [--comment TEXT] [--file PATH]`
int cmd_answer(const ApiClient& api, Output out, AnswerOptions opts);

/// Exit code for a finished run document: pass 0, fail 1, anything else 2.
[[nodiscard]] int exit_code_for_run(const Json& run);

}  // namespace certlab::cli
