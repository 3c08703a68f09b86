// Store: the reads. Every read that spans several queries runs in one read
// transaction, so it sees one consistent snapshot even while steps are committed.
#include <algorithm>
#include <limits>

#include "record/codec.hpp"
#include "record/store_statements.hpp"

namespace certlab::record {

namespace {

using sql::Query;
using sql::Transaction;

// Stored text the schema's CHECKs let through but this build cannot read means the
// file was written by something else; say where.
TimePoint time_at(const Query& q, int col, const std::string& where) {
    auto t = parse_time(q.text(col));
    if (!t) throw StoreError(where + ": bad time \"" + std::string(q.text(col)) + "\"");
    return *t;
}

std::optional<TimePoint> opt_time_at(const Query& q, int col, const std::string& where) {
    if (q.is_null(col)) return std::nullopt;
    return time_at(q, col, where);
}

Outcome outcome_at(const Query& q, int col, const std::string& where) {
    auto o = parse_outcome(q.text(col));
    if (!o) throw StoreError(where + ": bad outcome \"" + std::string(q.text(col)) + "\"");
    return *o;
}

std::optional<Outcome> opt_outcome_at(const Query& q, int col, const std::string& where) {
    if (q.is_null(col)) return std::nullopt;
    return outcome_at(q, col, where);
}

// Row readers: columns as in run_columns / scenario_columns / step_columns.
Run read_run(const Query& q) {
    Run r;
    r.id = q.int64(0);
    const std::string where = "read run " + std::to_string(r.id);
    r.device_id = q.text(1);
    r.suite_id = q.text(2);
    r.suite_title = q.text(3);
    r.suite_hash = q.text(4);
    r.driver = q.text(5);
    r.station_id = q.text(6);
    r.certlab_version = q.text(7);
    auto status = parse_run_status(q.text(8));
    if (!status) throw StoreError(where + ": bad status \"" + std::string(q.text(8)) + "\"");
    r.status = *status;
    r.outcome = opt_outcome_at(q, 9, where);
    r.reason = q.text(10);
    r.started_at = time_at(q, 11, where);
    r.ended_at = opt_time_at(q, 12, where);
    r.scenarios_total = q.integer(13);
    try {
        r.roles = codec::roles_from_json(q.text(14));
    } catch (const std::exception& e) {
        throw StoreError(where + ": roles: " + e.what());
    }
    r.firmware = q.text(15);
    if (!q.is_null(16)) r.certification_id = q.int64(16);
    r.resumed = q.integer(17);
    return r;
}

ScenarioResult read_scenario(const Query& q) {
    ScenarioResult s;
    s.id = q.int64(0);
    const std::string where = "read scenario result " + std::to_string(s.id);
    s.run_id = q.int64(1);
    s.scenario_id = q.text(2);
    s.title = q.text(3);
    s.outcome = opt_outcome_at(q, 4, where);
    s.reason = q.text(5);
    s.iterations = q.integer(6);
    s.iterations_planned = q.integer(7);
    s.passed_iterations = q.integer(8);
    s.started_at = time_at(q, 9, where);
    s.ended_at = opt_time_at(q, 10, where);
    if (!q.is_null(11)) {
        try {
            s.stats = codec::soak_stats_from_json(q.text(11));
        } catch (const std::exception& e) {
            throw StoreError(where + ": stats: " + e.what());
        }
    }
    return s;
}

// `measurements` is Statements::measurements_of_step (Statements is private to Store).
StepResult read_step(const Query& q, sql::Stmt& measurements) {
    StepResult s;
    s.id = q.int64(0);
    s.run_id = q.int64(1);
    s.scenario_result_id = q.int64(2);
    s.seq = q.int64(3);
    const std::string where =
        "read step " + std::to_string(s.seq) + " of run " + std::to_string(s.run_id);
    s.iteration = q.integer(4);
    s.index = q.integer(5);
    s.kind = q.text(6);
    s.action = q.text(7);
    try {
        s.args = codec::values_from_json(q.text(8));
        s.values = codec::values_from_json(q.text(9));
        s.transcript = codec::transcript_from_json(q.text(14));
    } catch (const std::exception& e) {
        throw StoreError(where + ": " + e.what());
    }
    s.outcome = outcome_at(q, 10, where);
    s.reason = q.text(11);
    s.started_at = time_at(q, 12, where);
    s.duration_us = q.int64(13);
    s.role = q.text(15);
    auto phase = parse_step_phase(q.text(16));
    if (!phase) throw StoreError(where + ": bad phase \"" + std::string(q.text(16)) + "\"");
    s.phase = *phase;
    s.attempt = q.integer(17);
    s.retried = q.integer(18) != 0;
    s.warning = q.text(19);

    // A second statement while the step query is mid-result: fine in SQLite, and
    // the measurements index makes it one seek per step.
    Query m(measurements);
    m.bind(1, s.id);
    while (m.step([&] { return where + ": measurements"; })) {
        Measurement x;
        x.name = m.text(0);
        // SQLite stores NaN as NULL (see schema.cpp).
        x.value = m.opt_real(1).value_or(std::numeric_limits<double>::quiet_NaN());
        x.unit = m.text(2);
        x.low = m.opt_real(3);
        x.high = m.opt_real(4);
        x.within = m.integer(5) != 0;
        x.marginal = m.integer(6) != 0;
        s.measurements.push_back(std::move(x));
    }
    return s;
}

std::vector<StepResult> read_steps(Query& q, sql::Stmt& measurements, const std::string& what) {
    std::vector<StepResult> out;
    while (q.step(what)) out.push_back(read_step(q, measurements));
    return out;
}

/// The steps `keys` (id, seq; as `keys_query` yields them) names: a step `known`
/// holds as a key alone, any other read whole by id. `reverse`: the keys came
/// newest first.
std::vector<StepResult> read_steps_by_key(Query& keys_query, sql::Stmt& by_id, sql::Stmt& measurements,
                                          std::int64_t run_id, const Store::KnownStep& known, bool reverse,
                                          const std::string& what) {
    std::vector<std::pair<std::int64_t, std::int64_t>> keys;
    while (keys_query.step(what)) keys.emplace_back(keys_query.int64(0), keys_query.int64(1));
    if (reverse) std::reverse(keys.begin(), keys.end());
    std::vector<StepResult> out;
    out.reserve(keys.size());
    for (const auto& [id, seq] : keys) {
        if (known(id)) {
            StepResult& s = out.emplace_back();
            s.id = id;
            s.run_id = run_id;
            s.seq = seq;
            continue;
        }
        Query q(by_id);
        q.bind(1, id);
        if (!q.step(what)) throw StoreError(what + ": step " + std::to_string(seq) + " vanished while read");
        out.push_back(read_step(q, measurements));
    }
    return out;
}

std::optional<Run> find_run(sql::Stmt& get_run, std::int64_t run_id, const std::string& what) {
    Query q(get_run);
    q.bind(1, run_id);
    if (!q.step(what)) return std::nullopt;
    return read_run(q);
}

std::int64_t count_steps(sql::Stmt& step_count, std::int64_t run_id, const std::string& what) {
    Query q(step_count);
    q.bind(1, run_id);
    q.step(what);
    return q.int64(0);
}

}  // namespace

std::vector<Run> Store::list_runs(int limit, const std::string& device_id) const {
    std::lock_guard lock(stmts_->mutex);
    const std::string what =
        device_id.empty() ? std::string("list runs") : "list runs of " + device_id;
    // A negative limit is SQLite's "no limit".
    Query q(device_id.empty() ? stmts_->list_runs : stmts_->list_runs_of_device);
    q.bind(1, limit);
    if (!device_id.empty()) q.bind(2, device_id);
    std::vector<Run> out;
    while (q.step(what)) out.push_back(read_run(q));
    return out;
}

std::optional<Run> Store::get_run(std::int64_t run_id) const {
    std::lock_guard lock(stmts_->mutex);
    return find_run(stmts_->get_run, run_id, "read run " + std::to_string(run_id));
}

std::optional<RunDetail> Store::get_run_detail(std::int64_t run_id, int step_limit,
                                               const KnownStep& known) const {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "read run " + std::to_string(run_id);
    Transaction tx(stmts_->tx, Transaction::Kind::read, what);
    auto run = find_run(stmts_->get_run, run_id, what);
    if (!run) return std::nullopt;
    RunDetail d{std::move(*run), {}, {}, 0};
    {
        Query q(stmts_->scenarios_of_run);
        q.bind(1, run_id);
        while (q.step(what)) d.scenarios.push_back(read_scenario(q));
    }
    d.step_count = count_steps(stmts_->step_count, run_id, what);
    if (step_limit != 0 && known) {
        Query keys(stmts_->last_step_keys);
        keys.bind(1, run_id).bind(2, step_limit < 0 ? -1 : step_limit);
        d.steps = read_steps_by_key(keys, stmts_->step_by_id, stmts_->measurements_of_step, run_id, known,
                                    /*reverse=*/true, what);
    } else if (step_limit != 0) {
        Query q(stmts_->last_steps);
        q.bind(1, run_id).bind(2, step_limit < 0 ? -1 : step_limit);
        d.steps = read_steps(q, stmts_->measurements_of_step, what);
    }
    tx.commit(what);
    return d;
}

std::vector<StepResult> Store::steps(std::int64_t run_id, std::int64_t after_seq, int limit,
                                    const KnownStep& known) const {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "read steps of run " + std::to_string(run_id);
    Transaction tx(stmts_->tx, Transaction::Kind::read, what);
    std::vector<StepResult> out;
    if (known) {
        Query keys(stmts_->step_keys_after);
        keys.bind(1, run_id).bind(2, after_seq).bind(3, limit);
        out = read_steps_by_key(keys, stmts_->step_by_id, stmts_->measurements_of_step, run_id, known,
                                /*reverse=*/false, what);
    } else {
        Query q(stmts_->steps_after);
        q.bind(1, run_id).bind(2, after_seq).bind(3, limit);
        out = read_steps(q, stmts_->measurements_of_step, what);
    }
    tx.commit(what);
    return out;
}

std::int64_t Store::step_count(std::int64_t run_id) const {
    std::lock_guard lock(stmts_->mutex);
    return count_steps(stmts_->step_count, run_id, "count steps of run " + std::to_string(run_id));
}

std::vector<Run> Store::unfinished_runs() const {
    std::lock_guard lock(stmts_->mutex);
    const char* what = "list unfinished runs";
    Query q(stmts_->unfinished_runs);
    std::vector<Run> out;
    while (q.step(what)) out.push_back(read_run(q));
    return out;
}

std::int64_t Store::last_seq(std::int64_t run_id) const {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "last step of run " + std::to_string(run_id);
    Query q(stmts_->last_seq);
    q.bind(1, run_id);
    q.step(what);
    return q.int64(0);
}

std::vector<StepResult> Store::scenario_steps(std::int64_t scenario_result_id) const {
    std::lock_guard lock(stmts_->mutex);
    const std::string what = "read steps of scenario result " + std::to_string(scenario_result_id);
    Transaction tx(stmts_->tx, Transaction::Kind::read, what);
    std::vector<StepResult> out;
    {
        Query q(stmts_->steps_of_scenario);
        q.bind(1, scenario_result_id);
        out = read_steps(q, stmts_->measurements_of_step, what);
    }
    tx.commit(what);
    return out;
}

}  // namespace certlab::record
