// The migrations table and its event log (schema/0001 and later): the task state, and every
// statement on `migrations` and `migration_events`, each returning named structs. The callers
// keep their decisions (when to claim, what a run's outcome means, what an admin may do); the
// SQL text and the column positions live here, next to each other.
#pragma once

#include "base/error.hpp"
#include "crypto/secrets.hpp"
#include "db/store.hpp"

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// A migration's state, exactly the values the table's CHECK constraint allows (a unit test
// compares this with the latest schema file that defines the constraint). A new state is one
// enumerator here and one line in migration_state_names.
enum class MigrationState {
    pending,              // created, never synced
    syncing,              // claimed by a worker under a lease
    synced,               // the last run copied everything (verified); synced every interval
    incomplete,           // the last run left old mail missing or unverified; synced again
    finished,             // the last run after `finish`: the old password is wiped
    stopped,              // by an admin
    failed,               // the last run failed; retried with a backoff
    credentials_rejected, // the old provider refused the stored password
};

struct MigrationStateName {
    MigrationState state;
    std::string_view text;
};

// In the enum's order.
inline constexpr std::array migration_state_names{
    MigrationStateName{MigrationState::pending, "pending"},
    MigrationStateName{MigrationState::syncing, "syncing"},
    MigrationStateName{MigrationState::synced, "synced"},
    MigrationStateName{MigrationState::incomplete, "incomplete"},
    MigrationStateName{MigrationState::finished, "finished"},
    MigrationStateName{MigrationState::stopped, "stopped"},
    MigrationStateName{MigrationState::failed, "failed"},
    MigrationStateName{MigrationState::credentials_rejected, "credentials_rejected"},
};

// The column's text.
std::string_view to_string(MigrationState state);
// The state a column's text names, or nothing.
std::optional<MigrationState> parse_migration_state(std::string_view text);
// A state column read back: a text the enum does not know is a bug (the schema allows a state
// this file lacks), reported with the statement's name.
Result<MigrationState> state_column(std::string_view statement, std::string_view text);

// ---- Creating a task (`migrations create --from-csv`; the login path's own statement is below)

// The associated data that binds a sealed old password to its migration row.
std::string migration_secret_context(std::string_view provider, std::string_view old_login);

struct NewMigrationTask {
    std::string_view account_id;
    std::string_view provider;  // ProviderConfig::name
    std::string_view old_login; // lower-case address at the old provider
    // Sealed with migration_secret_context(provider, old_login) as associated data.
    const SealedSecret &secret;
    std::string_view event_message; // the 'created' event's message
};

// A new migrations row, its 'created' event and the NOTIFY that wakes the worker. Must run
// inside the caller's transaction: the NOTIFY is delivered at its commit. Returns the new
// migration's id. Errors are the database's (a duplicate is permanent).
Result<std::string> insert_migration_task(Connection &conn, const NewMigrationTask &task);

// What a CSV line's checks need to know of an account (by its address).
struct AccountMigrationInfo {
    std::string account_id;
    std::string domain;
    bool has_task = false;
};
Result<std::optional<AccountMigrationInfo>> account_migration_info(Connection &conn,
                                                                   const std::string &address);
// Whether this old login at this provider already has a task.
Result<bool> old_login_has_task(Connection &conn, const std::string &provider,
                                const std::string &old_login);

// ---- The login path's statements. login/pg_login_store sends them on its pipelined
// AsyncSession (db/pg_async.hpp), which takes Statements rather than calls on a Connection, so
// they are published here as Statements with the readers of their rows.

// $1 local address (username), $2 old login. No row: no such account.
extern const Statement login_account_lookup_statement;
struct LoginAccountRow {
    std::string password_hash;
    bool enabled = false; // the account and its domain
    bool ours = false;    // it has a migration from this old login
    // Of that migration (ours only):
    std::string provider;
    bool finished = false; // only the local password counts
    bool proxied = false;  // proxy_until_synced, first complete sync still to come
};
std::optional<LoginAccountRow> read_login_account(const Rows &rows);

// A password the local hash rejected and the old provider accepted, while the migration is not
// finished: the account's hash, the sealed old password (password_changed_at), and a
// credentials_rejected task resumed (due now, the worker woken), as one statement and so one
// transaction. $1 local address, $2 provider, $3 old login, $4 password hash, $5 sealed secret
// (binary), $6 its key id. No row: no such migration, or it is finished (meanwhile).
extern const Statement login_password_update_statement;
struct LoginPasswordUpdatedRow {
    std::string migration_id;
    bool resumed = false; // it was credentials_rejected
    bool proxied = false; // proxy_until_synced, first complete sync still to come
};
std::optional<LoginPasswordUpdatedRow> read_login_password_updated(const Rows &rows);

// The domain (created when allowed and missing), the account, the migration task, its event,
// the provider's proxy endpoint and the worker's wake-up, as one statement and so one
// transaction. $1 domain, $2 domain quota MB, $3 may create the domain, $4 local address,
// $5 password hash, $6 provider, $7 old login, $8 sealed secret (binary), $9 its key id,
// $10 event message, $11 proxy until synced, $12 host, $13 IMAP port, $14 POP3 port,
// $15 security, $16 verify certificate.
extern const Statement login_account_create_statement;
struct LoginCreatedRow {
    bool domain_enabled = false;
    bool domain_created = false;
    // Empty when a concurrent first login created the account first.
    std::optional<std::string> migration_id;
};
// Nothing when the domain is missing: not allowed to create it, or created concurrently after
// the statement's snapshot.
std::optional<LoginCreatedRow> read_login_created(const Rows &rows);

// $1 local address, $2 provider, $3 old login: the migration's id, if any.
extern const Statement login_migration_lookup_statement;
std::optional<std::string> read_login_migration_id(const Rows &rows);

// ---- The worker: claims under a lease (several workers on several hosts share one database),
// progress heartbeats, each run's outcome. Every update is guarded by the lease: an admin who
// stops or deletes a task takes it away.

// What an earlier verification established for one old folder (migration_folders): every old
// message up to verified_uid of this UIDVALIDITY was seen on the new server once.
struct VerifiedMark {
    std::string old_name;
    long long uidvalidity = 0;
    long long verified_uid = 0;
    std::string new_name; // where the folder went: later runs keep sending it there
};

struct ClaimedTask {
    long long id = 0;
    std::string provider;
    std::string old_login;
    std::string local_user;
    SealedSecret secret; // empty blob when the secret was wiped
    bool finish_requested = false;
    MigrationState previous_state = MigrationState::pending;
    int attempts = 0;
    long long messages_before = 0;      // copied by earlier runs
    std::string sync_identity;          // never reused; binds the sync state (state_identity.hpp)
    bool legacy_state_ok = false;       // existed before identities: may adopt an unmarked state
    std::vector<VerifiedMark> verified; // what earlier runs' verifications established
    bool verification_baseline = false; // take the new mailbox as it is (migrations accept)
};

// The statement claim_migration runs: $1 lease owner, $2 providers (text[]), $3 lease seconds. One
// row (the claimed task) or none. Public so that bench/scale_bench times and explains exactly what
// the worker runs.
extern const char *const task_claim_sql;

// The oldest due task of one of `providers`, claimed for `owner`, with its 'sync_started' event.
Result<std::optional<ClaimedTask>> claim_migration(Connection &conn, const std::string &owner,
                                                   const std::vector<std::string> &providers,
                                                   std::chrono::seconds lease);
// Migration `id` claimed for `owner` whatever its next_sync_at (the cutover's final runs): from
// pending, synced, incomplete, failed, credentials_rejected, or syncing under an expired lease.
// Nothing when it is in another state or under a live lease (see find_migration for which).
Result<std::optional<ClaimedTask>> claim_migration_by_id(Connection &conn, long long id,
                                                         const std::string &owner,
                                                         std::chrono::seconds lease);

// A run's counters as the table keeps them.
struct MigrationCounters {
    long long folders_total = 0, folders_done = 0, messages_total = 0, messages_copied = 0;
};

// Renews the lease and publishes progress; false when the lease is gone.
Result<bool> renew_migration_lease(Connection &conn, long long id, const std::string &owner,
                                   std::chrono::seconds lease, const MigrationCounters &counters);

// Gives the task back to `previous` (a task taken over from a dead worker: to what it was before
// that worker), due again after `delay`. False when the lease was gone.
Result<bool> release_migration(Connection &conn, long long id, const std::string &owner,
                               MigrationState previous, std::chrono::seconds delay);

// One old folder of a run's verification, as migration_folders keeps it.
struct MigrationFolder {
    std::string old_name, new_name;
    long long old_messages = 0;
    long long new_messages = -1; // -1: the folder is not on the new server
    long long missing = 0;
    long long uidvalidity = 0, verified_uid = 0;
};

struct MigrationRunRecord {
    MigrationState state; // synced, incomplete, failed or credentials_rejected
    long long next_sync_seconds = 0;
    std::string error; // "" = none
    MigrationCounters counters;
    long long bytes = -1; // < 0: unknown, the column keeps its value
    bool complete = false;
    long long missing = -1; // a verification's missing messages; < 0: none ran
    bool finish = false;    // a synced run finishes the migration, as after `finish` (cutover)
};
// Records a run's end; a synced run after `finish` (or with run.finish) becomes 'finished' and
// wipes the old password. A credentials_rejected run that started before a login brought a
// newer password is recorded as resumed instead (due now). The state recorded, or nothing
// when the lease was gone (the admin's state stands).
Result<std::optional<MigrationState>> record_migration_run(Connection &conn, long long id,
                                                           const std::string &owner,
                                                           const MigrationRunRecord &run);

// Replaces a migration's verification folders (the caller's transaction).
Result<void> store_migration_folders(Connection &conn, long long id,
                                     const std::vector<MigrationFolder> &folders);

// One row of the event log; copied and duration_ms NULL when absent.
Result<void> insert_migration_event(Connection &conn, long long id, std::string_view kind,
                                    std::string_view message, std::optional<long long> copied,
                                    std::optional<long long> duration_ms);

// ---- What admins see and do: list, show, stop, resume, resync, finish, delete. Each change is
// one statement with its event row, and wakes the workers.

struct MigrationRow {
    long long id = 0;
    std::string user, provider, old_login;
    MigrationState state = MigrationState::pending;
    std::string created_at, last_sync_at, next_sync_at, last_error; // "" when NULL
    long long messages_copied = 0, messages_total = 0, bytes = 0;
    int folders_done = 0, folders_total = 0, attempts = 0, runs = 0;
    bool finish_requested = false, has_secret = false;
    std::string verified_at;         // the last verification; "" when never
    long long missing_messages = -1; // what it found missing; -1: not known
    std::string password_changed_at; // a login brought a newer old password; "" when never
};

struct MigrationEvent {
    std::string at, kind, message;
};

struct MigrationFilter {
    std::optional<MigrationState> state; // nothing = any
    std::string domain;                  // local domain, "" = any
    bool active_only = false;            // pending, syncing, synced, incomplete, failed
    long long limit = 0;                 // at most this many, lowest IDs first; 0 = all
};

// What the `migrations list` table shows of a migration. The views point into the current row
// and are valid only during the callback; "" when NULL.
struct MigrationListLine {
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
                                     const std::function<void(const MigrationListLine &)> &each);
Result<std::optional<MigrationRow>> find_migration(Connection &conn, long long id);
Result<std::vector<MigrationEvent>> migration_events(Connection &conn, long long id, int limit);
// The last verification's folders, by old name.
Result<std::vector<MigrationFolder>> migration_folders(Connection &conn, long long id);

// accept: the next verification takes the new mailbox as it is (mail the user deleted or
// moved there before it was verified is not reported missing again).
enum class AdminAction { stop, resume, resync, finish, accept };

// Returns the state afterwards; a permanent error explains why the action does not apply.
Result<MigrationState> apply_admin_action(Connection &conn, long long id, AdminAction action);
// Removes the task, its sealed password and its events; never the account or its mail.
Result<void> delete_migration(Connection &conn, long long id);

// ---- The CLI's reads for offlineimap (`generate-offlineimap-config`, `migrations secret`)

// The migrations an offlineimap config covers: active, with a stored password. By id.
struct OfflineImapMigration {
    long long id = 0;
    std::string provider, old_login, local_user;
};
Result<std::vector<OfflineImapMigration>> offlineimap_migrations(Connection &conn);

// A migration's sealed old password, with what opens it; nothing when it has none (wiped).
struct StoredMigrationSecret {
    std::string provider, old_login;
    SealedSecret secret;
};
Result<std::optional<StoredMigrationSecret>> migration_secret(Connection &conn, long long id);

} // namespace imapmig
