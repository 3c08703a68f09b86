// Store: the certification record (schema version 3) - certifications with their
// permissions and plans, sign-offs, issues, merchants and phase changes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "record/codec.hpp"
#include "record/store.hpp"
#include "record/store_statements.hpp"

namespace certlab::record {

namespace {

using sql::Query;
using sql::Transaction;

const std::string issue_insert_columns =
    "(certification_id, title, next_steps, severity, source, scenario_id, run_id, scenario_result_id, "
    "status, phase, raised_by, created_at, closed_at, closed_by, resolution) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

TimePoint time_at(const Query& q, int col, const std::string& where) {
    auto t = parse_time(q.text(col));
    if (!t) throw StoreError(where + ": bad time \"" + std::string(q.text(col)) + "\"");
    return *t;
}

std::optional<TimePoint> opt_time_at(const Query& q, int col, const std::string& where) {
    if (q.is_null(col)) return std::nullopt;
    return time_at(q, col, where);
}

std::optional<std::int64_t> opt_int64(const Query& q, int col) {
    if (q.is_null(col)) return std::nullopt;
    return q.int64(col);
}

/// Parses a stored enum name, or throws naming the column and value.
template <class Parse>
auto enum_at(const Query& q, int col, Parse parse, const char* what, const std::string& where) {
    auto v = parse(q.text(col));
    if (!v) throw StoreError(where + ": bad " + what + " \"" + std::string(q.text(col)) + "\"");
    return *v;
}

std::vector<std::string> names_at(const Query& q, int col, const std::string& where) {
    try {
        return codec::strings_from_json(q.text(col));
    } catch (const std::exception& e) {
        throw StoreError(where + ": " + e.what());
    }
}

// Row readers: columns as in certification_columns / issue_columns / the queries below.
Certification read_certification_row(const Query& q) {
    Certification c;
    c.id = q.int64(0);
    const std::string where = "read certification " + std::to_string(c.id);
    c.partner = q.text(1);
    c.integration = q.text(2);
    c.device_model = q.text(3);
    c.serial_number = q.text(4);
    c.firmware = q.text(5);
    c.device_id = q.text(6);
    c.capabilities = names_at(q, 7, where);
    c.taken_in_by = q.text(8);
    c.phase = enum_at(q, 9, parse_phase, "phase", where);
    c.created_at = time_at(q, 10, where);
    c.phase_since = time_at(q, 11, where);
    return c;
}

Issue read_issue(const Query& q) {
    Issue i;
    i.id = q.int64(0);
    const std::string where = "read issue " + std::to_string(i.id);
    i.certification_id = q.int64(1);
    i.title = q.text(2);
    i.next_steps = q.text(3);
    i.severity = enum_at(q, 4, parse_severity, "severity", where);
    i.source = enum_at(q, 5, parse_issue_source, "source", where);
    i.scenario_id = q.text(6);
    i.run_id = opt_int64(q, 7);
    i.scenario_result_id = opt_int64(q, 8);
    i.status = enum_at(q, 9, parse_issue_status, "status", where);
    i.phase = enum_at(q, 10, parse_phase, "phase", where);
    i.raised_by = q.text(11);
    i.created_at = time_at(q, 12, where);
    i.closed_at = opt_time_at(q, 13, where);
    i.closed_by = q.text(14);
    i.resolution = q.text(15);
    return i;
}

void bind_issue(Query& q, const Issue& i) {
    q.bind(1, i.certification_id).bind(2, i.title).bind(3, i.next_steps);
    q.bind(4, to_string(i.severity)).bind(5, to_string(i.source)).bind(6, i.scenario_id);
    q.bind(7, i.run_id).bind(8, i.scenario_result_id).bind(9, to_string(i.status));
    q.bind(10, to_string(i.phase)).bind(11, i.raised_by).bind(12, format_time(i.created_at));
    if (i.closed_at) q.bind(13, format_time(*i.closed_at));
    else q.bind_null(13);
    q.bind(14, i.closed_by).bind(15, i.resolution);
}

void insert_phase_change(CertStatements& st, const PhaseChange& c, const std::string& what) {
    Query q(st.insert_phase_change);
    q.bind(1, c.certification_id);
    if (c.from) q.bind(2, to_string(*c.from));
    else q.bind_null(2);
    q.bind(3, to_string(c.to)).bind(4, c.by).bind(5, c.note).bind(6, format_time(c.at));
    q.run(what);
}

/// The certification row with its permissions and plan; nullopt when unknown.
std::optional<Certification> find_certification(CertStatements& st, std::int64_t id, const std::string& what) {
    std::optional<Certification> c;
    {
        Query q(st.get_certification);
        q.bind(1, id);
        if (!q.step(what)) return std::nullopt;
        c = read_certification_row(q);
    }
    {
        Query q(st.permissions_of);
        q.bind(1, id);
        while (q.step(what)) c->permissions.emplace_back(q.text(0));
    }
    Query q(st.plan_of);
    q.bind(1, id);
    while (q.step(what)) {
        PlanItem p;
        p.scenario_id = q.text(0);
        p.suite_id = q.text(1);
        p.title = q.text(2);
        p.permissions = names_at(q, 3, what);
        p.roles = names_at(q, 4, what);
        c->plan.push_back(std::move(p));
    }
    return c;
}

}  // namespace

CertStatements::CertStatements(sqlite3* db)
    : insert_certification(db,
                           "INSERT INTO certifications (partner, integration, device_model, serial_number, "
                           "firmware, device_id, capabilities, taken_in_by, phase, created_at, phase_since) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
      insert_permission(db,
                        "INSERT INTO certification_permissions (certification_id, position, permission) "
                        "VALUES (?1, ?2, ?3)"),
      insert_plan_item(db,
                       "INSERT INTO plan_items (certification_id, position, scenario_id, suite_id, title, "
                       "permissions, roles) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      insert_phase_change(db,
                          "INSERT INTO phase_changes (certification_id, from_phase, to_phase, changed_by, "
                          "note, changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
      update_phase(db,
                   "UPDATE certifications SET phase = ?3, phase_since = ?4 WHERE id = ?1 AND phase = ?2"),
      insert_signoff(db,
                     "INSERT INTO signoffs (certification_id, scenario_id, scenario_result_id, verdict, "
                     "signed_by, feedback, signed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      close_failure_issues(db,
                           "UPDATE issues SET status = 'closed', closed_at = ?3, closed_by = ?4, "
                           "resolution = ?5 WHERE certification_id = ?1 AND scenario_id = ?2 "
                           "AND source IN ('failure', 'rejection') AND status = 'open'"),
      insert_issue(db, "INSERT INTO issues " + issue_insert_columns),
      insert_failure_issue(db, "INSERT OR IGNORE INTO issues " + issue_insert_columns),
      close_issue(db,
                  "UPDATE issues SET status = 'closed', closed_at = ?3, closed_by = ?4, resolution = ?5 "
                  "WHERE certification_id = ?1 AND id = ?2 AND status = 'open'"),
      insert_merchant(db,
                      "INSERT INTO merchants (certification_id, name, location, added_by, added_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)"),
      certification_ids(db, "SELECT id FROM certifications ORDER BY id DESC"),
      get_certification(db, "SELECT " + std::string(certification_columns) + " FROM certifications WHERE id = ?1"),
      permissions_of(db,
                     "SELECT permission FROM certification_permissions WHERE certification_id = ?1 "
                     "ORDER BY position"),
      plan_of(db,
              "SELECT scenario_id, suite_id, title, permissions, roles FROM plan_items "
              "WHERE certification_id = ?1 ORDER BY position"),
      results_of(db,
                 "SELECT sr.id, sr.run_id, r.suite_id, sr.scenario_id, sr.title, sr.outcome, sr.reason, "
                 "sr.ended_at, r.device_id, r.firmware FROM runs r JOIN scenario_results sr ON sr.run_id = r.id "
                 "WHERE r.certification_id = ?1 AND sr.outcome IS NOT NULL ORDER BY sr.id"),
      signoffs_of(db,
                  "SELECT id, scenario_id, scenario_result_id, verdict, signed_by, feedback, signed_at "
                  "FROM signoffs WHERE certification_id = ?1 ORDER BY id"),
      issues_of(db, "SELECT " + std::string(issue_columns) + " FROM issues WHERE certification_id = ?1 ORDER BY id"),
      merchants_of(db,
                   "SELECT id, name, location, added_by, added_at FROM merchants "
                   "WHERE certification_id = ?1 ORDER BY id"),
      history_of(db,
                 "SELECT from_phase, to_phase, changed_by, note, changed_at FROM phase_changes "
                 "WHERE certification_id = ?1 ORDER BY id") {}

void Store::create_certification(Certification& c) {
    std::lock_guard lock(stmts_->mutex);
    auto& st = stmts_->cert;
    const std::string what = "record certification of " + c.partner + " " + c.device_model;
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    {
        Query q(st.insert_certification);
        q.bind(1, c.partner).bind(2, c.integration).bind(3, c.device_model).bind(4, c.serial_number);
        q.bind(5, c.firmware).bind(6, c.device_id).bind(7, codec::strings_to_json(c.capabilities));
        q.bind(8, c.taken_in_by).bind(9, to_string(c.phase)).bind(10, format_time(c.created_at));
        q.bind(11, format_time(c.phase_since));
        q.run(what);
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    for (std::size_t i = 0; i < c.permissions.size(); ++i)
        Query(st.insert_permission).bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, c.permissions[i]).run(what);
    for (std::size_t i = 0; i < c.plan.size(); ++i) {
        const auto& p = c.plan[i];
        Query q(st.insert_plan_item);
        q.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, p.scenario_id).bind(4, p.suite_id);
        q.bind(5, p.title).bind(6, codec::strings_to_json(p.permissions)).bind(7, codec::strings_to_json(p.roles));
        q.run(what);
    }
    insert_phase_change(st, PhaseChange{id, std::nullopt, c.phase, c.taken_in_by, "intake", c.created_at}, what);
    tx.commit(what);
    c.id = id;
}

std::vector<std::int64_t> Store::certification_ids() const {
    std::lock_guard lock(stmts_->mutex);
    Query q(stmts_->cert.certification_ids);
    std::vector<std::int64_t> out;
    while (q.step("list certifications")) out.push_back(q.int64(0));
    return out;
}

std::optional<Certification> Store::get_certification(std::int64_t id) const {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "read certification " + std::to_string(id);
    Transaction tx(stmts_->tx, Transaction::Kind::read, what);
    auto c = find_certification(stmts_->cert, id, what);
    tx.commit(what);
    return c;
}

std::optional<CertificationRecord> Store::read_certification(std::int64_t id) const {
    std::lock_guard lock(stmts_->mutex);
    auto& st = stmts_->cert;
    const std::string what = "read certification " + std::to_string(id);
    Transaction tx(stmts_->tx, Transaction::Kind::read, what);
    auto cert = find_certification(st, id, what);
    if (!cert) return std::nullopt;
    CertificationRecord r;
    r.cert = std::move(*cert);
    {
        Query q(st.results_of);
        q.bind(1, id);
        while (q.step(what)) {
            CertResult x;
            x.result_id = q.int64(0);
            x.run_id = q.int64(1);
            x.suite_id = q.text(2);
            x.scenario_id = q.text(3);
            x.title = q.text(4);
            x.outcome = enum_at(q, 5, parse_outcome, "outcome", what);
            x.reason = q.text(6);
            x.ended_at = opt_time_at(q, 7, what);
            x.device_id = q.text(8);
            x.firmware = q.text(9);
            r.results.push_back(std::move(x));
        }
    }
    {
        Query q(st.signoffs_of);
        q.bind(1, id);
        while (q.step(what)) {
            SignOff s;
            s.id = q.int64(0);
            s.certification_id = id;
            s.scenario_id = q.text(1);
            s.scenario_result_id = q.int64(2);
            s.verdict = enum_at(q, 3, parse_verdict, "verdict", what);
            s.by = q.text(4);
            s.feedback = q.text(5);
            s.at = time_at(q, 6, what);
            r.signoffs.push_back(std::move(s));
        }
    }
    {
        Query q(st.issues_of);
        q.bind(1, id);
        while (q.step(what)) r.issues.push_back(read_issue(q));
    }
    {
        Query q(st.merchants_of);
        q.bind(1, id);
        while (q.step(what)) {
            Merchant m;
            m.id = q.int64(0);
            m.certification_id = id;
            m.name = q.text(1);
            m.location = q.text(2);
            m.added_by = q.text(3);
            m.added_at = time_at(q, 4, what);
            r.merchants.push_back(std::move(m));
        }
    }
    {
        Query q(st.history_of);
        q.bind(1, id);
        while (q.step(what)) {
            PhaseChange c;
            c.certification_id = id;
            if (!q.is_null(0)) c.from = enum_at(q, 0, parse_phase, "phase", what);
            c.to = enum_at(q, 1, parse_phase, "phase", what);
            c.by = q.text(2);
            c.note = q.text(3);
            c.at = time_at(q, 4, what);
            r.history.push_back(std::move(c));
        }
    }
    tx.commit(what);
    return r;
}

int Store::record_signoff(SignOff& s, Issue* issue, const std::string& resolution) {
    std::lock_guard lock(stmts_->mutex);
    auto& st = stmts_->cert;
    const std::string what = "record sign-off of " + s.scenario_id + " in certification " +
                             std::to_string(s.certification_id);
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    {
        Query q(st.insert_signoff);
        q.bind(1, s.certification_id).bind(2, s.scenario_id).bind(3, s.scenario_result_id);
        q.bind(4, to_string(s.verdict)).bind(5, s.by).bind(6, s.feedback).bind(7, format_time(s.at));
        q.run(what);
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    int closed = 0;
    if (s.verdict == Verdict::certified) {
        Query q(st.close_failure_issues);
        q.bind(1, s.certification_id).bind(2, s.scenario_id).bind(3, format_time(s.at)).bind(4, s.by);
        q.bind(5, resolution);
        closed = q.run(what);
    }
    std::int64_t issue_id = 0;
    if (issue) {
        Query q(st.insert_issue);
        bind_issue(q, *issue);
        q.run(what);
        issue_id = sqlite3_last_insert_rowid(db_);
    }
    tx.commit(what);
    s.id = id;
    if (issue) issue->id = issue_id;
    return closed;
}

void Store::add_issue(Issue& issue) {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "record issue in certification " + std::to_string(issue.certification_id);
    Query q(stmts_->cert.insert_issue);
    bind_issue(q, issue);
    q.run(what);
    issue.id = sqlite3_last_insert_rowid(db_);
}

std::vector<Issue> Store::add_failure_issues(std::vector<Issue> issues) {
    std::lock_guard lock(stmts_->mutex);
    std::vector<Issue> added;
    if (issues.empty()) return added;
    const std::string what = "record failure issues";
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    for (auto& i : issues) {
        Query q(stmts_->cert.insert_failure_issue);
        bind_issue(q, i);
        if (q.run(what) == 0) continue;  // already recorded from an earlier look at this run
        i.id = sqlite3_last_insert_rowid(db_);
        added.push_back(std::move(i));
    }
    tx.commit(what);
    return added;
}

bool Store::close_issue(std::int64_t certification_id, std::int64_t issue_id, const std::string& by,
                        const std::string& resolution, TimePoint at) {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "close issue " + std::to_string(issue_id);
    Query q(stmts_->cert.close_issue);
    q.bind(1, certification_id).bind(2, issue_id).bind(3, format_time(at)).bind(4, by).bind(5, resolution);
    return q.run(what) == 1;
}

void Store::add_merchant(Merchant& m) {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "record merchant " + m.name;
    Query q(stmts_->cert.insert_merchant);
    q.bind(1, m.certification_id).bind(2, m.name).bind(3, m.location).bind(4, m.added_by);
    q.bind(5, format_time(m.added_at));
    q.run(what);
    m.id = sqlite3_last_insert_rowid(db_);
}

bool Store::change_phase(const PhaseChange& change) {
    std::lock_guard lock(stmts_->mutex);
    auto& st = stmts_->cert;
    const std::string what = "move certification " + std::to_string(change.certification_id) + " to " +
                             std::string(to_string(change.to));
    if (!change.from) throw StoreError(what + ": no phase to move from");
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    {
        Query q(st.update_phase);
        q.bind(1, change.certification_id).bind(2, to_string(*change.from)).bind(3, to_string(change.to));
        q.bind(4, format_time(change.at));
        if (q.run(what) == 0) return false;  // rolled back: nothing written
    }
    insert_phase_change(st, change, what);
    tx.commit(what);
    return true;
}

}  // namespace certlab::record
