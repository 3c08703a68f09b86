// Store: opening, pragmas, and every write. Reads are in store_read.cpp.
#include "record/store.hpp"

#include <unistd.h>

#include <system_error>

#include "record/codec.hpp"
#include "record/schema.hpp"
#include "record/store_statements.hpp"

namespace certlab::record {

namespace {

using sql::Query;
using sql::Transaction;

std::string now_text() { return format_time(std::chrono::system_clock::now()); }

// Why a path may be unusable, as " (...)" to append to SQLite's message, or "".
std::string diagnose(const std::filesystem::path& path) {
    std::error_code ec;
    auto dir = path.parent_path();
    if (dir.empty()) dir = ".";
    if (!std::filesystem::exists(dir, ec))
        return " (directory " + dir.string() + " does not exist)";
    if (!std::filesystem::is_directory(dir, ec)) return " (" + dir.string() + " is not a directory)";
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        return " (directory " + dir.string() + " is not writable)";
    if (std::filesystem::exists(path, ec) && ::access(path.c_str(), R_OK | W_OK) != 0)
        return " (file is not readable and writable)";
    return {};
}

// One-row pragma read at open time only.
std::string pragma_text(sqlite3* db, const char* sql, std::string_view what) {
    sql::Stmt s(db, sql);
    Query q(s);
    if (!q.step(what)) return {};
    return std::string(q.text(0));
}

}  // namespace

Store::Statements::Statements(sqlite3* db)
    : tx(db),
      user_version(db, "PRAGMA user_version"),
      insert_run(db,
                 "INSERT INTO runs (device_id, suite_id, suite_title, suite_hash, driver, "
                 "station_id, certlab_version, status, outcome, reason, started_at, ended_at, "
                 "scenarios_total, roles, firmware, certification_id) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
      update_run_status(db, "UPDATE runs SET status = ?2 WHERE id = ?1"),
      end_run(db,
              "UPDATE runs SET status = ?2, outcome = ?3, reason = ?4, ended_at = ?5 "
              "WHERE id = ?1"),
      insert_scenario(db,
                      "INSERT INTO scenario_results (run_id, scenario_id, title, outcome, reason, "
                      "iterations, iterations_planned, passed_iterations, started_at, ended_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
      update_scenario_progress(db,
                               "UPDATE scenario_results SET iterations = ?2, "
                               "iterations_planned = ?3, passed_iterations = ?4, stats = ?5 WHERE id = ?1"),
      end_scenario(db,
                   "UPDATE scenario_results SET outcome = ?2, reason = ?3, iterations = ?4, "
                   "iterations_planned = ?5, passed_iterations = ?6, ended_at = ?7, stats = ?8 WHERE id = ?1"),
      insert_step(db,
                  "INSERT INTO step_results (run_id, scenario_result_id, seq, iteration, "
                  "step_index, kind, action, args, \"values\", outcome, reason, started_at, "
                  "duration_us, transcript, role, phase, attempt, retried, warning) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"),
      insert_measurement(db,
                         "INSERT INTO measurements (step_result_id, name, value, unit, low, "
                         "high, within, marginal) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
      interrupt_scenarios(db,
                          "UPDATE scenario_results SET outcome = 'aborted', reason = ?1, "
                          "ended_at = coalesce(ended_at, ?2) WHERE outcome IS NULL AND run_id IN "
                          "(SELECT id FROM runs WHERE status IN ('queued', 'running'))"),
      interrupt_runs(db,
                     "UPDATE runs SET status = 'interrupted', outcome = 'aborted', reason = ?1, "
                     "ended_at = ?2 WHERE status IN ('queued', 'running')"),
      interrupt_run_scenarios(db,
                              "UPDATE scenario_results SET outcome = 'aborted', reason = ?2, "
                              "ended_at = coalesce(ended_at, ?3) WHERE outcome IS NULL AND run_id = ?1"),
      interrupt_run(db,
                    "UPDATE runs SET status = 'interrupted', outcome = 'aborted', reason = ?2, "
                    "ended_at = ?3 WHERE id = ?1 AND status IN ('queued', 'running')"),
      resume_run(db,
                 "UPDATE runs SET status = 'running', resumed = resumed + 1 "
                 "WHERE id = ?1 AND status IN ('queued', 'running')"),
      unfinished_runs(db, "SELECT " + std::string(run_columns) +
                              " FROM runs WHERE status IN ('queued', 'running') ORDER BY id"),
      last_seq(db, "SELECT coalesce(max(seq), 0) FROM step_results WHERE run_id = ?1"),
      steps_of_scenario(db, "SELECT " + std::string(step_columns) +
                                " FROM step_results WHERE scenario_result_id = ?1 ORDER BY seq"),
      list_runs(db, "SELECT " + std::string(run_columns) +
                        " FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1"),
      list_runs_of_device(db, "SELECT " + std::string(run_columns) +
                                  " FROM runs WHERE device_id = ?2 "
                                  "ORDER BY started_at DESC, id DESC LIMIT ?1"),
      get_run(db, "SELECT " + std::string(run_columns) + " FROM runs WHERE id = ?1"),
      scenarios_of_run(db, "SELECT " + std::string(scenario_columns) +
                               " FROM scenario_results WHERE run_id = ?1 ORDER BY id"),
      last_steps(db, "SELECT " + std::string(step_columns) + " FROM (SELECT " +
                         std::string(step_columns) +
                         " FROM step_results WHERE run_id = ?1 ORDER BY seq DESC LIMIT ?2) "
                         "ORDER BY seq"),
      steps_after(db, "SELECT " + std::string(step_columns) +
                          " FROM step_results WHERE run_id = ?1 AND seq > ?2 "
                          "ORDER BY seq LIMIT ?3"),
      // A run's steps are numbered 1, 2, ... without a gap (engine/runner.cpp), so the
      // highest seq is their count: one index seek, where count(*) would visit every
      // step of a long soak on each GET /v1/runs/{id}.
      last_step_keys(db, "SELECT id, seq FROM step_results WHERE run_id = ?1 ORDER BY seq DESC LIMIT ?2"),
      step_keys_after(db, "SELECT id, seq FROM step_results WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
      step_by_id(db, "SELECT " + std::string(step_columns) + " FROM step_results WHERE id = ?1"),
      step_count(db, "SELECT coalesce(max(seq), 0) FROM step_results WHERE run_id = ?1"),
      measurements_of_step(db,
                           "SELECT name, value, unit, low, high, within, marginal FROM measurements "
                           "WHERE step_result_id = ?1 ORDER BY id"),
      cert(db) {}

Store::Store(sqlite3* db) : db_(db) {}

Store::~Store() {
    // Stops the checkpointer and finalizes the statements before closing, or the
    // close would be deferred (and would not do its final checkpoint).
    stmts_.reset();
    sqlite3_close_v2(db_);
}

std::unique_ptr<Store> Store::open(const std::filesystem::path& path, Options options) {
    const std::string name = path.string();
    sqlite3* raw = nullptr;
    // NOMUTEX: Statements::mutex already serializes every use of the connection.
    int rc = sqlite3_open_v2(name.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    // The store owns the handle from here, also when opening failed (SQLite hands
    // back a handle to close even then).
    std::unique_ptr<Store> store(new Store(raw));
    const std::string what = "open store " + name;
    auto fail = [&](const std::string& why) { throw StoreError(what + ": " + why); };
    try {
        if (rc != SQLITE_OK) fail(sqlite3_errmsg(raw));
        // SQLite silently falls back to read-only when it may not write the file;
        // the daemon would only find out at its first commit.
        if (sqlite3_db_readonly(raw, "main") == 1) fail("the database is read-only");
        sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
        auto mode = pragma_text(raw, "PRAGMA journal_mode = WAL", what);
        if (mode != "wal") fail("cannot use WAL journal mode (SQLite kept '" + mode + "')");
        // WAL + FULL fsyncs the log at every commit; WAL + NORMAL only at
        // checkpoints, which still survives a crash of the process, not of the host.
        const char* sync_sql = options.sync == Sync::full ? "PRAGMA synchronous = FULL"
                                                           : "PRAGMA synchronous = NORMAL";
        sql::exec(raw, sync_sql, what);
        sql::exec(raw, "PRAGMA foreign_keys = ON", what);
        if (pragma_text(raw, "PRAGMA foreign_keys", what) != "1")
            fail("this SQLite cannot enforce foreign keys");
        schema::migrate(raw);
        store->stmts_ = std::make_unique<Statements>(raw);
        store->stmts_->checkpointer = std::make_unique<Checkpointer>(raw, name, sync_sql);
    } catch (const StoreError& e) {
        // Every open failure reads "open store <path>: ...", plus which of the usual
        // reasons applies: SQLite's "unable to open database file" covers them all,
        // and a read-only directory may only show when the WAL file cannot be made.
        std::string msg = e.what();
        if (msg.rfind(what + ": ", 0) != 0) msg = what + ": " + msg;
        throw StoreError(msg + diagnose(path));
    }
    return store;
}

std::unique_ptr<Store> Store::open_reader(const std::filesystem::path& path) {
    const std::string name = path.string();
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(name.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<Store> store(new Store(raw));
    const std::string what = "open store reader " + name;
    auto fail = [&](const std::string& why) { throw StoreError(what + ": " + why); };
    try {
        if (rc != SQLITE_OK) fail(sqlite3_errmsg(raw));
        // Readers never wait for the writer in WAL mode; this covers a checkpoint's
        // brief exclusive moments.
        sqlite3_busy_timeout(raw, 5000);
        auto mode = pragma_text(raw, "PRAGMA journal_mode", what);
        if (mode != "wal") fail("the database is not in WAL mode ('" + mode + "')");
        const auto version = pragma_text(raw, "PRAGMA user_version", what);
        if (version != std::to_string(schema_version))
            fail("schema version " + version + ", expected " + std::to_string(schema_version) +
                 " (open the store for writing first)");
        store->stmts_ = std::make_unique<Statements>(raw);
    } catch (const StoreError& e) {
        std::string msg = e.what();
        if (msg.rfind(what + ": ", 0) != 0) msg = what + ": " + msg;
        throw StoreError(msg + diagnose(path));
    }
    return store;
}

int Store::version() const {
    std::lock_guard lock(stmts_->mutex);
    Query q(stmts_->user_version);
    if (!q.step("read schema version")) throw StoreError("read schema version: no row");
    return q.integer(0);
}

int Store::mark_interrupted(const std::string& reason) {
    std::lock_guard lock(stmts_->mutex);
    const char* what = "mark interrupted runs";
    const std::string now = now_text();
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    // Scenarios first: the runs' status is what selects them.
    Query(stmts_->interrupt_scenarios).bind(1, reason).bind(2, now).run(what);
    // The run's outcome becomes `aborted` rather than staying NULL, so every run
    // that is over has an outcome and an end time; `interrupted` status is what
    // tells it apart from an operator's abort. ended_at is when the interruption
    // was noticed: the crash time itself is unknown.
    int runs = Query(stmts_->interrupt_runs).bind(1, reason).bind(2, now).run(what);
    tx.commit(what);
    return runs;
}

bool Store::interrupt_run(std::int64_t run_id, const std::string& reason) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "mark run " + std::to_string(run_id) + " interrupted"; };
    const std::string now = now_text();
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    Query(stmts_->interrupt_run_scenarios).bind(1, run_id).bind(2, reason).bind(3, now).run(what);
    const int n = Query(stmts_->interrupt_run).bind(1, run_id).bind(2, reason).bind(3, now).run(what);
    tx.commit(what);
    return n > 0;
}

bool Store::resume_run(std::int64_t run_id) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "resume run " + std::to_string(run_id); };
    return Query(stmts_->resume_run).bind(1, run_id).run(what) > 0;
}

void Store::begin_run(Run& run) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "begin run of suite " + run.suite_id + " on " + run.device_id; };
    Query q(stmts_->insert_run);
    q.bind(1, run.device_id).bind(2, run.suite_id).bind(3, run.suite_title);
    q.bind(4, run.suite_hash).bind(5, run.driver).bind(6, run.station_id);
    q.bind(7, run.certlab_version).bind(8, to_string(run.status));
    if (run.outcome) q.bind(9, to_string(*run.outcome));
    else q.bind_null(9);
    q.bind(10, run.reason).bind(11, format_time(run.started_at));
    if (run.ended_at) q.bind(12, format_time(*run.ended_at));
    else q.bind_null(12);
    q.bind(13, run.scenarios_total).bind(14, codec::roles_to_json(run.roles));
    q.bind(15, run.firmware).bind(16, run.certification_id);
    q.run(what);
    run.id = sqlite3_last_insert_rowid(db_);
}

void Store::update_run_status(std::int64_t run_id, RunStatus status) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "set status of run " + std::to_string(run_id); };
    if (Query(stmts_->update_run_status).bind(1, run_id).bind(2, to_string(status)).run(what) == 0)
        throw StoreError(what() + ": no such run");
}

void Store::end_run(std::int64_t run_id, RunStatus status, Outcome outcome,
                    const std::string& reason) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "end run " + std::to_string(run_id); };
    Query q(stmts_->end_run);
    q.bind(1, run_id).bind(2, to_string(status)).bind(3, to_string(outcome));
    q.bind(4, reason).bind(5, now_text());
    if (q.run(what) == 0) throw StoreError(what() + ": no such run");
}

void Store::begin_scenario(ScenarioResult& s) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "begin scenario " + s.scenario_id + " of run " + std::to_string(s.run_id); };
    Query q(stmts_->insert_scenario);
    q.bind(1, s.run_id).bind(2, s.scenario_id).bind(3, s.title);
    if (s.outcome) q.bind(4, to_string(*s.outcome));
    else q.bind_null(4);
    q.bind(5, s.reason).bind(6, s.iterations).bind(7, s.iterations_planned);
    q.bind(8, s.passed_iterations).bind(9, format_time(s.started_at));
    if (s.ended_at) q.bind(10, format_time(*s.ended_at));
    else q.bind_null(10);
    q.run(what);
    s.id = sqlite3_last_insert_rowid(db_);
}

void Store::update_scenario_progress(const ScenarioResult& s) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "update progress of scenario " + s.scenario_id + " (result " + std::to_string(s.id) + ")"; };
    Query q(stmts_->update_scenario_progress);
    q.bind(1, s.id).bind(2, s.iterations).bind(3, s.iterations_planned);
    q.bind(4, s.passed_iterations);
    if (s.stats) q.bind(5, codec::soak_stats_to_json(*s.stats));
    else q.bind_null(5);
    if (q.run(what) == 0) throw StoreError(what() + ": no such scenario result");
}

void Store::end_scenario(const ScenarioResult& s) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "end scenario " + s.scenario_id + " (result " + std::to_string(s.id) + ")"; };
    if (!s.outcome) throw StoreError(what() + ": no outcome given");
    Query q(stmts_->end_scenario);
    q.bind(1, s.id).bind(2, to_string(*s.outcome)).bind(3, s.reason).bind(4, s.iterations);
    q.bind(5, s.iterations_planned).bind(6, s.passed_iterations);
    q.bind(7, s.ended_at ? format_time(*s.ended_at) : now_text());
    if (s.stats) q.bind(8, codec::soak_stats_to_json(*s.stats));
    else q.bind_null(8);
    if (q.run(what) == 0) throw StoreError(what() + ": no such scenario result");
}

void Store::commit_step(StepResult& step) {
    auto what = [&] {
        return "commit step " + std::to_string(step.seq) + " of run " + std::to_string(step.run_id);
    };
    // Encode before taking the lock: it is the costly part and needs no database.
    std::string args, values, transcript;
    try {
        args = codec::values_to_json(step.args);
        values = codec::values_to_json(step.values);
        transcript = codec::transcript_to_json(step.transcript);
    } catch (const std::exception& e) {
        throw StoreError(what() + ": " + e.what());
    }

    std::lock_guard lock(stmts_->mutex);
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    {
        Query q(stmts_->insert_step);
        q.bind(1, step.run_id).bind(2, step.scenario_result_id).bind(3, step.seq);
        q.bind(4, step.iteration).bind(5, step.index).bind(6, step.kind).bind(7, step.action);
        q.bind(8, args).bind(9, values).bind(10, to_string(step.outcome)).bind(11, step.reason);
        q.bind(12, format_time(step.started_at)).bind(13, step.duration_us).bind(14, transcript);
        q.bind(15, step.role).bind(16, to_string(step.phase)).bind(17, step.attempt);
        q.bind(18, step.retried).bind(19, step.warning);
        q.run(what);
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    for (const Measurement& m : step.measurements) {
        Query q(stmts_->insert_measurement);
        q.bind(1, id).bind(2, m.name).bind(3, m.value).bind(4, m.unit);
        q.bind(5, m.low).bind(6, m.high).bind(7, m.within).bind(8, m.marginal);
        q.run(what);
    }
    tx.commit(what);
    step.id = id;  // only once durable: a caller never holds the id of a lost step
}

std::string Store::integrity_check() const {
    std::lock_guard lock(stmts_->mutex);
    std::string out;
    try {
        sql::Stmt s(db_, "PRAGMA integrity_check");  // rare and slow anyway: not cached
        Query q(s);
        while (q.step("integrity check")) {
            if (!out.empty()) out += '\n';
            out += q.text(0);
        }
    } catch (const StoreError&) {
        // Damage bad enough that SQLite cannot even walk the file is still an
        // answer to "is it healthy?", not a failure to ask.
        int rc = sqlite3_errcode(db_);
        if (rc != SQLITE_CORRUPT && rc != SQLITE_NOTADB) throw;
        if (!out.empty()) out += '\n';
        out += sqlite3_errstr(rc);
    }
    return out;
}

}  // namespace certlab::record
