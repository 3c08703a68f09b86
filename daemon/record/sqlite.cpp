#include "record/sqlite.hpp"

namespace certlab::record::sql {

void exec(sqlite3* db, const char* sql, std::string_view what) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::unique_ptr<char, decltype(&sqlite3_free)> owned(err, &sqlite3_free);
        throw StoreError(std::string(what) + ": " + (err ? err : sqlite3_errmsg(db)));
    }
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* s = nullptr;
    // PERSISTENT: these live as long as the store, so SQLite keeps them off its
    // lookaside allocator.
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    stmt_.reset(s);
    if (rc != SQLITE_OK) fail(db, "prepare `" + std::string(sql) + "`");
}

TxStatements::TxStatements(sqlite3* db)
    : begin_read(db, "BEGIN"),
      begin_write(db, "BEGIN IMMEDIATE"),
      commit(db, "COMMIT"),
      rollback(db, "ROLLBACK") {}

Transaction::~Transaction() {
    // A failed COMMIT may or may not have ended the transaction (SQLite rolls back
    // by itself on some errors, e.g. SQLITE_FULL); only roll back one still open.
    if (!done_ && !sqlite3_get_autocommit(s_.commit.db())) {
        sqlite3_step(s_.rollback.get());
        sqlite3_reset(s_.rollback.get());
    }
}

}  // namespace certlab::record::sql
