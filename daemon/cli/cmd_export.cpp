// `certlab export`: gathers what the API says about one certification (its detail,
// every run for it with all steps and prompts, the station's health and suites) and
// writes it as JSON, JUnit XML or the HTML report (export.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>

#include "cli/api_client.hpp"
#include "cli/export.hpp"

namespace certlab::cli {

namespace {

constexpr int page = 1000;  ///< steps per request, the API's maximum

std::string now_utc() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

/// Every step of a run, page by page.
Json all_steps(const ApiClient& api, std::int64_t run) {
    Json steps = Json::array();
    std::int64_t after = 0;
    for (;;) {
        auto doc = api.get("/v1/runs/" + std::to_string(run) + "/steps?after=" + std::to_string(after) +
                           "&limit=" + std::to_string(page));
        const auto& got = doc.value("steps", Json::array());
        for (const auto& s : got) steps.push_back(s);
        auto next = doc.value("next_after", after);
        if (got.empty() || next <= after) break;
        after = next;
    }
    return steps;
}

ExportSource fetch(const ApiClient& api, std::int64_t id) {
    ExportSource src;
    src.exported_at = now_utc();
    src.health = api.get("/v1/health");
    src.detail = api.get("/v1/certifications/" + std::to_string(id));
    src.suites = api.get("/v1/suites").value("suites", Json::array());

    // The runs that say they are for this certification, and any run the plan rests on.
    std::set<std::int64_t> runs;
    for (const auto& r : api.get("/v1/runs?limit=1000").value("runs", Json::array()))
        if (r.value("certification", Json()) == Json(id)) runs.insert(r.value("id", std::int64_t{0}));
    for (const auto& p : src.detail.value("plan", Json::array()))
        for (const char* which : {"evidence", "latest"})
            if (const auto& e = p.value(which, Json()); e.is_object() && e.value("run", Json()).is_number_integer())
                runs.insert(e["run"].get<std::int64_t>());
    for (auto run : runs) {
        if (run <= 0) continue;
        auto detail = api.get("/v1/runs/" + std::to_string(run) + "?steps=0");
        ExportSource::RunDocs docs;
        docs.run = detail.value("run", Json::object());
        docs.scenarios = detail.value("scenarios", Json::array());
        docs.steps = all_steps(api, run);
        docs.prompts = api.get("/v1/prompts?status=all&limit=1000&run=" + std::to_string(run))
                           .value("prompts", Json::array());
        src.runs.push_back(std::move(docs));
    }
    return src;
}

/// Writes `text` to `file` whole or not at all: a temporary file beside it, renamed.
void write_atomically(const std::string& file, const std::string& text) {
    const std::filesystem::path target(file);
    auto tmp = target;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw CliError(exit_usage, "cannot write " + tmp.string());
    }
    std::error_code ec;
    std::filesystem::rename(tmp, target, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw CliError(exit_usage, "cannot write " + file + ": " + ec.message());
    }
}

}  // namespace

CLI::App* add_export_command(CLI::App& app, ExportOptions& opts) {
    auto* cmd = app.add_subcommand(
        "export", "a certification as JSON (the record contract's CertificationExport), JUnit XML or an HTML report");
    cmd->add_option("ID", opts.certification, "certification id")->required()->check(CLI::PositiveNumber);
    cmd->add_option("--format", opts.format, "json, junit or html")
        ->capture_default_str()
        ->check(CLI::IsMember({"json", "junit", "html"}));
    cmd->add_option("-o,--output", opts.output, "write to this file (replaced whole) instead of stdout");
    return cmd;
}

int cmd_export(const ApiClient& api, const ExportOptions& opts) {
    const auto doc = build_export(fetch(api, opts.certification));
    std::string text;
    if (opts.format == "junit") text = render_junit(doc);
    else if (opts.format == "html") text = render_html(doc);
    else text = doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    if (opts.output.empty() || opts.output == "-") {
        std::cout << text << std::flush;
        if (!std::cout) throw CliError(exit_usage, "cannot write the export to stdout");
    } else {
        write_atomically(opts.output, text);
    }
    return exit_ok;
}

}  // namespace certlab::cli
