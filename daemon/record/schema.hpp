// The record's SQLite schema as a list of migrations; PRAGMA user_version holds the
// version a database is at. Append a migration to change the schema, never edit one
// that has shipped: stations in the field are at every version in between.
#pragma once

#include <span>
#include <string_view>

struct sqlite3;

namespace certlab::record::schema {

/// The SQL that takes a database from version `to - 1` to version `to`.
struct Migration {
    int to;
    std::string_view sql;
};

/// Every migration in order; migrations()[i].to == i + 1. The last one's `to` is
/// Store::schema_version.
[[nodiscard]] std::span<const Migration> migrations();

/// Brings `db` to Store::schema_version, each migration in its own transaction.
/// Throws StoreError when the database is newer than this build knows (it is then
/// left untouched) or a migration fails (rolled back); the caller adds which
/// database it was to the message.
void migrate(sqlite3* db);

}  // namespace certlab::record::schema
