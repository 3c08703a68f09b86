// Thin RAII over the SQLite C API for the record store: cached statements, one
// execution at a time, transactions that roll back on exception. Private to record/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "record/store.hpp"

namespace certlab::record::sql {

// `what` names the operation in error messages. It is either text or a callable
// returning text, so hot paths build their message only when something fails.
template <class What>
std::string describe(const What& what) {
    if constexpr (std::is_invocable_v<const What&>) return std::string(what());
    else return std::string(what);
}

/// Throws StoreError("<what>: <sqlite3_errmsg>").
template <class What>
[[noreturn]] void fail(sqlite3* db, const What& what) {
    throw StoreError(describe(what) + ": " + sqlite3_errmsg(db));
}

/// Runs SQL text that may hold several statements (schema, pragmas); not for hot paths.
void exec(sqlite3* db, const char* sql, std::string_view what);

/// A prepared statement, finalized on destruction. Prepared once per store.
class Stmt {
public:
    Stmt(sqlite3* db, std::string_view sql);
    [[nodiscard]] sqlite3_stmt* get() const { return stmt_.get(); }
    [[nodiscard]] sqlite3* db() const { return db_; }

private:
    struct Finalize {
        void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
    };
    sqlite3* db_;
    std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

/// One execution of a cached statement. Resets it on scope exit, also on exception:
/// a statement left mid-result would hold a read snapshot open and stall WAL
/// checkpoints, and its bindings would leak into the next use.
class Query {
public:
    explicit Query(Stmt& s) : s_(s.get()), db_(s.db()) {}
    ~Query() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    // Bind failures are remembered and reported by step(), which knows the context.
    Query& bind(int i, std::int64_t v) { return note(sqlite3_bind_int64(s_, i, v)); }
    Query& bind(int i, int v) { return note(sqlite3_bind_int64(s_, i, v)); }
    Query& bind(int i, bool v) { return note(sqlite3_bind_int(s_, i, v ? 1 : 0)); }
    Query& bind(int i, double v) { return note(sqlite3_bind_double(s_, i, v)); }
    Query& bind(int i, std::string_view v) {
        // SQLITE_TRANSIENT copies: callers may pass temporaries.
        return note(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT,
                                        SQLITE_UTF8));
    }
    Query& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Query& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Query& bind_null(int i) { return note(sqlite3_bind_null(s_, i)); }
    /// Bytes as a BLOB; empty is a zero-length blob, not NULL.
    Query& bind_blob(int i, std::string_view bytes) {
        if (bytes.empty()) return note(sqlite3_bind_zeroblob(s_, i, 0));
        return note(sqlite3_bind_blob64(s_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
    }
    template <class T>
    Query& bind(int i, const std::optional<T>& v) {
        return v ? bind(i, *v) : bind_null(i);
    }

    /// true: a row is ready; false: done. Throws StoreError naming `what`.
    template <class What>
    bool step(const What& what) {
        if (bind_rc_ != SQLITE_OK)
            throw StoreError(describe(what) + ": " + sqlite3_errstr(bind_rc_));
        int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(db_, what);
    }
    /// Runs a statement that returns no rows; returns sqlite3_changes().
    template <class What>
    int run(const What& what) {
        while (step(what)) {
        }
        return sqlite3_changes(db_);
    }

    [[nodiscard]] bool is_null(int col) const {
        return sqlite3_column_type(s_, col) == SQLITE_NULL;
    }
    [[nodiscard]] std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    [[nodiscard]] int integer(int col) const { return sqlite3_column_int(s_, col); }
    [[nodiscard]] double real(int col) const { return sqlite3_column_double(s_, col); }
    [[nodiscard]] std::string_view text(int col) const {
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p ? std::string_view(p, sqlite3_column_bytes(s_, col)) : std::string_view{};
    }
    [[nodiscard]] std::string_view blob(int col) const {
        auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
        return p ? std::string_view(p, sqlite3_column_bytes(s_, col)) : std::string_view{};
    }
    [[nodiscard]] std::optional<double> opt_real(int col) const {
        if (is_null(col)) return std::nullopt;
        return real(col);
    }

private:
    Query& note(int rc) {
        if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
        return *this;
    }
    sqlite3_stmt* s_;
    sqlite3* db_;
    int bind_rc_ = SQLITE_OK;
};

/// BEGIN/COMMIT/ROLLBACK, prepared once like everything else.
struct TxStatements {
    explicit TxStatements(sqlite3* db);
    Stmt begin_read;   ///< BEGIN (deferred): a consistent snapshot for multi-query reads
    Stmt begin_write;  ///< BEGIN IMMEDIATE: takes the write lock up front, so a busy
                       ///< database waits in busy_timeout instead of failing mid-way
    Stmt commit;
    Stmt rollback;
};

/// Rolls back unless commit() succeeded.
class Transaction {
public:
    enum class Kind { read, write };

    template <class What>
    Transaction(TxStatements& s, Kind kind, const What& what) : s_(s) {
        Query(kind == Kind::write ? s.begin_write : s.begin_read).run(what);
    }
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    template <class What>
    void commit(const What& what) {
        Query(s_.commit).run(what);
        done_ = true;
    }

private:
    TxStatements& s_;
    bool done_ = false;
};

}  // namespace certlab::record::sql
