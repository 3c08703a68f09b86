// The certification record's prepared statements, part of Store::Statements (and
// used under its lock). Defined in store_cert.cpp; private to record/.
#pragma once

#include <string_view>

#include "record/sqlite.hpp"

namespace certlab::record {

// Column lists, in the order the row readers in store_cert.cpp expect them.
inline constexpr std::string_view certification_columns =
    "id, partner, integration, device_model, serial_number, firmware, device_id, capabilities, "
    "taken_in_by, phase, created_at, phase_since";
inline constexpr std::string_view issue_columns =
    "id, certification_id, title, next_steps, severity, source, scenario_id, run_id, "
    "scenario_result_id, status, phase, raised_by, created_at, closed_at, closed_by, resolution";

struct CertStatements {
    explicit CertStatements(sqlite3* db);

    sql::Stmt insert_certification;
    sql::Stmt insert_permission;
    sql::Stmt insert_plan_item;
    sql::Stmt insert_phase_change;
    sql::Stmt update_phase;
    sql::Stmt insert_signoff;
    sql::Stmt close_failure_issues;
    sql::Stmt insert_issue;
    sql::Stmt insert_failure_issue;  ///< OR IGNORE: one per certification, run and scenario
    sql::Stmt close_issue;
    sql::Stmt insert_merchant;

    sql::Stmt certification_ids;
    sql::Stmt get_certification;
    sql::Stmt permissions_of;
    sql::Stmt plan_of;
    sql::Stmt results_of;
    sql::Stmt signoffs_of;
    sql::Stmt issues_of;
    sql::Stmt merchants_of;
    sql::Stmt history_of;
};

}  // namespace certlab::record
