// The record store against a real SQLite file in a temporary directory.
#include <doctest/doctest.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include "record/schema.hpp"
#include "record/store.hpp"

using namespace certlab;
using namespace certlab::record;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with everything in it (also after a test
// made it read-only).
struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "certlab-store-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] fs::path db() const { return path / "certlab.db"; }
};

// A second, plain connection: to look at the file behind the store's back.
struct RawDb {
    sqlite3* db = nullptr;
    explicit RawDb(const fs::path& p) { REQUIRE(sqlite3_open(p.c_str(), &db) == SQLITE_OK); }
    ~RawDb() { sqlite3_close(db); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        INFO(sql << ": " << (err ? err : ""));
        sqlite3_free(err);
        REQUIRE(rc == SQLITE_OK);
    }
    std::string scalar(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
        std::string out;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
};

// Whole milliseconds: what the store keeps of a time.
TimePoint at(std::int64_t ms_since_epoch) {
    return TimePoint{std::chrono::milliseconds{ms_since_epoch}};
}
constexpr std::int64_t t0 = 1'795'923'941'123;  // 2026-11-29T03:45:41.123Z

Run make_run(const std::string& device, TimePoint started, RunStatus status = RunStatus::running) {
    Run r;
    r.device_id = device;
    r.suite_id = "escpos-basic";
    r.suite_title = "ESC/POS basic";
    r.suite_hash = std::string(64, 'a');
    r.driver = "escpos 1.0";
    r.station_id = "lab-1";
    r.certlab_version = "0.1.0";
    r.status = status;
    r.started_at = started;
    r.scenarios_total = 3;
    return r;
}

ScenarioResult make_scenario(std::int64_t run_id, const std::string& id, TimePoint started) {
    ScenarioResult s;
    s.run_id = run_id;
    s.scenario_id = id;
    s.title = "Print a receipt";
    s.iterations_planned = 5;
    s.started_at = started;
    return s;
}

StepResult make_step(const ScenarioResult& s, std::int64_t seq) {
    StepResult st;
    st.run_id = s.run_id;
    st.scenario_result_id = s.id;
    st.seq = seq;
    st.iteration = static_cast<int>(seq / 4);
    st.index = static_cast<int>(seq % 4);
    st.kind = "call";
    st.action = "printer.print";
    st.args = {{"text", "hello"}, {"copies", 2}};
    st.values = {{"status", "ok"}, {"supply", sdk::Value(4.98, "V")}};
    st.started_at = at(t0 + seq * 10);
    st.duration_us = 1500 + seq;
    st.transcript.append({sdk::TranscriptEntry::Dir::tx, 0, std::string("\x1b@\x00", 3)});
    st.transcript.append({sdk::TranscriptEntry::Dir::rx, 900, std::string("\x16\xff", 2)});
    st.measurements.push_back({"latency", 0.9 + double(seq), "ms", 0.0, 50.0, true});
    return st;
}

// Value equality that also holds for NaN == NaN.
bool same(const sdk::Value& a, const sdk::Value& b) {
    auto* x = std::get_if<double>(&a.data);
    auto* y = std::get_if<double>(&b.data);
    if (x && y && std::isnan(*x) && std::isnan(*y)) return a.unit == b.unit;
    return a == b;
}

void check_same(const sdk::Values& got, const sdk::Values& want) {
    REQUIRE(got.size() == want.size());
    for (const auto& [name, v] : want) {
        INFO("value " << name);
        REQUIRE(got.count(name) == 1);
        CHECK(same(got.at(name), v));
    }
}

void check_same(const StepResult& got, const StepResult& want) {
    CHECK(got.id == want.id);
    CHECK(got.run_id == want.run_id);
    CHECK(got.scenario_result_id == want.scenario_result_id);
    CHECK(got.seq == want.seq);
    CHECK(got.iteration == want.iteration);
    CHECK(got.index == want.index);
    CHECK(got.kind == want.kind);
    CHECK(got.action == want.action);
    check_same(got.args, want.args);
    check_same(got.values, want.values);
    CHECK(got.outcome == want.outcome);
    CHECK(got.reason == want.reason);
    CHECK(got.started_at == want.started_at);
    CHECK(got.duration_us == want.duration_us);
    const auto& ge = got.transcript.entries();
    const auto& we = want.transcript.entries();
    REQUIRE(ge.size() == we.size());
    for (std::size_t i = 0; i < we.size(); ++i) {
        INFO("transcript entry " << i);
        CHECK(ge[i].dir == we[i].dir);
        CHECK(ge[i].offset_us == we[i].offset_us);
        CHECK(ge[i].bytes == we[i].bytes);
    }
    REQUIRE(got.measurements.size() == want.measurements.size());
    for (std::size_t i = 0; i < want.measurements.size(); ++i) {
        const auto& g = got.measurements[i];
        const auto& w = want.measurements[i];
        INFO("measurement " << w.name);
        CHECK(g.name == w.name);
        CHECK((g.value == w.value || (std::isnan(g.value) && std::isnan(w.value))));
        CHECK(g.unit == w.unit);
        CHECK(g.low == w.low);
        CHECK(g.high == w.high);
        CHECK(g.within == w.within);
    }
}

std::string open_error(const fs::path& p) {
    try {
        Store::open(p);
    } catch (const StoreError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("store: a fresh database is at the current schema version, in WAL mode") {
    TempDir dir;
    auto store = Store::open(dir.db());
    CHECK(Store::schema_version == 6);
    CHECK(store->version() == Store::schema_version);
    CHECK(store->integrity_check() == "ok");

    RawDb raw(dir.db());
    CHECK(raw.scalar("PRAGMA user_version") == std::to_string(Store::schema_version));
    CHECK(raw.scalar("PRAGMA journal_mode") == "wal");
    for (const char* table : {"runs", "scenario_results", "step_results", "measurements", "outbox"}) {
        INFO(table);
        CHECK(raw.scalar(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                     "AND name = '") + table + "'") == "1");
    }
    // The CHECK constraints hold against writers other than the store too.
    char* err = nullptr;
    CHECK(sqlite3_exec(raw.db,
                       "INSERT INTO runs (device_id, suite_id, status, started_at) "
                       "VALUES ('d', 's', 'finished', 'x')",
                       nullptr, nullptr, &err) == SQLITE_CONSTRAINT);
    sqlite3_free(err);
}

TEST_CASE("store: reopening keeps the data") {
    TempDir dir;
    Run run = make_run("PRN-0001", at(t0));
    {
        auto store = Store::open(dir.db(), {.sync = Store::Sync::normal});
        store->begin_run(run);
        CHECK(run.id > 0);
    }
    auto store = Store::open(dir.db());
    CHECK(store->version() == Store::schema_version);
    auto got = store->get_run(run.id);
    REQUIRE(got);
    CHECK(got->device_id == "PRN-0001");
    CHECK(got->suite_id == run.suite_id);
    CHECK(got->suite_title == run.suite_title);
    CHECK(got->suite_hash == run.suite_hash);
    CHECK(got->driver == run.driver);
    CHECK(got->station_id == run.station_id);
    CHECK(got->certlab_version == run.certlab_version);
    CHECK(got->status == RunStatus::running);
    CHECK_FALSE(got->outcome);
    CHECK(got->started_at == at(t0));
    CHECK_FALSE(got->ended_at);
    CHECK(got->scenarios_total == 3);
    CHECK_FALSE(store->get_run(run.id + 1));
}

TEST_CASE("store: a database from a newer build is refused and left untouched") {
    TempDir dir;
    Store::open(dir.db());
    {
        RawDb raw(dir.db());
        raw.exec("PRAGMA user_version = " + std::to_string(Store::schema_version + 1));
    }
    std::string msg = open_error(dir.db());
    INFO(msg);
    CHECK(msg.find("open store " + dir.db().string()) == 0);
    CHECK(msg.find("schema version " + std::to_string(Store::schema_version + 1) +
                   " is newer than this build") != std::string::npos);
    RawDb raw(dir.db());
    CHECK(raw.scalar("PRAGMA user_version") == std::to_string(Store::schema_version + 1));
}

TEST_CASE("store: a version 1 database migrates to the current version and keeps its runs") {
    TempDir dir;
    {
        RawDb raw(dir.db());
        raw.exec(std::string(record::schema::migrations()[0].sql));
        raw.exec("PRAGMA user_version = 1");
        raw.exec("INSERT INTO runs (device_id, suite_id, status, started_at) "
                 "VALUES ('p1', 'receipt-printer', 'completed', '2026-11-01T10:00:00.000Z')");
        raw.exec("INSERT INTO scenario_results (run_id, scenario_id, started_at) VALUES (1, 'PRN-001', "
                 "'2026-11-01T10:00:00.000Z')");
        raw.exec("INSERT INTO step_results (run_id, scenario_result_id, seq, iteration, step_index, kind, "
                 "outcome, started_at, duration_us) VALUES (1, 1, 1, 0, 0, 'call', 'pass', "
                 "'2026-11-01T10:00:00.000Z', 5)");
    }
    auto store = Store::open(dir.db());
    CHECK(store->version() == Store::schema_version);
    auto d = store->get_run_detail(1, -1);
    REQUIRE(d);
    CHECK(d->run.device_id == "p1");
    CHECK(d->run.roles.empty());
    REQUIRE(d->steps.size() == 1);
    CHECK(d->steps[0].role == "dut");  // the only device a version 1 run had
    CHECK(store->integrity_check() == "ok");
}

TEST_CASE("store: begin and end a run and its scenarios") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run run = make_run("PRN-0001", at(t0), RunStatus::queued);
    store->begin_run(run);
    store->update_run_status(run.id, RunStatus::running);
    CHECK(store->get_run(run.id)->status == RunStatus::running);

    ScenarioResult s = make_scenario(run.id, "PRN-003", at(t0 + 5));
    store->begin_scenario(s);
    CHECK(s.id > 0);
    s.iterations = 2;
    s.passed_iterations = 1;
    store->update_scenario_progress(s);
    auto detail = store->get_run_detail(run.id, -1);
    REQUIRE(detail);
    REQUIRE(detail->scenarios.size() == 1);
    CHECK(detail->scenarios[0].iterations == 2);
    CHECK(detail->scenarios[0].passed_iterations == 1);
    CHECK_FALSE(detail->scenarios[0].outcome);

    s.iterations = 5;
    s.outcome = Outcome::fail;
    s.reason = "paper jam at iteration 3";
    s.ended_at = at(t0 + 9000);
    store->end_scenario(s);
    const auto before_end = std::chrono::system_clock::now() - 1s;
    store->end_run(run.id, RunStatus::completed, Outcome::fail, "1 scenario failed");

    detail = store->get_run_detail(run.id, -1);
    REQUIRE(detail);
    CHECK(detail->run.status == RunStatus::completed);
    CHECK(detail->run.outcome == Outcome::fail);
    CHECK(detail->run.reason == "1 scenario failed");
    REQUIRE(detail->run.ended_at);
    CHECK(*detail->run.ended_at >= before_end);
    const ScenarioResult& got = detail->scenarios.at(0);
    CHECK(got.scenario_id == "PRN-003");
    CHECK(got.title == s.title);
    CHECK(got.outcome == Outcome::fail);
    CHECK(got.reason == s.reason);
    CHECK(got.iterations == 5);
    CHECK(got.iterations_planned == 5);
    CHECK(got.started_at == at(t0 + 5));
    CHECK(got.ended_at == at(t0 + 9000));

    // Updates of rows that do not exist are errors, not silent no-ops.
    CHECK_THROWS_WITH_AS(store->update_run_status(run.id + 7, RunStatus::aborted),
                         doctest::Contains("no such run"), StoreError);
    CHECK_THROWS_WITH_AS(store->end_run(run.id + 7, RunStatus::aborted, Outcome::aborted, ""),
                         doctest::Contains("no such run"), StoreError);
    ScenarioResult open_ended = s;
    open_ended.outcome.reset();
    CHECK_THROWS_AS(store->end_scenario(open_ended), StoreError);
}

TEST_CASE("store: a committed step survives the process being killed") {
    // The commit rule: once commit_step returns, the step is on disk, whatever
    // happens to the process next. The child never closes the store.
    for (auto sync : {Store::Sync::full, Store::Sync::normal}) {
        for (bool sigkill : {false, true}) {
            CAPTURE(sigkill);
            CAPTURE(sync == Store::Sync::full);
            TempDir dir;
            constexpr int steps = 40;
            int fds[2];
            REQUIRE(::pipe(fds) == 0);
            pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                ::close(fds[0]);
                int code = 0;
                try {
                    auto store = Store::open(dir.db(), {.sync = sync}).release();  // never closed
                    Run run = make_run("PRN-0001", at(t0));
                    store->begin_run(run);
                    ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
                    store->begin_scenario(s);
                    for (int i = 1; i <= steps; ++i) {
                        StepResult step = make_step(s, i);
                        store->commit_step(step);
                    }
                } catch (...) {
                    code = 2;
                }
                char c = code ? 'E' : 'C';
                (void)!::write(fds[1], &c, 1);
                if (sigkill && !code) ::pause();  // the parent kills us here
                ::_exit(code);
            }
            ::close(fds[1]);
            char c = 0;
            REQUIRE(::read(fds[0], &c, 1) == 1);
            ::close(fds[0]);
            CHECK(c == 'C');
            if (sigkill) ::kill(pid, SIGKILL);
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            if (sigkill) CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
            else CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

            // The WAL file is still there: nothing was checkpointed at close.
            CHECK(fs::exists(dir.path / "certlab.db-wal"));
            auto store = Store::open(dir.db());
            CHECK(store->integrity_check() == "ok");
            auto runs = store->list_runs(10);
            REQUIRE(runs.size() == 1);
            CHECK(runs[0].status == RunStatus::running);
            CHECK(store->step_count(runs[0].id) == steps);
            auto last = store->steps(runs[0].id, steps - 1, 10);
            REQUIRE(last.size() == 1);
            CHECK(last[0].seq == steps);
            CHECK(last[0].measurements.size() == 1);
            CHECK(store->mark_interrupted("certlabd restarted") == 1);
        }
    }
}

TEST_CASE("store: step values, transcript and measurements round-trip exactly") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run run = make_run("PRN-0001", at(t0));
    store->begin_run(run);
    ScenarioResult s = make_scenario(run.id, "PRN-002", at(t0));
    store->begin_scenario(s);

    std::string all_bytes;
    for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();

    StepResult step;
    step.run_id = run.id;
    step.scenario_result_id = s.id;
    step.seq = 1;
    step.iteration = 3;
    step.index = 7;
    step.kind = "call";
    step.action = "scale.read";
    step.args = {{"timeout", sdk::Value(std::int64_t{250}, "ms")},
                 {"tare", true},
                 {"mode", "net"},
                 {"größe", "ümlaut ✓"}};
    step.values = {
        {"null", sdk::Value()},
        {"null_unit", [] { sdk::Value v; v.unit = "g"; return v; }()},
        {"bool_false", false},
        {"int_min", sdk::Value(std::numeric_limits<std::int64_t>::min(), "count")},
        {"int_max", sdk::Value(std::numeric_limits<std::int64_t>::max())},
        {"int_zero", sdk::Value(0)},
        {"whole_double", sdk::Value(3.0, "V")},   // must stay a double, not become 3
        {"voltage", sdk::Value(3.3, "V")},
        {"tiny", sdk::Value(5e-324)},
        {"huge", sdk::Value(-1.7976931348623157e308, "g")},
        {"neg_zero", sdk::Value(-0.0)},
        {"nan", sdk::Value(nan, "V")},
        {"inf", sdk::Value(inf)},
        {"neg_inf", sdk::Value(-inf, "dB")},
        {"text", "line1\nline2\t\"quoted\"\\"},
        {"empty_text", ""},
        {"nul_text", std::string("a\0b", 3)},
        {"raw_bytes", sdk::Value(all_bytes)},  // not UTF-8: must come back byte for byte
        {"list", std::vector<std::string>{"a", "", "ü"}},
        {"empty_list", std::vector<std::string>{}},
        {"binary_list", std::vector<std::string>{"ok", std::string("\xff\x00", 2)}},
    };
    step.outcome = Outcome::timeout;
    step.reason = "no answer in 250 ms";
    step.started_at = at(t0 + 77);
    step.duration_us = 250'123;
    using Dir = sdk::TranscriptEntry::Dir;
    step.transcript.append({Dir::tx, 0, all_bytes});
    step.transcript.append({Dir::rx, 12, std::string("\x00\xff\x00", 3)});
    step.transcript.append({Dir::tx, 13, ""});
    step.transcript.append({Dir::note, 250'000, "timeout — retrying ✓"});
    step.transcript.append({Dir::note, 250'001, "\xff\xfe not utf-8"});
    step.measurements = {
        {"weight", 1234.5, "g", 1000.0, 1500.0, true},
        {"offset", -0.001, "g", std::nullopt, 0.0, false},
        {"noise", nan, "", std::nullopt, std::nullopt, false},
        {"count", 0, "", 1.0, std::nullopt, false},
    };
    store->commit_step(step);
    CHECK(step.id > 0);

    // A second, plain step so "most recent" limits have something to cut.
    StepResult plain = make_step(s, 2);
    store->commit_step(plain);

    auto back = store->steps(run.id, 0, 1);
    REQUIRE(back.size() == 1);
    check_same(back[0], step);
    // Type survives, not just the number: 3.0 stays double, 0 stays int64.
    CHECK(back[0].values.at("whole_double").data.index() == 3);
    CHECK(back[0].values.at("int_zero").data.index() == 2);
    CHECK(std::signbit(std::get<double>(back[0].values.at("neg_zero").data)));

    auto detail = store->get_run_detail(run.id, -1);
    REQUIRE(detail);
    REQUIRE(detail->steps.size() == 2);
    check_same(detail->steps[0], step);
    check_same(detail->steps[1], plain);

    // What an operator sees with the sqlite3 shell: values with their unit, tx as hex.
    RawDb raw(dir.db());
    auto values = raw.scalar("SELECT \"values\" FROM step_results WHERE seq = 2");
    CHECK(values.find(R"("supply":{"unit":"V","v":4.98})") != std::string::npos);
    auto transcript = raw.scalar("SELECT transcript FROM step_results WHERE seq = 2");
    CHECK(transcript == R"([{"dir":">","hex":"1b4000","t_us":0},{"dir":"<","hex":"16ff","t_us":900}])");
}

TEST_CASE("store: a failed commit leaves nothing behind and names the step") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run run = make_run("PRN-0001", at(t0));
    store->begin_run(run);
    ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
    store->begin_scenario(s);
    StepResult first = make_step(s, 1);
    store->commit_step(first);

    SUBCASE("duplicate seq") {
        StepResult again = make_step(s, 1);
        const std::string want =
            "commit step 1 of run " + std::to_string(run.id) + ": UNIQUE constraint failed";
        CHECK_THROWS_WITH_AS(store->commit_step(again), doctest::Contains(want.c_str()),
                             StoreError);
        CHECK(again.id == 0);
    }
    SUBCASE("unknown run") {
        StepResult orphan = make_step(s, 2);
        orphan.run_id = 9999;
        CHECK_THROWS_WITH_AS(store->commit_step(orphan),
                             "commit step 2 of run 9999: FOREIGN KEY constraint failed",
                             StoreError);
    }
    SUBCASE("a measurement fails after the step row was written") {
        // Inject the failure with a trigger: the step insert succeeds, the
        // measurement insert aborts, and the transaction must take both back.
        RawDb raw(dir.db());
        raw.exec("CREATE TRIGGER fail_boom BEFORE INSERT ON measurements WHEN NEW.name = 'boom' "
                 "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
        StepResult bad = make_step(s, 2);
        bad.measurements.push_back({"boom", 1, "", {}, {}, true});
        const std::string want =
            "commit step 2 of run " + std::to_string(run.id) + ": injected failure";
        CHECK_THROWS_WITH_AS(store->commit_step(bad), doctest::Contains(want.c_str()),
                             StoreError);
        CHECK(bad.id == 0);
        CHECK(raw.scalar("SELECT count(*) FROM measurements") == "1");
    }
    CHECK(store->step_count(run.id) == 1);
    // The store is still usable: no transaction or statement was left open.
    StepResult next = make_step(s, 2);
    store->commit_step(next);
    CHECK(store->step_count(run.id) == 2);
    CHECK(store->integrity_check() == "ok");
}

TEST_CASE("store: mark_interrupted ends unfinished runs and their open scenarios") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run running = make_run("PRN-0001", at(t0));
    Run queued = make_run("PRN-0002", at(t0 + 1), RunStatus::queued);
    Run done = make_run("PRN-0003", at(t0 + 2));
    store->begin_run(running);
    store->begin_run(queued);
    store->begin_run(done);
    ScenarioResult finished = make_scenario(running.id, "PRN-001", at(t0));
    ScenarioResult open = make_scenario(running.id, "PRN-002", at(t0 + 10));
    store->begin_scenario(finished);
    finished.outcome = Outcome::pass;
    store->end_scenario(finished);
    store->begin_scenario(open);
    store->end_run(done.id, RunStatus::completed, Outcome::pass, "");

    CHECK(store->mark_interrupted("certlabd restarted") == 2);
    for (const Run& r : {running, queued}) {
        auto got = store->get_run(r.id);
        REQUIRE(got);
        CHECK(got->status == RunStatus::interrupted);
        CHECK(got->outcome == Outcome::aborted);
        CHECK(got->reason == "certlabd restarted");
        CHECK(got->ended_at);
    }
    auto d = store->get_run_detail(running.id, 0);
    REQUIRE(d);
    REQUIRE(d->scenarios.size() == 2);
    CHECK(d->scenarios[0].outcome == Outcome::pass);
    CHECK(d->scenarios[0].reason.empty());
    CHECK(d->scenarios[1].outcome == Outcome::aborted);
    CHECK(d->scenarios[1].reason == "certlabd restarted");
    CHECK(d->scenarios[1].ended_at);
    auto untouched = store->get_run(done.id);
    CHECK(untouched->status == RunStatus::completed);
    CHECK(untouched->outcome == Outcome::pass);
    CHECK(store->mark_interrupted("again") == 0);
}

TEST_CASE("store: integrity_check reports damage") {
    TempDir dir;
    {
        auto store = Store::open(dir.db(), {.sync = Store::Sync::normal});
        Run run = make_run("PRN-0001", at(t0));
        store->begin_run(run);
        ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
        store->begin_scenario(s);
        for (int i = 1; i <= 200; ++i) {
            StepResult step = make_step(s, i);
            store->commit_step(step);
        }
        CHECK(store->integrity_check() == "ok");
    }  // the last close checkpoints the WAL into the main file
    REQUIRE_FALSE(fs::exists(dir.path / "certlab.db-wal"));
    REQUIRE(fs::file_size(dir.db()) > 16 * 4096);
    {
        // Scribble over pages 8..11, well past the schema on page 1.
        std::fstream f(dir.db(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(8 * 4096);
        std::string junk(4 * 4096, '\x5a');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    auto store = Store::open(dir.db());
    CHECK(store->integrity_check() != "ok");
}

TEST_CASE("store: the WAL is checkpointed while the store is open") {
    // SQLite's auto-checkpoint is replaced by a thread (checkpointer.hpp). If that
    // thread never ran, nothing would reach the main file until the WAL hit the
    // inline fallback (16000 pages) or the store closed.
    TempDir dir;
    auto store = Store::open(dir.db(), {.sync = Store::Sync::normal});
    const auto initial = fs::file_size(dir.db());
    Run run = make_run("PRN-0001", at(t0));
    store->begin_run(run);
    ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
    store->begin_scenario(s);
    // ~4 WAL frames per commit: well past the 1000-frame mark. The data itself is
    // ~56 pages, all of which a checkpoint copies into the main file.
    for (int i = 1; i <= 600; ++i) {
        StepResult step = make_step(s, i);
        store->commit_step(step);
    }
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (fs::file_size(dir.db()) <= initial + 32 * 4096 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    CHECK(fs::file_size(dir.db()) > initial + 32 * 4096);
    CHECK(store->step_count(run.id) == 600);
}

TEST_CASE("store: get_run_detail keeps the most recent steps, and steps() pages forward") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run run = make_run("PRN-0001", at(t0));
    store->begin_run(run);
    ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
    store->begin_scenario(s);
    for (int i = 1; i <= 10; ++i) {
        StepResult step = make_step(s, i);
        store->commit_step(step);
    }
    auto seqs = [](const std::vector<StepResult>& v) {
        std::vector<std::int64_t> out;
        for (const auto& st : v) out.push_back(st.seq);
        return out;
    };
    auto d = store->get_run_detail(run.id, 3);
    REQUIRE(d);
    CHECK(d->step_count == 10);
    CHECK(seqs(d->steps) == std::vector<std::int64_t>{8, 9, 10});
    CHECK(d->scenarios.size() == 1);
    CHECK(store->get_run_detail(run.id, 0)->steps.empty());
    CHECK(store->get_run_detail(run.id, 0)->step_count == 10);
    CHECK(store->get_run_detail(run.id, -1)->steps.size() == 10);
    CHECK(store->get_run_detail(run.id, 50)->steps.size() == 10);
    CHECK_FALSE(store->get_run_detail(run.id + 1, -1));

    CHECK(seqs(store->steps(run.id, 4, 3)) == std::vector<std::int64_t>{5, 6, 7});
    CHECK(seqs(store->steps(run.id, 9, 3)) == std::vector<std::int64_t>{10});
    CHECK(store->steps(run.id, 10, 3).empty());
    CHECK(store->steps(run.id + 1, 0, 3).empty());
    CHECK(store->step_count(run.id + 1) == 0);
}

TEST_CASE("store: steps the reader already holds come back undecoded") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run run = make_run("PRN-0001", at(t0));
    store->begin_run(run);
    ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
    store->begin_scenario(s);
    std::vector<std::int64_t> ids;
    for (int i = 1; i <= 4; ++i) {
        StepResult step = make_step(s, i);  // with a measurement and a transcript
        store->commit_step(step);
        ids.push_back(step.id);
    }
    // Steps 2 and 3 are held: only their id, run and seq are read.
    const Store::KnownStep known = [&](std::int64_t id) { return id == ids[1] || id == ids[2]; };
    auto check = [&](const std::vector<StepResult>& steps) {
        REQUIRE(steps.size() == 4);
        for (std::size_t i = 0; i < steps.size(); ++i) {
            INFO("step " << i + 1);
            CHECK(steps[i].id == ids[i]);
            CHECK(steps[i].run_id == run.id);
            CHECK(steps[i].seq == static_cast<std::int64_t>(i + 1));
            const bool held = i == 1 || i == 2;
            CHECK(steps[i].action.empty() == held);
            CHECK(steps[i].measurements.size() == (held ? 0U : 1U));
            CHECK(steps[i].transcript.entries().empty() == held);
        }
    };
    check(store->get_run_detail(run.id, -1, known)->steps);
    check(store->steps(run.id, 0, 10, known));
    CHECK(store->get_run_detail(run.id, -1, known)->step_count == 4);
}

TEST_CASE("store: a reader connection sees every commit, reads consistent snapshots and cannot write") {
    TempDir dir;
    SUBCASE("a database that was never opened for writing is refused") {
        RawDb raw(dir.db());
        raw.exec("CREATE TABLE t (x)");
        CHECK_THROWS_WITH_AS(Store::open_reader(dir.db()), doctest::Contains("is not in WAL mode"), StoreError);
    }
    SUBCASE("alongside the writer") {
        auto store = Store::open(dir.db(), {Store::Sync::normal});
        auto reader = Store::open_reader(dir.db());
        Run run = make_run("PRN-0001", at(t0));
        store->begin_run(run);
        ScenarioResult s = make_scenario(run.id, "PRN-001", at(t0));
        store->begin_scenario(s);
        REQUIRE(reader->get_run(run.id));

        // A reader thread reads the whole run while the writer commits: each read is
        // one snapshot, so its step count and its steps always agree.
        std::atomic<bool> done{false};
        int reads = 0, torn = 0;
        std::thread other([&] {
            while (!done) {
                auto d = reader->get_run_detail(run.id, -1);
                if (!d || d->step_count != static_cast<std::int64_t>(d->steps.size())) ++torn;
                ++reads;
            }
        });
        for (int i = 1; i <= 300; ++i) {
            StepResult step = make_step(s, i);
            store->commit_step(step);
        }
        done = true;
        other.join();
        CHECK(torn == 0);
        CHECK(reads > 0);
        // What the writer committed, the reader sees at once.
        CHECK(reader->step_count(run.id) == 300);
        CHECK(reader->steps(run.id, 299, 5).at(0).seq == 300);

        Run more = make_run("PRN-0002", at(t0));
        CHECK_THROWS_AS(reader->begin_run(more), StoreError);
        CHECK(store->integrity_check() == "ok");
    }
}

TEST_CASE("store: list_runs is most recent first, optionally for one device") {
    TempDir dir;
    auto store = Store::open(dir.db());
    Run a1 = make_run("PRN-A", at(t0));
    Run b1 = make_run("PRN-B", at(t0 + 1000));
    Run a2 = make_run("PRN-A", at(t0 + 2000));
    Run a3 = make_run("PRN-A", at(t0 + 2000));  // same time: newer id first
    for (Run* r : {&a1, &b1, &a2, &a3}) store->begin_run(*r);
    auto ids = [](const std::vector<Run>& v) {
        std::vector<std::int64_t> out;
        for (const auto& r : v) out.push_back(r.id);
        return out;
    };
    CHECK(ids(store->list_runs(10)) == std::vector<std::int64_t>{a3.id, a2.id, b1.id, a1.id});
    CHECK(ids(store->list_runs(2)) == std::vector<std::int64_t>{a3.id, a2.id});
    CHECK(ids(store->list_runs(10, "PRN-A")) == std::vector<std::int64_t>{a3.id, a2.id, a1.id});
    CHECK(ids(store->list_runs(10, "PRN-B")) == std::vector<std::int64_t>{b1.id});
    CHECK(store->list_runs(10, "PRN-C").empty());
    CHECK(store->list_runs(0).empty());
    CHECK(store->list_runs(-1).size() == 4);
}

TEST_CASE("store: opening where the directory is missing fails with a clear message") {
    TempDir dir;
    fs::path p = dir.path / "missing" / "certlab.db";
    std::string msg = open_error(p);
    INFO(msg);
    CHECK(msg.find("open store " + p.string() + ": ") == 0);
    CHECK(msg.find("directory " + (dir.path / "missing").string() + " does not exist") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "missing"));
}

TEST_CASE("store: opening in a read-only directory fails with a clear message") {
    // Root ignores permission bits, so as root there is nothing to test here; run
    // the suite as an ordinary user to cover it.
    if (::geteuid() == 0) {
        MESSAGE("skipped: running as root, which may write to read-only directories");
        return;
    }
    TempDir dir;
    SUBCASE("new database") {
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        std::string msg = open_error(dir.db());
        INFO(msg);
        CHECK(msg.find("open store " + dir.db().string() + ": ") == 0);
        CHECK(msg.find("is not writable") != std::string::npos);
    }
    SUBCASE("existing database, directory made read-only later") {
        Store::open(dir.db());
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        std::string msg = open_error(dir.db());
        INFO(msg);
        CHECK(msg.find("open store " + dir.db().string() + ": ") == 0);
        CHECK(msg.find("is not writable") != std::string::npos);
    }
}

TEST_CASE("store: a step's phase, attempt, warning and marginal value, and a soak's statistics, round-trip") {
    TempDir dir;
    auto store = Store::open(dir.db());
    auto run = make_run("p1", at(t0));
    store->begin_run(run);
    auto sc = make_scenario(run.id, "SOAK-1", at(t0));
    store->begin_scenario(sc);
    auto st = make_step(sc, 1);
    st.phase = StepPhase::power;
    st.attempt = 2;
    st.retried = true;
    st.warning = "latency: 45 ms is marginal";
    st.measurements[0].marginal = true;
    store->commit_step(st);
    auto back = store->scenario_steps(sc.id);
    REQUIRE(back.size() == 1);
    CHECK(back[0].phase == StepPhase::power);
    CHECK(back[0].attempt == 2);
    CHECK(back[0].retried);
    CHECK(back[0].warning == st.warning);
    CHECK(back[0].measurements.at(0).marginal);

    SoakStats stats;
    stats.iterations = 3;
    stats.passed = 2;
    stats.errors = 1;
    stats.pass_rate = 2.0 / 3;
    stats.latency.push_back({"printer.status", 3, 1.5, 2.5, 2.5, 2.5});
    stats.drift.push_back({"voltage", "V", 3, 24.0, 23.9, 23.9, 24.0, 23.95, std::nan("")});
    sc.stats = stats;
    sc.iterations = 3;
    store->update_scenario_progress(sc);
    auto read = store->get_run_detail(run.id, 0)->scenarios.at(0).stats;
    REQUIRE(read);
    CHECK(read->pass_rate == stats.pass_rate);
    CHECK(read->latency == stats.latency);
    CHECK(std::isnan(read->drift.at(0).slope_per_1k));  // not finite: stored as null, read as NaN
    CHECK(read->drift.at(0).mean == 23.95);
}

TEST_CASE("store: unfinished runs are listed, resumed or interrupted one by one") {
    TempDir dir;
    auto store = Store::open(dir.db());
    auto a = make_run("p1", at(t0));
    auto b = make_run("p2", at(t0 + 1), RunStatus::queued);
    auto done = make_run("p3", at(t0 + 2), RunStatus::completed);
    for (auto* r : {&a, &b, &done}) store->begin_run(*r);
    auto sc = make_scenario(a.id, "S", at(t0));
    auto st = make_step(sc, 0);
    store->begin_scenario(sc);
    for (int seq = 1; seq <= 3; ++seq) {
        st = make_step(sc, seq);
        store->commit_step(st);
    }
    auto unfinished = store->unfinished_runs();
    REQUIRE(unfinished.size() == 2);
    CHECK(unfinished[0].id == a.id);
    CHECK(unfinished[1].id == b.id);
    CHECK(store->last_seq(a.id) == 3);
    CHECK(store->last_seq(b.id) == 0);

    CHECK(store->resume_run(a.id));
    CHECK(store->get_run(a.id)->resumed == 1);
    CHECK(store->get_run(a.id)->status == RunStatus::running);
    CHECK(store->interrupt_run(b.id, "not resumed: suite changed"));
    CHECK(store->get_run(b.id)->status == RunStatus::interrupted);
    CHECK(store->get_run(b.id)->reason == "not resumed: suite changed");
    CHECK_FALSE(store->resume_run(done.id));     // over: nothing to resume
    CHECK_FALSE(store->interrupt_run(done.id, "x"));
    CHECK(store->get_run(done.id)->status == RunStatus::completed);
}
