// certlab: the command-line client of certlabd's HTTP API. Arguments in, one
// command out, exit code by result (see ExitCode in http_client.hpp).
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/cert_args.hpp"
#include "cli/commands.hpp"
#include "cli/export.hpp"
#include "cli/stations.hpp"

using namespace certlab::cli;

int main(int argc, char** argv) {
    CLI::App app{"certlab - talk to the certlab station daemon (certlabd)"};
    app.require_subcommand(1);
    app.footer(
        "Exit codes: 0 success (with --wait: run passed), 1 run failed, 2 run ended in\n"
        "error/timeout/aborted/interrupted, 3 usage or connection error or request refused.");

    const char* env_station = std::getenv("CERTLAB_STATION");
    std::string station = env_station && *env_station ? env_station : "http://127.0.0.1:8470";
    int timeout_s = 10;
    Output out;
    app.add_option("--station", station, "certlabd URL (env CERTLAB_STATION)")
        ->capture_default_str();
    app.add_option("--timeout", timeout_s, "seconds to wait for each answer")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    std::string token_file, ca_file;
    if (const char* env = std::getenv("CERTLAB_CA"); env && *env) ca_file = env;
    app.add_option("--token-file", token_file,
                   "file holding the bearer token (env CERTLAB_TOKEN_FILE; or the token itself in CERTLAB_TOKEN)");
    app.add_option("--ca", ca_file, "CA certificates (PEM) to verify an https:// station with (env CERTLAB_CA)");
    app.add_flag("--json", out.json, "print the API's JSON instead of tables");
    // Global options may also follow the command: `certlab runs --json`.
    app.fallthrough();

    auto* status = app.add_subcommand("status", "station health and devices");

    WatchOptions watch_opts;
    auto* watch = app.add_subcommand("watch", "live progress per device: scenario, step, soak iteration, ETA");
    watch->add_option("--run", watch_opts.run, "only this run; exit when it ends, with its exit code")
        ->check(CLI::PositiveNumber);
    watch->add_option("--device", watch_opts.device, "only this device");
    watch->add_flag("--until-idle", watch_opts.until_idle, "exit once no run is queued or running");
    watch->add_flag("--plain", watch_opts.plain, "plain lines even on a terminal");

    std::string stations_file;
    app.add_option("--stations", stations_file,
                   "stations file: NAME URL [ca=FILE] [token-file=FILE] per line (env CERTLAB_STATIONS; "
                   "default ~/.config/certlab/stations); --station may then be a NAME");
    auto* fleet = app.add_subcommand("fleet", "every station of the stations file");
    fleet->require_subcommand(1);
    auto* fleet_status = fleet->add_subcommand("status", "health, devices, active runs and waiting prompts per station");

    auto* token = app.add_subcommand("token", "API tokens");
    token->require_subcommand(1);
    std::string token_name, token_role = "viewer";
    auto* token_new = token->add_subcommand(
        "new", "make a token: prints it once, and the line for the station's tokens file (its hash)");
    token_new->add_option("--name", token_name, "who or what gets it (shown in the station's log)")->required();
    token_new->add_option("--role", token_role, "viewer, operator or admin")
        ->capture_default_str()
        ->check(CLI::IsMember({"viewer", "operator", "admin"}));

    std::string device;
    int limit = 20;
    auto* runs = app.add_subcommand("runs", "recent runs, newest first");
    runs->add_option("--device", device, "only runs on this device");
    runs->add_option("--limit", limit, "how many runs")->capture_default_str()->check(CLI::Range(1, 1000));

    auto* run = app.add_subcommand("run", "show or start one run");
    run->require_subcommand(1);
    std::int64_t run_id = 0;
    bool show_steps = false;
    auto* show = run->add_subcommand("show", "a run with its scenarios");
    show->add_option("ID", run_id, "run id")->required()->check(CLI::PositiveNumber);
    show->add_flag("--steps", show_steps, "also list every step with its transcript");

    auto* devices = app.add_subcommand("devices", "device operations");
    devices->require_subcommand(1);
    std::string release_id;
    auto* release = devices->add_subcommand("release", "release a quarantined device");
    release->add_option("ID", release_id, "device id")->required();
    std::string suggest_address, suggest_driver = "escpos", suggest_profile_id = "new-device";
    auto* suggest = devices->add_subcommand("suggest", "print a profile skeleton matching a resource's stable keys");
    suggest->add_option("RESOURCE", suggest_address, "resource address, as `certlab devices resources` lists it")->required();
    suggest->add_option("--driver", suggest_driver, "driver the profile names")->capture_default_str();
    suggest->add_option("--profile", suggest_profile_id, "profile id")->capture_default_str();
    auto* resources = devices->add_subcommand("resources", "what discovery sees, claimed or not");

    StartOptions start_opts;
    auto* start = run->add_subcommand("start", "queue a suite on a device; prints the run id");
    start->add_option("--device", start_opts.device, "device id")->required();
    start->add_option("--suite", start_opts.suite, "suite id")->required();
    start->add_flag("--wait", start_opts.wait,
                    "follow the run until it ends; exit code by its outcome");
    start->add_option("--poll", start_opts.poll_s, "seconds between progress checks with --wait")
        ->capture_default_str()
        ->check(CLI::Range(0.05, 60.0));
    start->add_option("--certification", start_opts.certification, "the run is evidence for this certification")
        ->check(CLI::PositiveNumber);

    std::int64_t abort_id = 0;
    std::string abort_reason, abort_by;
    auto* abort_cmd = run->add_subcommand("abort", "stop a run at its next step boundary");
    abort_cmd->add_option("ID", abort_id, "run id")->required()->check(CLI::PositiveNumber);
    abort_cmd->add_option("--reason", abort_reason, "why, kept in the run's reason");
    abort_cmd->add_option("--by", abort_by, "who aborts (default: $CERTLAB_USER, else $USER)");

    bool all_prompts = false;
    std::int64_t prompts_run = 0;
    auto* prompts = app.add_subcommand("prompts", "technician prompts waiting for an answer");
    prompts->add_flag("--all", all_prompts, "answered, timed out and withdrawn prompts too");
    prompts->add_option("--run", prompts_run, "only this run's prompts")->check(CLI::PositiveNumber);
    AnswerOptions answer_opts;
    auto* answer = app.add_subcommand("answer", "answer a technician prompt");
    answer->add_option("ID", answer_opts.id, "prompt id")->required()->check(CLI::PositiveNumber);
    answer->add_option("VALUE", answer_opts.value, "yes/no, one of the choices, a number, or text");
    answer->add_option("--by", answer_opts.by, "who answers (default: $CERTLAB_USER, else $USER)");
    answer->add_option("--comment", answer_opts.comment, "what you saw, in your words");
    answer->add_option("--file", answer_opts.file, "a photo or file to attach")->check(CLI::ExistingFile);

    CertArgs cert_args;
    cert_args.add_to(app);
    ExportOptions export_opts;
    auto* export_cmd = add_export_command(app, export_opts);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return exit_usage;
    }

    try {
        if (*token_new) return cmd_token_new(token_name, token_role);
        if (*fleet_status) return cmd_fleet_status(stations_file, std::chrono::seconds(timeout_s), out);
        // A name from the stations file stands for its URL, CA and token file.
        if (station.find("://") == std::string::npos && station.find(':') == std::string::npos)
            for (const auto& e : read_stations(stations_file.empty() ? default_stations_file() : stations_file,
                                               !stations_file.empty()))
                if (e.name == station) {
                    station = e.url;
                    if (ca_file.empty()) ca_file = e.ca_file;
                    if (token_file.empty()) token_file = e.token_file;
                }
        HttpClient http(parse_station_url(station), std::chrono::seconds(timeout_s),
                        ClientAuth{read_token(token_file), ca_file});
        ApiClient api(http);
        if (*watch) return cmd_watch(api, http, watch_opts);
        if (*status) return cmd_status(api, out);
        if (*runs) return cmd_runs(api, out, device, limit);
        if (*show) return cmd_run_show(api, out, run_id, show_steps);
        if (*start) return cmd_run_start(api, out, start_opts);
        if (*abort_cmd) return cmd_run_abort(api, out, abort_id, abort_reason, abort_by);
        if (*release) return cmd_device_release(api, out, release_id);
        if (*suggest) return cmd_device_suggest(api, out, suggest_address, suggest_driver, suggest_profile_id);
        if (*resources) return cmd_resources(api, out);
        if (*prompts) return cmd_prompts(api, out, all_prompts, prompts_run);
        if (*answer) return cmd_answer(api, out, answer_opts);
        if (auto code = cert_args.run(api, out)) return *code;
        if (*export_cmd) return cmd_export(api, export_opts);
    } catch (const CliError& e) {
        std::cerr << "certlab: " << e.what() << '\n';
        return e.code();
    } catch (const std::exception& e) {
        // A daemon answer of an unexpected shape, say: report it, never abort.
        std::cerr << "certlab: " << e.what() << '\n';
        return exit_usage;
    }
    return exit_usage;
}
