// `certlab export CERT --format json|junit|html`: one certification as the contract's
// machine-readable record (CertificationExport in docs/record-api.openapi.yaml), as
// JUnit XML for a partner's CI, and as a self-contained HTML report. The CLI fetches
// what the API says (cmd_export.cpp); everything here is pure rendering of that, so
// the tests can feed it documents of their own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/format.hpp"

namespace CLI {
class App;
}

namespace certlab::cli {

class ApiClient;

/// The station's documents about one certification, as the API answered them.
struct ExportSource {
    struct RunDocs {
        Json run;        ///< GET /v1/runs/{id} "run"
        Json scenarios;  ///< GET /v1/runs/{id} "scenarios"
        Json steps;      ///< every step, from GET /v1/runs/{id}/steps, by seq
        Json prompts;    ///< GET /v1/prompts?status=all&run={id} "prompts"
    };
    Json health;                ///< GET /v1/health
    Json detail;                ///< GET /v1/certifications/{id}
    Json suites;                ///< GET /v1/suites "suites"
    std::vector<RunDocs> runs;  ///< the certification's runs, oldest first
    std::string exported_at;    ///< when it was fetched, RFC 3339 UTC
};

/// The CertificationExport document of `src`. Byte strings become base64, so the
/// document holds exactly what the station recorded.
[[nodiscard]] Json build_export(const ExportSource& src);

/// JUnit XML of an export document (tests/schemas/junit.xsd): one testsuite per run,
/// one testcase per scenario result; device failures as <failure>, the station's and
/// the link's (error, timeout, aborted, interrupted) as <error>.
[[nodiscard]] std::string render_junit(const Json& doc);

/// The certification report of an export document: one HTML file with inline CSS and
/// SVG charts, nothing external, readable without scripts, printable.
[[nodiscard]] std::string render_html(const Json& doc);

struct ExportOptions {
    std::int64_t certification = 0;
    std::string format = "json";  ///< json, junit or html
    std::string output;           ///< file to write; empty: stdout
};

/// Adds `export` to `app`; `opts` must outlive its parsing.
CLI::App* add_export_command(CLI::App& app, ExportOptions& opts);

/// `certlab export ID [--format F] [-o FILE]`
int cmd_export(const ApiClient& api, const ExportOptions& opts);

}  // namespace certlab::cli
