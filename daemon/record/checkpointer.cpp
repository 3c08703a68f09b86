#include "record/checkpointer.hpp"

#include "record/sqlite.hpp"
#include "record/store.hpp"

namespace certlab::record {

Checkpointer::Checkpointer(sqlite3* writer, const std::string& path, const char* sync_sql)
    : writer_(writer) {
    const std::string what = "open checkpoint connection";
    int rc = sqlite3_open_v2(path.c_str(), &conn_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    try {
        if (rc != SQLITE_OK) sql::fail(conn_, what);
        sqlite3_busy_timeout(conn_, 5000);
        sql::exec(conn_, sync_sql, what);
    } catch (...) {
        sqlite3_close_v2(conn_);
        throw;
    }
    // Replaces the writer's auto-checkpoint (SQLite implements that as a WAL hook).
    sqlite3_wal_hook(writer_, &Checkpointer::on_commit, this);
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Checkpointer::~Checkpointer() {
    sqlite3_wal_hook(writer_, nullptr, nullptr);
    thread_.request_stop();
    thread_.join();  // the stop request wakes the wait (condition_variable_any)
    sqlite3_close_v2(conn_);
}

// Runs inside the writer's commit, after the commit is durable: keep it cheap.
// `pages` is the WAL's length, which only drops when a writer restarts the log
// after a checkpoint caught up. Waking once per checkpoint_pages appended (not on
// every commit past the mark) keeps the thread from chasing the writer with a
// tiny checkpoint and an fsync per commit.
int Checkpointer::on_commit(void* p, sqlite3* db, const char* name, int pages) {
    auto* self = static_cast<Checkpointer*>(p);
    if (pages < self->last_pages_) self->next_at_ = checkpoint_pages;  // log restarted
    self->last_pages_ = pages;
    if (pages >= inline_pages) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= self->next_at_) {
        self->next_at_ = pages + checkpoint_pages;
        {
            std::lock_guard lock(self->mutex_);
            self->due_ = true;
        }
        self->wake_.notify_one();
    }
    // The hook's result is reported as the commit's: never fail a durable commit.
    return SQLITE_OK;
}

void Checkpointer::run(std::stop_token stop) {
    while (true) {
        {
            std::unique_lock lock(mutex_);
            if (!wake_.wait(lock, stop, [&] { return due_; })) return;
            due_ = false;
        }
        // PASSIVE: copies what it can without waiting for readers or the writer. A
        // failure (busy, I/O) is retried at the next wake-up; if this keeps failing
        // the writer's inline fallback takes over.
        sqlite3_wal_checkpoint_v2(conn_, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
}

}  // namespace certlab::record
