#include "cli/cert_args.hpp"

#include <cstdlib>

#include <CLI/CLI.hpp>

namespace certlab::cli {

namespace {

void add_id(CLI::App* cmd, std::int64_t& id) {
    cmd->add_option("ID", id, "certification id")->required()->check(CLI::PositiveNumber);
}

}  // namespace

void CertArgs::add_to(CLI::App& app) {
    auto by_option = [this](CLI::App* cmd, const char* what) {
        cmd->add_option("--by", by_, std::string(what) + " (default: $CERTLAB_USER, else $USER)");
    };

    intake_cmd_ = app.add_subcommand("intake", "take a device in for certification; prints its id");
    intake_cmd_->add_option("--partner", intake_.partner, "partner company")->required();
    intake_cmd_->add_option("--integration", intake_.integration, "the partner's integration")->required();
    intake_cmd_->add_option("--model", intake_.model, "device model")->required();
    intake_cmd_->add_option("--serial", intake_.serial, "device serial number")->required();
    intake_cmd_->add_option("--firmware", intake_.firmware, "device firmware version")->required();
    intake_cmd_->add_option("--permission", intake_.permissions, "API permission to certify (repeat for each)")
        ->required()
        ->take_all();
    intake_cmd_->add_option("--device", intake_.device, "the station device it is tested as")->required();
    by_option(intake_cmd_, "who takes it in");

    auto* cert = app.add_subcommand("cert", "certifications");
    cert->require_subcommand(1);
    list_cmd_ = cert->add_subcommand("list", "every certification, newest first");
    show_cmd_ = cert->add_subcommand("show", "a certification: plan with statuses, open issues, next phase");
    add_id(show_cmd_, id_);

    plan_cmd_ = app.add_subcommand("plan", "the scenarios a certification requires, and their status");
    add_id(plan_cmd_, id_);

    certify_cmd_ = app.add_subcommand("certify", "sign a passed scenario off as certified");
    add_id(certify_cmd_, id_);
    certify_cmd_->add_option("SCENARIO", scenario_, "scenario id, e.g. PRN-003")->required();
    by_option(certify_cmd_, "the evaluator");

    reject_cmd_ = app.add_subcommand("reject", "reject a scenario's result with feedback (opens an issue)");
    add_id(reject_cmd_, id_);
    reject_cmd_->add_option("SCENARIO", scenario_, "scenario id")->required();
    reject_cmd_->add_option("--feedback", feedback_, "what is wrong, and what to do")->required();
    by_option(reject_cmd_, "the evaluator");

    issues_cmd_ = app.add_subcommand("issues", "a certification's open issues with their next steps");
    add_id(issues_cmd_, id_);
    issues_cmd_->add_flag("--all", all_issues_, "closed issues too");

    auto* issue = app.add_subcommand("issue", "record or close an outstanding issue");
    issue->require_subcommand(1);
    issue_add_cmd_ = issue->add_subcommand("add", "record an issue by hand; prints its id");
    add_id(issue_add_cmd_, id_);
    issue_add_cmd_->add_option("--title", issue_.title, "what is wrong")->required();
    issue_add_cmd_->add_option("--next-steps", issue_.next_steps, "what to do about it");
    issue_add_cmd_->add_option("--severity", issue_.severity, "critical, major or minor")
        ->capture_default_str()
        ->check(CLI::IsMember({"critical", "major", "minor"}));
    issue_add_cmd_->add_option("--scenario", issue_.scenario, "the planned scenario it concerns");
    by_option(issue_add_cmd_, "who raises it");
    issue_close_cmd_ = issue->add_subcommand("close", "close an issue");
    add_id(issue_close_cmd_, id_);
    issue_close_cmd_->add_option("ISSUE", issue_id_, "issue id")->required()->check(CLI::PositiveNumber);
    issue_close_cmd_->add_option("--resolution", resolution_, "how it was resolved")->required();
    by_option(issue_close_cmd_, "who closes it");

    auto* merchant = app.add_subcommand("merchant", "pilot merchants");
    merchant->require_subcommand(1);
    merchant_add_cmd_ = merchant->add_subcommand("add", "record a merchant of the pilot");
    add_id(merchant_add_cmd_, id_);
    merchant_add_cmd_->add_option("NAME", merchant_, "merchant name")->required();
    merchant_add_cmd_->add_option("--location", location_, "where it is");
    by_option(merchant_add_cmd_, "who records it");

    phase_cmd_ = app.add_subcommand("phase", "move a certification to its next phase (or back to lab)");
    add_id(phase_cmd_, id_);
    phase_cmd_->add_option("TO", phase_, "intake, lab, certified, pilot or ga")->required();
    phase_cmd_->add_option("--note", note_, "why");
    by_option(phase_cmd_, "who moves it");
}

std::string CertArgs::who() const {
    if (!by_.empty()) return by_;
    for (const char* var : {"CERTLAB_USER", "USER", "LOGNAME"})
        if (const char* v = std::getenv(var); v && *v) return v;
    return {};
}

std::optional<int> CertArgs::run(const ApiClient& api, Output out) const {
    auto evaluator = [this] {
        auto by = who();
        if (by.empty()) throw CliError(exit_usage, "name the evaluator with --by (or set CERTLAB_USER)");
        return by;
    };
    if (*intake_cmd_) {
        auto opts = intake_;
        opts.by = who();
        return cmd_intake(api, out, opts);
    }
    if (*list_cmd_) return cmd_cert_list(api, out);
    if (*show_cmd_) return cmd_cert_show(api, out, id_);
    if (*plan_cmd_) return cmd_plan(api, out, id_);
    if (*certify_cmd_) return cmd_certify(api, out, id_, scenario_, evaluator());
    if (*reject_cmd_) return cmd_reject(api, out, id_, scenario_, evaluator(), feedback_);
    if (*issues_cmd_) return cmd_issues(api, out, id_, all_issues_);
    if (*issue_add_cmd_) {
        auto opts = issue_;
        opts.by = who();
        return cmd_issue_add(api, out, id_, opts);
    }
    if (*issue_close_cmd_) return cmd_issue_close(api, out, id_, issue_id_, resolution_, who());
    if (*merchant_add_cmd_) return cmd_merchant_add(api, out, id_, merchant_, location_, who());
    if (*phase_cmd_) return cmd_phase(api, out, id_, phase_, who(), note_);
    return std::nullopt;
}

}  // namespace certlab::cli
