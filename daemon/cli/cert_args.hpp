// Arguments of the certification record's commands (intake, cert, plan, certify,
// reject, issues, issue, merchant, phase), kept out of main.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/commands.hpp"

namespace CLI {
class App;
}

namespace certlab::cli {

class CertArgs {
public:
    /// Adds the commands to `app`; `this` must outlive its parsing.
    void add_to(CLI::App& app);
    /// The exit code of the certification command given, or nullopt when none was.
    [[nodiscard]] std::optional<int> run(const ApiClient& api, Output out) const;

private:
    /// --by, else $CERTLAB_USER, $USER, $LOGNAME; "" when none is set.
    [[nodiscard]] std::string who() const;

    IntakeOptions intake_;
    IssueOptions issue_;
    std::int64_t id_ = 0;
    std::int64_t issue_id_ = 0;
    std::string scenario_;
    std::string feedback_;
    std::string by_;
    std::string resolution_;
    std::string merchant_;
    std::string location_;
    std::string phase_;
    std::string note_;
    bool all_issues_ = false;

    CLI::App* intake_cmd_ = nullptr;
    CLI::App* list_cmd_ = nullptr;
    CLI::App* show_cmd_ = nullptr;
    CLI::App* plan_cmd_ = nullptr;
    CLI::App* certify_cmd_ = nullptr;
    CLI::App* reject_cmd_ = nullptr;
    CLI::App* issues_cmd_ = nullptr;
    CLI::App* issue_add_cmd_ = nullptr;
    CLI::App* issue_close_cmd_ = nullptr;
    CLI::App* merchant_add_cmd_ = nullptr;
    CLI::App* phase_cmd_ = nullptr;
};

}  // namespace certlab::cli
