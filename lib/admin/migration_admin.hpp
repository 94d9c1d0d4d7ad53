// What admins see and do with migrations: list, show, stop, resume, resync, finish, delete.
// Each change is one statement with its event row, and wakes the workers.
#pragma once

#include "base/error.hpp"
#include "db/store.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct MigrationRow {
    long long id = 0;
    std::string user, provider, old_login, state;
    std::string created_at, last_sync_at, next_sync_at, last_error; // "" when NULL
    long long messages_copied = 0, messages_total = 0, bytes = 0;
    int folders_done = 0, folders_total = 0, attempts = 0, runs = 0;
    bool finish_requested = false, has_secret = false;
    std::string verified_at;         // the last verification; "" when never
    long long missing_messages = -1; // what it found missing; -1: not known
};

// One old folder of the last verification (migration_folders).
struct MigrationFolder {
    std::string old_name, new_name;
    long long old_messages = 0;
    long long new_messages = -1; // -1: the folder is not on the new server
    long long missing = 0;
};

struct MigrationEvent {
    std::string at, kind, message;
};

struct MigrationFilter {
    std::string state;        // "" = any
    std::string domain;       // local domain, "" = any
    bool active_only = false; // pending, syncing, synced, incomplete, failed
    long long limit = 0;      // at most this many, lowest IDs first; 0 = all
};

// What the `migrations list` table shows of a migration. The views point into the current row
// and are valid only during the callback; "" when NULL.
struct MigrationLine {
    long long id = 0, messages_copied = 0;
    std::string_view state, user, provider, last_error;
    std::string_view last_sync_at; // "YYYY-MM-DD HH:MM:SS", local time, as in MigrationRow
};

// The statements list_migrations and for_each_migration_line run: $1 state ("" = any), $2
// local domain ("" = any), $3 active only ("true"/"false"), $4 limit (NULL = all). Public so
// that bench/scale_bench times and explains them.
const std::string &migration_list_sql();
const std::string &migration_line_sql();
Result<std::vector<MigrationRow>> list_migrations(Connection &conn, const MigrationFilter &filter);
// The same migrations, fewer columns, handed to `each` row by row as they arrive: a full list
// of a big campaign (70,000 rows) never sits in memory and prints while PostgreSQL still sends.
// An error after some rows returns the error; the rows before it were handed on.
Result<void> for_each_migration_line(Connection &conn, const MigrationFilter &filter,
                                     const std::function<void(const MigrationLine &)> &each);
Result<std::optional<MigrationRow>> find_migration(Connection &conn, long long id);
Result<std::vector<MigrationEvent>> migration_events(Connection &conn, long long id, int limit);
// The last verification's folders, by old name.
Result<std::vector<MigrationFolder>> migration_folders(Connection &conn, long long id);

// accept: the next verification takes the new mailbox as it is (mail the user deleted or
// moved there before it was verified is not reported missing again).
enum class AdminAction { stop, resume, resync, finish, accept };

// Returns the state afterwards; a permanent error explains why the action does not apply.
Result<std::string> apply_admin_action(Connection &conn, long long id, AdminAction action);
// Removes the task, its sealed password and its events; never the account or its mail.
Result<void> delete_migration(Connection &conn, long long id);

const std::vector<std::string> &migration_states();

} // namespace imapmig
