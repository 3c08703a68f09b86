// Moves WAL checkpoints off the commit path. SQLite's automatic checkpoint runs
// inside whichever commit crosses 1000 WAL pages, and with synchronous=NORMAL that
// commit pays the database fsync: measured at 8-35 ms once every ~250 steps,
// against ~40 us for an ordinary commit. Here a thread with its own connection
// checkpoints instead, concurrently with the writer. Private to record/.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace certlab::record {

class Checkpointer {
public:
    /// Takes over checkpointing of `writer` (its auto-checkpoint is replaced).
    /// `path` is the same database; `sync_sql` the writer's synchronous pragma,
    /// which the checkpoint's own fsyncs follow. Throws StoreError.
    Checkpointer(sqlite3* writer, const std::string& path, const char* sync_sql);
    ~Checkpointer();
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    static constexpr int checkpoint_pages = 1000;  ///< SQLite's own default
    /// If the WAL gets this long the writer checkpoints inline after all, so it
    /// cannot grow without bound: when the thread is stuck on I/O, or when commits
    /// come so fast that no checkpoint ever catches up and lets the log restart.
    static constexpr int inline_pages = 16000;

private:
    static int on_commit(void* self, sqlite3* db, const char* name, int pages);
    void run(std::stop_token stop);

    sqlite3* writer_;
    sqlite3* conn_ = nullptr;
    // Touched only by on_commit, i.e. under the store's lock.
    int last_pages_ = 0;                  ///< WAL length at the last commit [pages]
    int next_at_ = checkpoint_pages;      ///< wake the thread at this WAL length [pages]
    std::mutex mutex_;
    std::condition_variable_any wake_;
    bool due_ = false;
    std::jthread thread_;  // last: started once everything above exists
};

}  // namespace certlab::record
