// Store::Statements: every statement the store runs, prepared once at open, and
// the lock that serializes their use. Shared by store.cpp (writes) and
// store_read.cpp (reads); private to record/.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "record/cert_statements.hpp"
#include "record/checkpointer.hpp"
#include "record/sqlite.hpp"
#include "record/store.hpp"

namespace certlab::record {

// Column lists, in the order the row readers in store_read.cpp expect them.
inline constexpr std::string_view run_columns =
    "id, device_id, suite_id, suite_title, suite_hash, driver, station_id, certlab_version, "
    "status, outcome, reason, started_at, ended_at, scenarios_total, roles, firmware, certification_id, resumed";
inline constexpr std::string_view scenario_columns =
    "id, run_id, scenario_id, title, outcome, reason, iterations, iterations_planned, "
    "passed_iterations, started_at, ended_at, stats";
inline constexpr std::string_view step_columns =
    "id, run_id, scenario_result_id, seq, iteration, step_index, kind, action, args, "
    "\"values\", outcome, reason, started_at, duration_us, transcript, role, phase, attempt, retried, warning";

struct OutboxStatements;  // store_outbox.cpp

struct Store::Statements {
    explicit Statements(sqlite3* db);

    // A cached statement can serve one caller at a time, and a transaction must
    // not interleave with another thread's statements on the same connection, so
    // every public Store call holds this for its whole duration. Uncontended it
    // costs tens of nanoseconds.
    std::mutex mutex;

    sql::TxStatements tx;
    sql::Stmt user_version;

    sql::Stmt insert_run;
    sql::Stmt update_run_status;
    sql::Stmt end_run;
    sql::Stmt insert_scenario;
    sql::Stmt update_scenario_progress;
    sql::Stmt end_scenario;
    sql::Stmt insert_step;
    sql::Stmt insert_measurement;
    sql::Stmt interrupt_scenarios;
    sql::Stmt interrupt_runs;
    sql::Stmt interrupt_run_scenarios;
    sql::Stmt interrupt_run;
    sql::Stmt resume_run;
    sql::Stmt unfinished_runs;
    sql::Stmt last_seq;
    sql::Stmt steps_of_scenario;

    sql::Stmt list_runs;
    sql::Stmt list_runs_of_device;
    sql::Stmt get_run;
    sql::Stmt scenarios_of_run;
    sql::Stmt last_steps;
    sql::Stmt steps_after;
    // For a reader holding some steps (Store::KnownStep): the keys first, from the
    // UNIQUE (run_id, seq) index alone, then whole rows only for the steps it lacks.
    sql::Stmt last_step_keys;
    sql::Stmt step_keys_after;
    sql::Stmt step_by_id;
    sql::Stmt step_count;
    sql::Stmt measurements_of_step;

    CertStatements cert;  ///< the certification record's (store_cert.cpp)

    /// Set by enable_outbox. shared_ptr: its deleter is bound where the type is
    /// complete, so store.cpp need not see it.
    std::shared_ptr<OutboxStatements> outbox;
    std::function<void()> on_enqueue;

    // Declared last so it stops first; set by Store::open.
    std::unique_ptr<Checkpointer> checkpointer;
};

}  // namespace certlab::record
