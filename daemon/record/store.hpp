// The station's durable record: SQLite in WAL mode with a versioned schema.
// Every write is its own transaction and is committed when the call returns.
// A Store may be shared between threads: its calls are serialized.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "record/model.hpp"

struct sqlite3;

namespace certlab::record {

/// A store operation failed (disk full, corruption, I/O): the message names the
/// operation and SQLite's error.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Store {
public:
    enum class Sync { normal, full };
    struct Options {
        /// full: fsync the WAL on every commit (survives power loss);
        /// normal: survives a process crash, may lose the last commits on power loss.
        Sync sync = Sync::full;
        /// How long a write waits for another connection's write lock (e.g. an
        /// operator's sqlite3 shell or a backup) before failing with "database is locked".
        std::chrono::milliseconds busy_timeout{5000};
    };

    /// Opens (creating if needed) and migrates to the current schema version.
    static std::unique_ptr<Store> open(const std::filesystem::path& path, Options options);
    static std::unique_ptr<Store> open(const std::filesystem::path& path) { return open(path, Options{}); }
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    static constexpr int schema_version = 2;
    [[nodiscard]] int version() const;

    /// Marks every run left `running` or `queued` by a previous process as
    /// `interrupted` (and its open scenarios as `aborted`); returns how many runs.
    /// Such a run also gets outcome `aborted`, `reason` and ended_at = now, so every
    /// run that is over has an outcome; the status tells it from an operator abort.
    int mark_interrupted(const std::string& reason);

    /// Inserts the run (status as given) and sets run.id.
    void begin_run(Run& run);
    void update_run_status(std::int64_t run_id, RunStatus status);
    void end_run(std::int64_t run_id, RunStatus status, Outcome outcome, const std::string& reason);

    /// Inserts the scenario result (no outcome yet) and sets s.id.
    void begin_scenario(ScenarioResult& s);
    /// Updates the iteration counters of a running scenario.
    void update_scenario_progress(const ScenarioResult& s);
    void end_scenario(const ScenarioResult& s);

    /// Commits one step result with its transcript and measurements in one
    /// transaction; sets step.id. When this returns the step is durable.
    void commit_step(StepResult& step);

    /// Most recent first (started_at, then id); a negative limit means all.
    [[nodiscard]] std::vector<Run> list_runs(int limit, const std::string& device_id = {}) const;
    [[nodiscard]] std::optional<Run> get_run(std::int64_t run_id) const;
    /// The run with its scenarios and at most `step_limit` steps (most recent last;
    /// 0 = none, -1 = all).
    [[nodiscard]] std::optional<RunDetail> get_run_detail(std::int64_t run_id, int step_limit) const;
    [[nodiscard]] std::vector<StepResult> steps(std::int64_t run_id, std::int64_t after_seq,
                                               int limit) const;
    [[nodiscard]] std::int64_t step_count(std::int64_t run_id) const;

    /// `PRAGMA integrity_check` result: "ok" when healthy.
    [[nodiscard]] std::string integrity_check() const;

private:
    explicit Store(sqlite3* db);
    sqlite3* db_;
    struct Statements;
    std::unique_ptr<Statements> stmts_;
};

}  // namespace certlab::record
