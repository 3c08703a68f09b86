// Store: the outbox (schema version 6). Rows come from TEMP triggers, so every path
// that commits a result (the runner, the certification desk, a restart marking runs
// interrupted) fills the outbox in its own transaction without knowing about it.
#include <array>

#include "record/codec.hpp"
#include "record/store.hpp"
#include "record/store_statements.hpp"

namespace certlab::record {

namespace {

using sql::Query;
using sql::Transaction;

constexpr std::array<std::string_view, 6> kind_names{"certification", "run", "scenario",
                                                     "step", "sign_off", "issue"};

// created_at in format_time() form, from SQLite's clock (the same wall clock).
#define CERTLAB_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

// One trigger: after `event` on `table`, announce (kind, parent, ref). TEMP: they
// exist for this connection only, i.e. while upload is configured, so a station
// without upload never grows an outbox. The upsert on outbox_pending coalesces
// repeated changes of an item that has not been sent yet, counting them.
std::string trigger(std::string_view name, std::string_view event, std::string_view table,
                    std::string_view kind, std::string_view parent, std::string_view ref) {
    std::string s = "CREATE TEMP TRIGGER IF NOT EXISTS outbox_";
    s.append(name).append(" AFTER ").append(event).append(" ON main.").append(table);
    s.append(" BEGIN INSERT INTO outbox (kind, parent, ref, created_at) VALUES ('");
    s.append(kind).append("', ").append(parent).append(", ").append(ref);
    s.append(", " CERTLAB_NOW ") ON CONFLICT (kind, parent, ref) WHERE idem_key IS NULL "
             "DO UPDATE SET changes = changes + 1; END;\n");
    return s;
}

std::string triggers() {
    std::string s;
    s += trigger("cert_insert", "INSERT", "certifications", "certification", "0", "NEW.id");
    s += trigger("cert_update", "UPDATE", "certifications", "certification", "0", "NEW.id");
    s += trigger("cert_plan", "INSERT", "plan_items", "certification", "0", "NEW.certification_id");
    s += trigger("cert_merchant", "INSERT", "merchants", "certification", "0", "NEW.certification_id");
    s += trigger("cert_phase", "INSERT", "phase_changes", "certification", "0", "NEW.certification_id");
    s += trigger("run_insert", "INSERT", "runs", "run", "0", "NEW.id");
    s += trigger("run_update", "UPDATE", "runs", "run", "0", "NEW.id");
    s += trigger("scenario_insert", "INSERT", "scenario_results", "scenario", "NEW.run_id", "NEW.id");
    s += trigger("scenario_update", "UPDATE", "scenario_results", "scenario", "NEW.run_id", "NEW.id");
    s += trigger("step_insert", "INSERT", "step_results", "step", "NEW.run_id", "NEW.seq");
    s += trigger("signoff_insert", "INSERT", "signoffs", "sign_off", "NEW.certification_id", "NEW.id");
    s += trigger("issue_insert", "INSERT", "issues", "issue", "NEW.certification_id", "NEW.id");
    s += trigger("issue_update", "UPDATE", "issues", "issue", "NEW.certification_id", "NEW.id");
    return s;
}

// Everything recorded before upload was first enabled, parents before children.
constexpr const char* backfill = R"sql(
INSERT INTO outbox (kind, parent, ref, created_at)
  SELECT 'certification', 0, id, )sql" CERTLAB_NOW R"sql( FROM certifications ORDER BY id;
INSERT INTO outbox (kind, parent, ref, created_at)
  SELECT 'run', 0, id, )sql" CERTLAB_NOW R"sql( FROM runs ORDER BY id;
INSERT INTO outbox (kind, parent, ref, created_at)
  SELECT 'scenario', run_id, id, )sql" CERTLAB_NOW R"sql( FROM scenario_results ORDER BY id;
INSERT INTO outbox (kind, parent, ref, created_at)
  SELECT 'step', run_id, seq, )sql" CERTLAB_NOW R"sql( FROM step_results ORDER BY run_id, seq;
INSERT INTO outbox (kind, parent, ref, created_at)
  SELECT 'sign_off', certification_id, id, )sql" CERTLAB_NOW R"sql( FROM signoffs ORDER BY id;
INSERT INTO outbox (kind, parent, ref, created_at)
  SELECT 'issue', certification_id, id, )sql" CERTLAB_NOW R"sql( FROM issues ORDER BY id;
INSERT INTO outbox_enabled (id, at) VALUES (1, )sql" CERTLAB_NOW R"sql();
)sql";

#undef CERTLAB_NOW

void update_hook(void* arg, int op, const char* /*db*/, const char* table, sqlite3_int64 /*rowid*/) {
    if (op != SQLITE_INSERT || std::string_view(table) != "outbox") return;
    const auto& notify = *static_cast<const std::function<void()>*>(arg);
    if (notify) notify();
}

}  // namespace

std::string_view to_string(OutboxKind k) { return kind_names.at(static_cast<std::size_t>(k)); }

std::optional<OutboxKind> parse_outbox_kind(std::string_view s) {
    for (std::size_t i = 0; i < kind_names.size(); ++i)
        if (kind_names[i] == s) return static_cast<OutboxKind>(i);
    return std::nullopt;
}

struct OutboxStatements {
    explicit OutboxStatements(sqlite3* db)
        : db(db),
          head(db,
               "SELECT id, kind, parent, ref, created_at, attempts, last_error, idem_key, method, path, body, "
               "changes FROM outbox ORDER BY id LIMIT ?1"),
          freeze(db,
                 "UPDATE outbox SET idem_key = ?2, method = ?3, path = ?4, body = ?5, frozen_at = ?6 "
                 "WHERE id = ?1 AND idem_key IS NULL AND changes = ?7"),
          done(db, "DELETE FROM outbox WHERE id = ?1"),
          failed(db, "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1"),
          stats(db, "SELECT count(*), min(created_at) FROM outbox") {}
    ~OutboxStatements() { sqlite3_update_hook(db, nullptr, nullptr); }
    OutboxStatements(const OutboxStatements&) = delete;
    OutboxStatements& operator=(const OutboxStatements&) = delete;

    sqlite3* db;
    sql::Stmt head;
    sql::Stmt freeze;
    sql::Stmt done;
    sql::Stmt failed;
    sql::Stmt stats;
};

void Store::enable_outbox(std::function<void()> on_enqueue) {
    std::lock_guard lock(stmts_->mutex);
    const char* what = "enable the outbox";
    sql::exec(db_, triggers().c_str(), what);
    {
        Transaction tx(stmts_->tx, Transaction::Kind::write, what);
        sql::Stmt enabled(db_, "SELECT count(*) FROM outbox_enabled");
        Query q(enabled);
        const bool first = q.step(what) && q.int64(0) == 0;
        if (first) sql::exec(db_, backfill, "put the existing record in the outbox");
        tx.commit(what);
    }
    stmts_->on_enqueue = std::move(on_enqueue);
    if (!stmts_->outbox) stmts_->outbox = std::make_shared<OutboxStatements>(db_);
    sqlite3_update_hook(db_, update_hook, &stmts_->on_enqueue);
}

std::optional<OutboxItem> Store::outbox_head() const {
    auto rows = outbox_next(1);
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}

std::vector<OutboxItem> Store::outbox_next(int limit) const {
    std::lock_guard lock(stmts_->mutex);
    std::vector<OutboxItem> out;
    if (!stmts_->outbox) return out;
    const char* what = "read the outbox";
    Query q(stmts_->outbox->head);
    q.bind(1, limit);
    while (q.step(what)) {
        OutboxItem item;
        item.id = q.int64(0);
        auto kind = parse_outbox_kind(q.text(1));
        if (!kind) throw StoreError(std::string(what) + ": unknown kind '" + std::string(q.text(1)) + "'");
        item.kind = *kind;
        item.parent = q.int64(2);
        item.ref = q.int64(3);
        item.created_at = parse_time(q.text(4)).value_or(TimePoint{});
        item.attempts = q.integer(5);
        item.last_error = q.text(6);
        if (!q.is_null(7))
            item.request = OutboxRequest{std::string(q.text(7)), std::string(q.text(8)), std::string(q.text(9)),
                                         std::string(q.text(10))};
        item.changes = q.int64(11);
        out.push_back(std::move(item));
    }
    return out;
}

bool Store::outbox_freeze(const OutboxItem& item, const OutboxRequest& r) {
    std::lock_guard lock(stmts_->mutex);
    auto what = [&] { return "freeze outbox row " + std::to_string(item.id); };
    return Query(stmts_->outbox->freeze)
               .bind(1, item.id)
               .bind(2, r.idempotency_key)
               .bind(3, r.method)
               .bind(4, r.path)
               .bind(5, r.body)
               .bind(6, format_time(std::chrono::system_clock::now()))
               .bind(7, item.changes)
               .run(what) > 0;
}

std::vector<bool> Store::outbox_freeze(const std::vector<std::pair<OutboxItem, OutboxRequest>>& requests) {
    std::lock_guard lock(stmts_->mutex);
    const char* what = "freeze outbox rows";
    const std::string now = format_time(std::chrono::system_clock::now());
    std::vector<bool> frozen;
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    for (const auto& [item, r] : requests)
        frozen.push_back(Query(stmts_->outbox->freeze)
                             .bind(1, item.id)
                             .bind(2, r.idempotency_key)
                             .bind(3, r.method)
                             .bind(4, r.path)
                             .bind(5, r.body)
                             .bind(6, now)
                             .bind(7, item.changes)
                             .run(what) > 0);
    tx.commit(what);
    return frozen;
}

void Store::outbox_done(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return;
    std::lock_guard lock(stmts_->mutex);
    const char* what = "remove acknowledged outbox rows";
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    for (auto id : ids) Query(stmts_->outbox->done).bind(1, id).run(what);
    tx.commit(what);
}

void Store::outbox_done(std::int64_t id) {
    std::lock_guard lock(stmts_->mutex);
    Query(stmts_->outbox->done).bind(1, id).run([&] { return "remove outbox row " + std::to_string(id); });
}

void Store::outbox_drop(std::int64_t id) { outbox_done(id); }

void Store::outbox_failed(std::int64_t id, const std::string& error) {
    std::lock_guard lock(stmts_->mutex);
    Query(stmts_->outbox->failed).bind(1, id).bind(2, error).run([&] {
        return "note a failed upload of outbox row " + std::to_string(id);
    });
}

OutboxStats Store::outbox_stats() const {
    std::lock_guard lock(stmts_->mutex);
    OutboxStats s;
    if (!stmts_->outbox) return s;
    Query q(stmts_->outbox->stats);
    if (!q.step("count the outbox")) return s;
    s.pending = q.int64(0);
    if (!q.is_null(1)) s.oldest = parse_time(q.text(1));
    return s;
}

}  // namespace certlab::record
