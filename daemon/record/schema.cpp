#include "record/schema.hpp"

#include <array>

#include "record/sqlite.hpp"
#include "record/store.hpp"

namespace certlab::record::schema {

namespace {

// Version 1. Notes on choices that are not obvious from the SQL:
// - Times are TEXT in format_time() form (ISO 8601 UTC, ms): readable with the
//   sqlite3 shell and they sort chronologically as text.
// - `values` is an SQL keyword, hence the quotes wherever the column is named.
// - args/values are JSON objects {"name": {"v": 3.3, "unit": "V"}}; transcript is a
//   JSON array of {"dir": ">"|"<"|"#", "t_us": n, "hex"|"text": ...} (codec.cpp).
//   No json_valid() CHECK: the store writes them itself and commit_step is hot.
// - UNIQUE(run_id, seq) is also the index that lists a run's steps in order; a
//   second index would only slow commit_step down.
// - measurements.value is nullable because SQLite stores a NaN as NULL; a device
//   that returns garbage must not make its step impossible to record.
// - No index on step_results.scenario_result_id: nothing deletes scenarios or
//   lists steps by scenario yet; the migration that adds either adds the index.
constexpr std::string_view v1 = R"sql(
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  device_id        TEXT    NOT NULL,
  suite_id         TEXT    NOT NULL,
  suite_title      TEXT    NOT NULL DEFAULT '',
  suite_hash       TEXT    NOT NULL DEFAULT '',
  driver           TEXT    NOT NULL DEFAULT '',
  station_id       TEXT    NOT NULL DEFAULT '',
  certlab_version  TEXT    NOT NULL DEFAULT '',
  status           TEXT    NOT NULL
    CHECK (status IN ('queued', 'running', 'completed', 'aborted', 'interrupted')),
  outcome          TEXT
    CHECK (outcome IN ('pass', 'fail', 'error', 'timeout', 'aborted', 'skipped')),
  reason           TEXT    NOT NULL DEFAULT '',
  started_at       TEXT    NOT NULL,
  ended_at         TEXT,
  scenarios_total  INTEGER NOT NULL DEFAULT 0 CHECK (scenarios_total >= 0)
);
CREATE INDEX runs_by_device_time ON runs (device_id, started_at, id);
CREATE INDEX runs_by_time ON runs (started_at, id);
-- Only unfinished runs: what mark_interrupted looks for at every start.
CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running');

CREATE TABLE scenario_results (
  id                  INTEGER PRIMARY KEY,
  run_id              INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  scenario_id         TEXT    NOT NULL,
  title               TEXT    NOT NULL DEFAULT '',
  outcome             TEXT
    CHECK (outcome IN ('pass', 'fail', 'error', 'timeout', 'aborted', 'skipped')),
  reason              TEXT    NOT NULL DEFAULT '',
  iterations          INTEGER NOT NULL DEFAULT 0 CHECK (iterations >= 0),
  iterations_planned  INTEGER NOT NULL DEFAULT 1 CHECK (iterations_planned >= 0),
  passed_iterations   INTEGER NOT NULL DEFAULT 0 CHECK (passed_iterations >= 0),
  started_at          TEXT    NOT NULL,
  ended_at            TEXT
);
CREATE INDEX scenario_results_by_run ON scenario_results (run_id, id);

CREATE TABLE step_results (
  id                  INTEGER PRIMARY KEY,
  run_id              INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  scenario_result_id  INTEGER NOT NULL
    REFERENCES scenario_results (id) ON DELETE CASCADE,
  seq                 INTEGER NOT NULL CHECK (seq >= 1),
  iteration           INTEGER NOT NULL CHECK (iteration >= 0),
  step_index          INTEGER NOT NULL CHECK (step_index >= 0),
  kind                TEXT    NOT NULL,
  action              TEXT    NOT NULL DEFAULT '',
  args                TEXT    NOT NULL DEFAULT '{}',
  "values"            TEXT    NOT NULL DEFAULT '{}',
  outcome             TEXT    NOT NULL
    CHECK (outcome IN ('pass', 'fail', 'error', 'timeout', 'aborted', 'skipped')),
  reason              TEXT    NOT NULL DEFAULT '',
  started_at          TEXT    NOT NULL,
  duration_us         INTEGER NOT NULL CHECK (duration_us >= 0),
  transcript          TEXT    NOT NULL DEFAULT '[]',
  UNIQUE (run_id, seq)
);

CREATE TABLE measurements (
  id              INTEGER PRIMARY KEY,
  step_result_id  INTEGER NOT NULL REFERENCES step_results (id) ON DELETE CASCADE,
  name            TEXT    NOT NULL,
  value           REAL,
  unit            TEXT    NOT NULL DEFAULT '',
  low             REAL,
  high            REAL,
  within          INTEGER NOT NULL CHECK (within IN (0, 1))
);
CREATE INDEX measurements_by_step ON measurements (step_result_id, id);
)sql";

// Version 2: runs over several devices. A suite's roles (the device under test plus,
// say, the power supply that cycles it) are bound to devices when the run starts;
// the run keeps that binding and each step the role it ran on.
constexpr std::string_view v2 = R"sql(
ALTER TABLE runs ADD COLUMN roles TEXT NOT NULL DEFAULT '{}';
ALTER TABLE step_results ADD COLUMN role TEXT NOT NULL DEFAULT 'dut';
)sql";

// Version 3: the certification record (DESIGN.md section 6). A certification is a
// partner device taken in for a set of API permissions; its plan is the scenarios
// those permissions require, fixed at intake so later suite edits do not move the
// goalposts. Scenario status is never stored: it is derived from the results of the
// certification's runs plus sign-offs (certify/status.hpp). Notes:
// - signoffs reference the plan item, so the database itself refuses a verdict on
//   a scenario the certification does not require, and the result judged.
// - issues_one_per_failure: a failed required scenario becomes exactly one issue
//   per run, however often the run is read back (INSERT OR IGNORE relies on it).
// - runs.firmware is what the device reported when the run started (provenance);
//   runs.certification_id is NULL for runs made outside any certification.
// - Lists of names (capabilities, a plan item's permissions and roles) are JSON
//   arrays: they are read and written whole, never queried by element.
constexpr std::string_view v3 = R"sql(
CREATE TABLE certifications (
  id             INTEGER PRIMARY KEY,
  partner        TEXT    NOT NULL CHECK (partner <> ''),
  integration    TEXT    NOT NULL CHECK (integration <> ''),
  device_model   TEXT    NOT NULL CHECK (device_model <> ''),
  serial_number  TEXT    NOT NULL DEFAULT '',
  firmware       TEXT    NOT NULL DEFAULT '',
  device_id      TEXT    NOT NULL,
  capabilities   TEXT    NOT NULL DEFAULT '[]',
  taken_in_by    TEXT    NOT NULL DEFAULT '',
  phase          TEXT    NOT NULL
    CHECK (phase IN ('intake', 'lab', 'certified', 'pilot', 'ga')),
  created_at     TEXT    NOT NULL,
  phase_since    TEXT    NOT NULL
);

CREATE TABLE certification_permissions (
  certification_id  INTEGER NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
  position          INTEGER NOT NULL CHECK (position >= 0),
  permission        TEXT    NOT NULL CHECK (permission <> ''),
  PRIMARY KEY (certification_id, permission)
) WITHOUT ROWID;

CREATE TABLE plan_items (
  certification_id  INTEGER NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
  position          INTEGER NOT NULL CHECK (position >= 0),
  scenario_id       TEXT    NOT NULL,
  suite_id          TEXT    NOT NULL,
  title             TEXT    NOT NULL DEFAULT '',
  permissions       TEXT    NOT NULL DEFAULT '[]',
  roles             TEXT    NOT NULL DEFAULT '[]',
  PRIMARY KEY (certification_id, scenario_id)
) WITHOUT ROWID;

CREATE TABLE signoffs (
  id                  INTEGER PRIMARY KEY,
  certification_id    INTEGER NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
  scenario_id         TEXT    NOT NULL,
  scenario_result_id  INTEGER NOT NULL REFERENCES scenario_results (id),
  verdict             TEXT    NOT NULL CHECK (verdict IN ('certified', 'rejected')),
  signed_by           TEXT    NOT NULL CHECK (signed_by <> ''),
  feedback            TEXT    NOT NULL DEFAULT '',
  signed_at           TEXT    NOT NULL,
  FOREIGN KEY (certification_id, scenario_id) REFERENCES plan_items (certification_id, scenario_id)
);
CREATE INDEX signoffs_by_certification ON signoffs (certification_id, id);

CREATE TABLE issues (
  id                  INTEGER PRIMARY KEY,
  certification_id    INTEGER NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
  title               TEXT    NOT NULL CHECK (title <> ''),
  next_steps          TEXT    NOT NULL DEFAULT '',
  severity            TEXT    NOT NULL CHECK (severity IN ('critical', 'major', 'minor')),
  source              TEXT    NOT NULL CHECK (source IN ('failure', 'rejection', 'manual')),
  scenario_id         TEXT    NOT NULL DEFAULT '',
  run_id              INTEGER REFERENCES runs (id),
  scenario_result_id  INTEGER REFERENCES scenario_results (id),
  status              TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
  phase               TEXT    NOT NULL
    CHECK (phase IN ('intake', 'lab', 'certified', 'pilot', 'ga')),
  raised_by           TEXT    NOT NULL DEFAULT '',
  created_at          TEXT    NOT NULL,
  closed_at           TEXT,
  closed_by           TEXT    NOT NULL DEFAULT '',
  resolution          TEXT    NOT NULL DEFAULT '',
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX issues_by_certification ON issues (certification_id, id);
CREATE UNIQUE INDEX issues_one_per_failure ON issues (certification_id, run_id, scenario_id)
  WHERE source = 'failure';

CREATE TABLE merchants (
  id                INTEGER PRIMARY KEY,
  certification_id  INTEGER NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
  name              TEXT    NOT NULL CHECK (name <> ''),
  location          TEXT    NOT NULL DEFAULT '',
  added_by          TEXT    NOT NULL DEFAULT '',
  added_at          TEXT    NOT NULL,
  UNIQUE (certification_id, name)
);

CREATE TABLE phase_changes (
  id                INTEGER PRIMARY KEY,
  certification_id  INTEGER NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
  from_phase        TEXT CHECK (from_phase IN ('intake', 'lab', 'certified', 'pilot', 'ga')),
  to_phase          TEXT NOT NULL CHECK (to_phase IN ('intake', 'lab', 'certified', 'pilot', 'ga')),
  changed_by        TEXT NOT NULL DEFAULT '',
  note              TEXT NOT NULL DEFAULT '',
  changed_at        TEXT NOT NULL
);
CREATE INDEX phase_changes_by_certification ON phase_changes (certification_id, id);

ALTER TABLE runs ADD COLUMN firmware TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN certification_id INTEGER REFERENCES certifications (id);
CREATE INDEX runs_by_certification ON runs (certification_id, id) WHERE certification_id IS NOT NULL;
)sql";

// Version 4: technician prompts (DESIGN.md section 5). A prompt step stores its
// question when it opens and its answer before the runner goes on, so a technician's
// answer is never lost and the API can list what is waiting at the bench. Notes:
// - status 'open' is the only state an answer may move out of; the UPDATE that
//   answers says WHERE status = 'open', which is what makes a double answer a 409.
// - deadline is when the runner stops waiting (format_time() text, comparable).
// - choices and fail_on are JSON arrays, read and written whole.
// - Attachments (photo/file answers) live in their own table so listing prompts
//   never reads a BLOB; the store refuses content over Store::max_attachment_bytes.
// - prompts_open is what the desk, the API's default list and close_open_prompts
//   at every start look for.
constexpr std::string_view v4 = R"sql(
CREATE TABLE prompts (
  id              INTEGER PRIMARY KEY,
  run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  scenario_id     TEXT    NOT NULL,
  iteration       INTEGER NOT NULL DEFAULT 0 CHECK (iteration >= 0),
  step_index      INTEGER NOT NULL CHECK (step_index >= 0),
  kind            TEXT    NOT NULL
    CHECK (kind IN ('confirm', 'choice', 'number', 'text', 'photo', 'file')),
  message         TEXT    NOT NULL CHECK (message <> ''),
  choices         TEXT    NOT NULL DEFAULT '[]',
  fail_on         TEXT    NOT NULL DEFAULT '[]',
  min             REAL,
  max             REAL,
  unit            TEXT    NOT NULL DEFAULT '',
  on_timeout      TEXT    NOT NULL CHECK (on_timeout IN ('skip', 'fail', 'error')),
  status          TEXT    NOT NULL
    CHECK (status IN ('open', 'answered', 'timed_out', 'cancelled', 'interrupted')),
  opened_at       TEXT    NOT NULL,
  deadline        TEXT    NOT NULL,
  closed_at       TEXT,
  answer          TEXT,
  answered_by     TEXT    NOT NULL DEFAULT '',
  comment         TEXT    NOT NULL DEFAULT '',
  close_reason    TEXT    NOT NULL DEFAULT '',
  CHECK ((status = 'open') = (closed_at IS NULL)),
  CHECK ((status = 'answered') = (answer IS NOT NULL))
);
CREATE INDEX prompts_by_run ON prompts (run_id, id);
CREATE INDEX prompts_open ON prompts (status) WHERE status = 'open';

CREATE TABLE attachments (
  id          INTEGER PRIMARY KEY,
  prompt_id   INTEGER NOT NULL UNIQUE REFERENCES prompts (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL CHECK (name <> ''),
  size        INTEGER NOT NULL CHECK (size >= 0),
  sha256      TEXT    NOT NULL,
  content     BLOB    NOT NULL,
  created_at  TEXT    NOT NULL
);
)sql";

// Version 5: the scenario engine's structure and soaks (DESIGN.md section 5).
// - step_results.phase: setup and teardown steps, and a soak's power cycles, are
//   told apart from an iteration's steps; step_index counts within the phase.
// - attempt/retried: every try of a step with `retry:` is kept, and `retried` marks
//   the ones whose outcome was retried, so an iteration's outcome is the outcome of
//   its first bad step that was not retried (what a recount does).
// - warning / measurements.marginal: a value in a suite's marginal band passes and says so.
// - scenario_results.stats: a soak's running statistics as JSON (record/codec.cpp),
//   refreshed with its progress; always recomputable from its steps.
// - runs.resumed: how often a run cut by a restart was resumed.
// - step_results_by_scenario: resuming a soak reads its steps back by scenario.
constexpr std::string_view v5 = R"sql(
ALTER TABLE step_results ADD COLUMN phase TEXT NOT NULL DEFAULT 'main'
  CHECK (phase IN ('setup', 'main', 'teardown', 'power'));
ALTER TABLE step_results ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1);
ALTER TABLE step_results ADD COLUMN retried INTEGER NOT NULL DEFAULT 0 CHECK (retried IN (0, 1));
ALTER TABLE step_results ADD COLUMN warning TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN marginal INTEGER NOT NULL DEFAULT 0 CHECK (marginal IN (0, 1));
ALTER TABLE scenario_results ADD COLUMN stats TEXT;
ALTER TABLE runs ADD COLUMN resumed INTEGER NOT NULL DEFAULT 0 CHECK (resumed >= 0);
CREATE INDEX step_results_by_scenario ON step_results (scenario_result_id, seq);
)sql";

// Version 6: the outbox (DESIGN.md section 6). What the certification record has
// not acknowledged yet, in the order it must arrive there (a parent before its
// children). Rows are added by triggers in the same transaction as the change they
// announce (record/outbox.cpp creates them while upload is configured), so a
// committed result is never missing from the outbox. Notes:
// - A row names what to send (kind, parent, ref), not its content: the document is
//   built from the store when the row reaches the head, so a certification or a
//   soak's scenario that changes a hundred times while the record is down is sent
//   once, in its latest state. outbox_pending makes that coalescing an upsert: at
//   most one unfrozen row per item, whose `changes` counts the changes since it was
//   added. The uploader freezes a row only if `changes` is still what it was when it
//   read the item, so a change that lands between reading and freezing is never
//   left unsent.
// - Freezing: before its first attempt a row gets its idempotency key and the exact
//   request (method, path, body), committed. Every retry, also after a crash or a
//   kill, sends the same bytes under the same key, so the record stores it once.
// - AUTOINCREMENT: ids are never reused, even after the outbox empties, so no two
//   writes ever share an idempotency key.
// - parent is 0 for certifications and runs (NULLs would be distinct in the index).
constexpr std::string_view v6 = R"sql(
CREATE TABLE outbox (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT    NOT NULL
    CHECK (kind IN ('certification', 'run', 'scenario', 'step', 'sign_off', 'issue')),
  parent      INTEGER NOT NULL DEFAULT 0,
  ref         INTEGER NOT NULL,
  created_at  TEXT    NOT NULL,
  idem_key    TEXT    UNIQUE,
  method      TEXT,
  path        TEXT,
  body        TEXT,
  frozen_at   TEXT,
  changes     INTEGER NOT NULL DEFAULT 0 CHECK (changes >= 0),
  attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error  TEXT    NOT NULL DEFAULT '',
  CHECK ((idem_key IS NULL) = (body IS NULL)),
  CHECK ((idem_key IS NULL) = (frozen_at IS NULL))
);
CREATE UNIQUE INDEX outbox_pending ON outbox (kind, parent, ref) WHERE idem_key IS NULL;

-- When upload was first enabled: everything recorded before then was put in the
-- outbox at that moment (record/outbox.cpp), so the record gets the whole history.
CREATE TABLE outbox_enabled (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  at  TEXT    NOT NULL
);
)sql";

constexpr std::array<Migration, 6> all{{
    {1, v1},
    {2, v2},
    {3, v3},
    {4, v4},
    {5, v5},
    {6, v6},
}};
static_assert(all.size() == Store::schema_version,
              "append a migration for every schema version");

int user_version(sqlite3* db, std::string_view what) {
    sql::Stmt s(db, "PRAGMA user_version");
    sql::Query q(s);
    if (!q.step(what)) throw StoreError(std::string(what) + ": no user_version");
    return q.integer(0);
}

void refuse_newer(int found) {
    if (found > Store::schema_version || found < 0)
        throw StoreError("its schema version " +
                         std::to_string(found) + " is newer than this build of certlabd knows (" +
                         std::to_string(Store::schema_version) +
                         "); run a newer certlabd or point it at another database");
}

}  // namespace

std::span<const Migration> migrations() { return all; }

void migrate(sqlite3* db) {
    const std::string reading = "read schema version";
    int current = user_version(db, reading);
    refuse_newer(current);
    if (current == Store::schema_version) return;

    sql::TxStatements tx_sql(db);
    for (const Migration& m : all) {
        if (m.to <= current) continue;
        const std::string step = "migrate to schema version " + std::to_string(m.to);
        sql::Transaction tx(tx_sql, sql::Transaction::Kind::write, step);
        // Another process may have migrated between our read and our write lock.
        current = user_version(db, reading);
        refuse_newer(current);
        if (current >= m.to) continue;
        sql::exec(db, std::string(m.sql).c_str(), step);
        sql::exec(db, ("PRAGMA user_version = " + std::to_string(m.to)).c_str(), step);
        tx.commit(step);
        current = m.to;
    }
}

}  // namespace certlab::record::schema
