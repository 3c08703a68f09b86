// The station's durable record: SQLite in WAL mode with a versioned schema.
// Every write is its own transaction and is committed when the call returns.
// A Store may be shared between threads: its calls are serialized.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "record/certification.hpp"
#include "record/model.hpp"
#include "record/outbox.hpp"
#include "record/prompt.hpp"

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
    /// A second, read-only connection to a store open() has made current: its reads
    /// take their own snapshot (WAL) and never wait for the writer's calls, nor make
    /// the writer wait. Any write through it fails. Throws StoreError, also when the
    /// database is not in WAL mode or not at schema_version.
    static std::unique_ptr<Store> open_reader(const std::filesystem::path& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    static constexpr int schema_version = 6;
    [[nodiscard]] int version() const;

    /// Marks every run left `running` or `queued` by a previous process as
    /// `interrupted` (and its open scenarios as `aborted`); returns how many runs.
    /// Such a run also gets outcome `aborted`, `reason` and ended_at = now, so every
    /// run that is over has an outcome; the status tells it from an operator abort.
    int mark_interrupted(const std::string& reason);

    // Resuming runs cut by a restart (the station decides which; see station.cpp).

    /// Runs left `queued` or `running` by a previous process, oldest first.
    [[nodiscard]] std::vector<Run> unfinished_runs() const;
    /// Marks one unfinished run `interrupted` like mark_interrupted; false when it is
    /// not unfinished.
    bool interrupt_run(std::int64_t run_id, const std::string& reason);
    /// An unfinished run goes on: status `running`, `resumed` counted; false when it
    /// is not unfinished.
    bool resume_run(std::int64_t run_id);
    /// The highest step seq of the run (0 when it has none).
    [[nodiscard]] std::int64_t last_seq(std::int64_t run_id) const;
    /// Every step of one scenario result in order, with measurements.
    [[nodiscard]] std::vector<StepResult> scenario_steps(std::int64_t scenario_result_id) const;

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
    /// Names the steps a reader already holds in another form (the API keeps steps
    /// it rendered, which never change once committed): such a step comes back with
    /// only `id`, `run_id` and `seq` set, its columns not decoded.
    using KnownStep = std::function<bool(std::int64_t step_id)>;
    /// The run with its scenarios and at most `step_limit` steps (most recent last;
    /// 0 = none, -1 = all).
    [[nodiscard]] std::optional<RunDetail> get_run_detail(std::int64_t run_id, int step_limit,
                                                          const KnownStep& known = {}) const;
    [[nodiscard]] std::vector<StepResult> steps(std::int64_t run_id, std::int64_t after_seq, int limit,
                                               const KnownStep& known = {}) const;
    [[nodiscard]] std::int64_t step_count(std::int64_t run_id) const;

    // The certification record (store_cert.cpp). Whether a change is allowed is
    // certify/'s business; the store keeps what it is given, each write one transaction.

    /// Inserts the certification with its permissions and plan, and the intake as its
    /// first phase change; sets c.id.
    void create_certification(Certification& c);
    /// Ids of every certification, newest first.
    [[nodiscard]] std::vector<std::int64_t> certification_ids() const;
    [[nodiscard]] std::optional<Certification> get_certification(std::int64_t id) const;
    /// The certification and everything recorded about it, in one consistent snapshot.
    [[nodiscard]] std::optional<CertificationRecord> read_certification(std::int64_t id) const;
    /// Records a sign-off (sets s.id). A `certified` verdict also closes the
    /// scenario's open failure issues with `resolution`; a rejection's `issue`, when
    /// given, is inserted (sets its id). Returns how many issues were closed.
    int record_signoff(SignOff& s, Issue* issue, const std::string& resolution);
    /// Inserts an issue; sets issue.id.
    void add_issue(Issue& issue);
    /// Inserts failure issues, each at most once per certification, run and scenario
    /// (a duplicate is skipped, not an error); returns the ones inserted, with ids.
    [[nodiscard]] std::vector<Issue> add_failure_issues(std::vector<Issue> issues);
    /// Closes an open issue of the certification; false when there is none such.
    bool close_issue(std::int64_t certification_id, std::int64_t issue_id, const std::string& by,
                     const std::string& resolution, TimePoint at);
    /// Inserts a pilot merchant (names are unique within a certification); sets m.id.
    void add_merchant(Merchant& m);
    /// Moves the certification from change.from to change.to and records the change;
    /// false (nothing written) when its phase is no longer change.from.
    bool change_phase(const PhaseChange& change);

    // Technician prompts (store_prompts.cpp, schema version 4). A prompt is stored when
    // it opens and leaves `open` exactly once (answered, timed out, cancelled or
    // interrupted): only the write that still finds it open succeeds, so a late or a
    // second answer is refused instead of overwriting the first. Prompts come at human
    // speed, so their statements are prepared per call rather than cached.

    /// Largest attachment an answer may carry [bytes]: a phone photo fits, and the
    /// database stays a file one can copy off a bench PC.
    static constexpr std::size_t max_attachment_bytes = 8 * 1024 * 1024;
    /// Inserts the prompt as open (opened_at, deadline as given) and sets p.id.
    void open_prompt(Prompt& p);
    /// Records the answer, and the attachment with its size and sha256, in one
    /// transaction if the prompt is still open; false when it is not (or is unknown).
    /// Throws StoreError for an attachment over max_attachment_bytes.
    bool answer_prompt(std::int64_t id, const PromptAnswer& answer, const std::optional<Attachment>& attachment);
    /// Closes an open prompt as timed_out or cancelled; false when it was not open.
    bool close_prompt(std::int64_t id, PromptStatus status, const std::string& reason);
    /// Marks every prompt a previous process left open `interrupted`; returns how many.
    int close_open_prompts(const std::string& reason);
    /// Newest first; only open ones when `open_only`; only run `run_id`'s when given;
    /// a negative limit means all.
    [[nodiscard]] std::vector<Prompt> list_prompts(bool open_only, std::optional<std::int64_t> run_id,
                                                   int limit) const;
    [[nodiscard]] std::optional<Prompt> get_prompt(std::int64_t id) const;
    /// The attachment of an answered prompt with its bytes; nullopt when it has none.
    [[nodiscard]] std::optional<Attachment> get_attachment(std::int64_t prompt_id) const;

    // The outbox (store_outbox.cpp, schema version 6): what the certification record
    // has not acknowledged yet, oldest first, parents before their children.

    /// Starts filling the outbox: from now on every change to a run, scenario result,
    /// step, certification, sign-off or issue adds a row in its own transaction (while
    /// this Store is open). The first time ever, everything already recorded is put in
    /// the outbox too. `on_enqueue` is called when a row is added, before its
    /// transaction commits and with the store locked: it must only signal (the change
    /// is visible to the next Store call).
    void enable_outbox(std::function<void()> on_enqueue);
    /// The oldest pending row; nullopt when the outbox is empty.
    [[nodiscard]] std::optional<OutboxItem> outbox_head() const;
    /// The `limit` oldest pending rows, oldest first.
    [[nodiscard]] std::vector<OutboxItem> outbox_next(int limit) const;
    /// Fixes the request a row is sent as, for good. false, and nothing written, when
    /// it was frozen already or its item changed since `item` was read (its `changes`
    /// moved on): the request may miss that change, so it is built again.
    bool outbox_freeze(const OutboxItem& item, const OutboxRequest& request);
    /// Freezes several rows in one transaction (one fsync); whether each was frozen.
    std::vector<bool> outbox_freeze(const std::vector<std::pair<OutboxItem, OutboxRequest>>& requests);
    /// The record acknowledged the row: it leaves the outbox.
    void outbox_done(std::int64_t id);
    /// Several acknowledged rows leave in one transaction. Losing this write to a
    /// crash costs only a re-send, which the record answers as a replay.
    void outbox_done(const std::vector<std::int64_t>& ids);
    /// An attempt failed: counted, with the reason, and the row stays at the head.
    void outbox_failed(std::int64_t id, const std::string& error);
    /// An item that no longer exists in the store (a certification deleted, say)
    /// leaves the outbox unsent.
    void outbox_drop(std::int64_t id);
    [[nodiscard]] OutboxStats outbox_stats() const;

    /// `PRAGMA integrity_check` result: "ok" when healthy.
    [[nodiscard]] std::string integrity_check() const;

private:
    explicit Store(sqlite3* db);
    sqlite3* db_;
    struct Statements;
    std::unique_ptr<Statements> stmts_;
};

}  // namespace certlab::record
