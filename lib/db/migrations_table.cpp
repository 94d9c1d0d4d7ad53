#include "db/migrations_table.hpp"

#include "db/pg_binary.hpp"

#include <algorithm>

namespace imapmig {

namespace {

constexpr bool names_in_enum_order() {
    for (size_t i = 0; i < migration_state_names.size(); ++i)
        if (static_cast<size_t>(migration_state_names[i].state) != i ||
            migration_state_names[i].text.empty())
            return false;
    return true;
}
static_assert(names_in_enum_order(), "migration_state_names: one entry per state, in order");

} // namespace

Result<MigrationState> state_column(std::string_view statement, std::string_view text) {
    if (auto state = parse_migration_state(text))
        return *state;
    return bug_error("SQL " + std::string(statement) + ": state '" + std::string(text) +
                     "' is not a MigrationState (the schema and migrations_table.hpp differ)");
}

std::string_view to_string(MigrationState state) {
    return migration_state_names.at(static_cast<size_t>(state)).text;
}

std::optional<MigrationState> parse_migration_state(std::string_view text) {
    auto it = std::find_if(migration_state_names.begin(), migration_state_names.end(),
                           [text](const MigrationStateName &n) { return n.text == text; });
    if (it == migration_state_names.end())
        return std::nullopt;
    return it->state;
}

// ---- Creating a task

std::string migration_secret_context(std::string_view provider, std::string_view old_login) {
    return "imapmigration/v1\n" + std::string(provider) + "\n" + std::string(old_login);
}

Result<std::string> insert_migration_task(Connection &c, const NewMigrationTask &t) {
    const std::string_view blob(reinterpret_cast<const char *>(t.secret.blob.data()),
                                t.secret.blob.size());
    auto migration =
        c.exec("migration create",
               "INSERT INTO migrations (account_id, provider, old_login, secret, "
               "secret_key_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
               {t.account_id, t.provider, t.old_login, Param::binary(blob), t.secret.key_id});
    if (!migration)
        return migration.error();
    std::string id = migration.value().str(0, 0);
    auto event = c.exec("migration event",
                        "INSERT INTO migration_events (migration_id, kind, message) "
                        "VALUES ($1, 'created', $2)",
                        {id, t.event_message});
    if (!event)
        return event.error();
    // Delivered at commit: wakes the worker for the first sync.
    auto notify = c.exec("migration notify", "SELECT pg_notify('imap_migration', $1)", {id});
    if (!notify)
        return notify.error();
    return id;
}

Result<std::optional<AccountMigrationInfo>> account_migration_info(Connection &conn,
                                                                   const std::string &address) {
    auto rows = conn.exec("migration csv account",
                          "SELECT a.id, d.name, EXISTS (SELECT 1 FROM migrations m "
                          "WHERE m.account_id = a.id) FROM accounts a "
                          "JOIN domains d ON d.id = a.domain_id WHERE a.address = $1",
                          {address});
    if (!rows)
        return rows.error();
    if (rows.value().empty())
        return std::optional<AccountMigrationInfo>();
    return std::optional(AccountMigrationInfo{rows.value().str(0, 0), rows.value().str(0, 1),
                                              rows.value().boolean(0, 2)});
}

Result<bool> old_login_has_task(Connection &conn, const std::string &provider,
                                const std::string &old_login) {
    auto rows = conn.exec("migration csv old login",
                          "SELECT 1 FROM migrations WHERE provider = $1 AND old_login = $2",
                          {provider, old_login});
    if (!rows)
        return rows.error();
    return !rows.value().empty();
}

// ---- The login path's statements

// The local passdb answers for existing accounts; this sees the ones it may have missed, and
// those whose password it rejected (the old provider may know a newer one).
const Statement login_account_lookup_statement{
    "account lookup",
    "SELECT a.password, a.enabled AND d.enabled, m.id IS NOT NULL, coalesce(m.provider, ''),"
    " coalesce(m.state = 'finished', false),"
    " coalesce(m.proxy_until_synced AND m.first_synced_at IS NULL AND m.state <> 'finished',"
    "          false) "
    "FROM accounts a LEFT JOIN domains d ON d.id = a.domain_id "
    "LEFT JOIN migrations m ON m.account_id = a.id AND m.old_login = $2 "
    "WHERE a.username = $1"};

std::optional<LoginAccountRow> read_login_account(const Rows &r) {
    if (r.empty())
        return std::nullopt;
    return LoginAccountRow{r.str(0, 0), r.boolean(0, 1), r.boolean(0, 2),
                           r.str(0, 3), r.boolean(0, 4), r.boolean(0, 5)};
}

// One statement, so one transaction: the migration row is locked first (a concurrent `finish`
// waits for it, or wins and the update finds no row), then the account's hash, the sealed old
// password, the resume of a rejected task, its event and the worker's wake-up.
const Statement login_password_update_statement{
    "password update",
    "WITH target AS ("
    "  SELECT m.id, m.account_id, m.state FROM migrations m"
    "  JOIN accounts a ON a.id = m.account_id"
    "  WHERE a.username = $1 AND m.provider = $2 AND m.old_login = $3"
    "    AND m.state <> 'finished'"
    "  FOR UPDATE OF m), "
    "account AS ("
    "  UPDATE accounts a SET password = $4 FROM target t WHERE a.id = t.account_id"
    "  RETURNING a.id), "
    "migration AS ("
    "  UPDATE migrations m SET secret = $5, secret_key_id = $6, password_changed_at = now(),"
    "    updated_at = now(),"
    "    state = CASE WHEN t.state = 'credentials_rejected'"
    "                 THEN CASE WHEN m.last_sync_at IS NULL THEN 'pending' ELSE 'synced' END"
    "                 ELSE m.state END,"
    "    next_sync_at = CASE WHEN t.state = 'credentials_rejected' THEN now()"
    "                   ELSE m.next_sync_at END,"
    "    attempts = CASE WHEN t.state = 'credentials_rejected' THEN 0 ELSE m.attempts END,"
    "    last_error = CASE WHEN t.state = 'credentials_rejected' THEN NULL"
    "                 ELSE m.last_error END"
    "  FROM target t WHERE m.id = t.id AND EXISTS (SELECT 1 FROM account)"
    "  RETURNING m.id, t.state = 'credentials_rejected' AS resumed,"
    "    m.proxy_until_synced AND m.first_synced_at IS NULL AS proxied), "
    "event AS ("
    "  INSERT INTO migration_events (migration_id, kind, message)"
    "  SELECT id, 'password_changed', CASE WHEN resumed"
    "    THEN 'a login brought the password changed at the old provider; resumed'"
    "    ELSE 'a login brought the password changed at the old provider' END"
    "  FROM migration) "
    "SELECT id, resumed, proxied,"
    "  (SELECT count(*) FROM (SELECT pg_notify('imap_migration', id::text) FROM migration"
    "                         WHERE resumed) n) "
    "FROM migration"};

std::optional<LoginPasswordUpdatedRow> read_login_password_updated(const Rows &r) {
    if (r.empty())
        return std::nullopt;
    return LoginPasswordUpdatedRow{r.str(0, 0), r.boolean(0, 1), r.boolean(0, 2)};
}

// The domain (created when allowed and missing), the account, the migration task, its event
// and the worker's wake-up, as one statement and so one transaction. Returns one row (domain
// enabled, domain created, account id, migration id), or none when the domain is missing: not
// allowed to create it, or created concurrently after this statement's snapshot. A NULL
// account id means a concurrent first login created the account.
const Statement login_account_create_statement{
    "account create",
    "WITH new_domain AS ("
    "  INSERT INTO domains (name, default_mailbox_quota_mb)"
    "  SELECT $1, $2::bigint WHERE $3::boolean"
    "    AND NOT EXISTS (SELECT 1 FROM domains WHERE name = $1)"
    "  ON CONFLICT (name) DO NOTHING"
    "  RETURNING id, enabled, default_mailbox_quota_mb), "
    "domain AS ("
    "  SELECT id, enabled, default_mailbox_quota_mb, true AS created FROM new_domain"
    "  UNION ALL"
    "  SELECT id, enabled, default_mailbox_quota_mb, false FROM domains WHERE name = $1), "
    "account AS ("
    "  INSERT INTO accounts (username, address, domain_id, password, quota_mb)"
    "  SELECT $4, $4, id, $5, default_mailbox_quota_mb FROM domain WHERE enabled"
    "  ON CONFLICT DO NOTHING RETURNING id), "
    "migration AS ("
    "  INSERT INTO migrations (account_id, provider, old_login, secret, secret_key_id,"
    "                          proxy_until_synced)"
    "  SELECT id, $6, $7, $8, $9, $11::boolean FROM account RETURNING id), "
    // The proxy's endpoint, for the SQL passdb; written only when it changed, so that first
    // logins do not queue on the provider's row.
    "provider AS ("
    "  INSERT INTO providers (name, host, imap_port, pop3_port, security, verify_certificate)"
    "  SELECT $6, $12, $13::integer, $14::integer, $15, $16::boolean"
    "  WHERE $11::boolean AND NOT EXISTS (SELECT 1 FROM providers WHERE name = $6"
    "    AND host = $12 AND imap_port = $13::integer AND pop3_port = $14::integer"
    "    AND security = $15 AND verify_certificate = $16::boolean)"
    "  ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, imap_port = EXCLUDED.imap_port,"
    "    pop3_port = EXCLUDED.pop3_port, security = EXCLUDED.security,"
    "    verify_certificate = EXCLUDED.verify_certificate, updated_at = now()), "
    "event AS ("
    "  INSERT INTO migration_events (migration_id, kind, message)"
    "  SELECT id, 'created', $10 FROM migration) "
    "SELECT d.enabled, d.created, (SELECT id FROM account), (SELECT id FROM migration),"
    "  (SELECT count(*) FROM (SELECT pg_notify('imap_migration', id::text) FROM migration) n) "
    "FROM domain d"};

std::optional<LoginCreatedRow> read_login_created(const Rows &r) {
    if (r.empty())
        return std::nullopt;
    LoginCreatedRow out{r.boolean(0, 0), r.boolean(0, 1), std::nullopt};
    if (!r.is_null(0, 2))
        out.migration_id = r.str(0, 3);
    return out;
}

const Statement login_migration_lookup_statement{
    "migration lookup", "SELECT m.id FROM accounts a JOIN migrations m ON m.account_id = a.id "
                        "WHERE a.username = $1 AND m.provider = $2 AND m.old_login = $3"};

std::optional<std::string> read_login_migration_id(const Rows &r) {
    return r.empty() ? std::nullopt : std::optional<std::string>(r.str(0, 0));
}

// ---- The worker

namespace {

// The claim of the row the `due` CTE (id, prev_state) picked: leased to $1 for $3 seconds,
// with the columns claimed_task reads.
std::string claim_sql(const char *due) {
    return std::string("WITH due AS (") + due +
           ") "
           "UPDATE migrations m SET state = 'syncing', lease_owner = $1,"
           "  lease_expires = now() + make_interval(secs => $3::int), last_run_started = now(),"
           "  runs = m.runs + 1, folders_done = 0, updated_at = now() "
           "FROM due WHERE m.id = due.id "
           "RETURNING m.id, m.provider, m.old_login,"
           "  (SELECT username FROM accounts a WHERE a.id = m.account_id),"
           "  coalesce(m.secret_key_id, ''), coalesce(encode(m.secret, 'hex'), ''),"
           "  m.finish_requested, due.prev_state, m.attempts, m.messages_copied,"
           "  m.sync_identity::text, m.legacy_state_ok, m.verification_baseline";
}

// SKIP LOCKED: workers on other hosts claim other rows instead of waiting for these.
// A 'syncing' row whose lease expired belongs to a dead worker and is due again.
const std::string &due_claim_sql() {
    static const std::string sql =
        claim_sql("  SELECT id, state AS prev_state FROM migrations"
                  "  WHERE provider = ANY($2::text[])"
                  "    AND ((state IN ('pending', 'synced', 'incomplete', 'failed') AND "
                  "next_sync_at <= now())"
                  "         OR (state = 'syncing' AND lease_expires < now()))"
                  "  ORDER BY next_sync_at LIMIT 1 FOR UPDATE SKIP LOCKED");
    return sql;
}

// $2 the migration's id. Waits for a concurrent claim's transaction, never for a run: a row
// under a live lease is simply not claimed.
const std::string &id_claim_sql() {
    static const std::string sql = claim_sql(
        "  SELECT id, state AS prev_state FROM migrations"
        "  WHERE id = $2::bigint"
        "    AND (state IN ('pending', 'synced', 'incomplete', 'failed', 'credentials_rejected')"
        "         OR (state = 'syncing' AND lease_expires < now()))"
        "  FOR UPDATE");
    return sql;
}

// The claimed row, its verification marks and its 'sync_started' event.
Result<std::optional<ClaimedTask>> claimed_task(Connection &conn, const Rows &row,
                                                const std::string &owner) {
    if (row.empty())
        return std::optional<ClaimedTask>();
    ClaimedTask t;
    t.id = row.integer(0, 0);
    t.provider = row.str(0, 1);
    t.old_login = row.str(0, 2);
    t.local_user = row.str(0, 3);
    t.secret = sealed_secret_from_hex(row.text(0, 4), row.text(0, 5));
    t.finish_requested = row.boolean(0, 6);
    auto previous = state_column("migration claim", row.text(0, 7));
    if (!previous)
        return previous.error();
    t.previous_state = previous.value();
    t.attempts = static_cast<int>(row.integer(0, 8));
    t.messages_before = row.integer(0, 9);
    t.sync_identity = row.str(0, 10);
    t.legacy_state_ok = row.boolean(0, 11);
    t.verification_baseline = row.boolean(0, 12);
    auto marks = conn.exec("migration folders marks",
                           "SELECT old_name, old_uidvalidity, verified_uid, new_name"
                           " FROM migration_folders WHERE migration_id = $1",
                           {std::to_string(t.id)});
    if (!marks)
        return marks.error();
    for (int i = 0; i < marks.value().count(); ++i)
        t.verified.push_back({marks.value().str(i, 0), marks.value().integer(i, 1),
                              marks.value().integer(i, 2), marks.value().str(i, 3)});
    if (auto e = insert_migration_event(conn, t.id, "sync_started", "claimed by " + owner,
                                        std::nullopt, std::nullopt);
        !e)
        return e.error();
    return std::optional<ClaimedTask>(std::move(t));
}

} // namespace

const char *const task_claim_sql = due_claim_sql().c_str();

Result<std::optional<ClaimedTask>> claim_migration(Connection &conn, const std::string &owner,
                                                   const std::vector<std::string> &providers,
                                                   std::chrono::seconds lease) {
    auto r = conn.exec("migration claim", task_claim_sql,
                       {owner, pg_text_array(providers), std::to_string(lease.count())});
    if (!r)
        return r.error();
    return claimed_task(conn, r.value(), owner);
}

Result<std::optional<ClaimedTask>> claim_migration_by_id(Connection &conn, long long id,
                                                         const std::string &owner,
                                                         std::chrono::seconds lease) {
    auto r = conn.exec("migration claim by id", id_claim_sql().c_str(),
                       {owner, std::to_string(id), std::to_string(lease.count())});
    if (!r)
        return r.error();
    return claimed_task(conn, r.value(), owner);
}

Result<bool> renew_migration_lease(Connection &conn, long long id, const std::string &owner,
                                   std::chrono::seconds lease, const MigrationCounters &c) {
    auto r =
        conn.exec("migration heartbeat",
                  "UPDATE migrations SET lease_expires = now() + make_interval(secs => $3::int),"
                  " folders_total = $4, folders_done = $5, messages_total = $6,"
                  " messages_copied = $7, updated_at = now() "
                  "WHERE id = $1 AND lease_owner = $2 AND state = 'syncing' RETURNING id",
                  {std::to_string(id), owner, std::to_string(lease.count()),
                   std::to_string(c.folders_total), std::to_string(c.folders_done),
                   std::to_string(c.messages_total), std::to_string(c.messages_copied)});
    if (!r)
        return r.error();
    return !r.value().empty();
}

Result<bool> release_migration(Connection &conn, long long id, const std::string &owner,
                               MigrationState previous, std::chrono::seconds delay) {
    auto r =
        conn.exec("migration release",
                  "UPDATE migrations SET lease_owner = NULL, lease_expires = NULL,"
                  " next_sync_at = now() + make_interval(secs => $4::int), updated_at = now(),"
                  " state = CASE WHEN $3 <> 'syncing' THEN $3"
                  "              WHEN last_sync_at IS NULL THEN 'pending' ELSE 'synced' END "
                  "WHERE id = $1 AND lease_owner = $2 AND state = 'syncing' RETURNING id",
                  {std::to_string(id), owner, to_string(previous), std::to_string(delay.count())});
    if (!r)
        return r.error();
    return !r.value().empty();
}

Result<std::optional<MigrationState>> record_migration_run(Connection &conn, long long id,
                                                           const std::string &owner,
                                                           const MigrationRunRecord &run) {
    const MigrationCounters &c = run.counters;
    // A verified run after `finish` (or the cutover's last run, $13) is the last one: the old
    // password is wiped with it. A run the provider rejected although a login brought a newer
    // password since it started (schema/0007) ran with the previous one: due again at once,
    // with the new one, instead of credentials_rejected.
    auto r = conn.exec(
        "migration record",
        "UPDATE migrations SET lease_owner = NULL, lease_expires = NULL, updated_at = now(),"
        " state = CASE WHEN $3 = 'synced' AND (finish_requested OR $13::boolean) THEN 'finished'"
        "              WHEN $3 = 'credentials_rejected' AND password_changed_at > last_run_started"
        "              THEN CASE WHEN last_sync_at IS NULL THEN 'pending' ELSE 'synced' END"
        "              ELSE $3 END,"
        " secret = CASE WHEN $3 = 'synced' AND (finish_requested OR $13::boolean) THEN NULL"
        "          ELSE secret END,"
        " secret_key_id = CASE WHEN $3 = 'synced' AND (finish_requested OR $13::boolean)"
        "                 THEN NULL ELSE secret_key_id END,"
        " finished_at = CASE WHEN $3 = 'synced' AND (finish_requested OR $13::boolean)"
        "               THEN now() END,"
        " last_sync_at = CASE WHEN $3 IN ('synced', 'incomplete') THEN now()"
        "                ELSE last_sync_at END,"
        // The proxy window ends with the first complete, verified run; any other run while
        // users are still proxied is run again soon rather than after the interval.
        " first_synced_at = CASE WHEN $3 = 'synced' AND $11::boolean AND first_synced_at IS NULL"
        "                   THEN now() ELSE first_synced_at END,"
        " next_sync_at = now() + make_interval(secs => CASE WHEN $3 IN ('synced', 'incomplete')"
        "   AND NOT $11::boolean AND proxy_until_synced AND first_synced_at IS NULL THEN 30"
        "   WHEN $3 = 'credentials_rejected' AND password_changed_at > last_run_started THEN 0"
        "   ELSE $4::bigint END::double precision),"
        " attempts = CASE WHEN $3 IN ('synced', 'incomplete') OR ($3 = 'credentials_rejected'"
        "   AND password_changed_at > last_run_started) THEN 0 ELSE attempts + 1 END,"
        " last_error = NULLIF($5, ''),"
        " folders_total = $6, folders_done = $7, messages_total = $8, messages_copied = $9,"
        " bytes_copied = CASE WHEN $10::bigint >= 0 THEN $10::bigint ELSE bytes_copied END,"
        " verified_at = CASE WHEN $12::bigint >= 0 THEN now() ELSE verified_at END,"
        " missing_messages = CASE WHEN $12::bigint >= 0 THEN $12::bigint"
        "                    WHEN $3 = 'incomplete' THEN NULL ELSE missing_messages END,"
        " verification_baseline = verification_baseline AND $12::bigint < 0 "
        "WHERE id = $1 AND lease_owner = $2 AND state = 'syncing' RETURNING state",
        {std::to_string(id), owner, to_string(run.state), std::to_string(run.next_sync_seconds),
         run.error, std::to_string(c.folders_total), std::to_string(c.folders_done),
         std::to_string(c.messages_total), std::to_string(c.messages_copied),
         std::to_string(run.bytes), run.complete ? "true" : "false", std::to_string(run.missing),
         run.finish ? "true" : "false"});
    if (!r)
        return r.error();
    if (r.value().empty())
        return std::optional<MigrationState>();
    auto state = state_column("migration record", r.value().text(0, 0));
    if (!state)
        return state.error();
    return std::optional(state.value());
}

namespace {

// `{1,NULL,3}` for a bigint[] parameter; negative values are NULL.
std::string pg_bigint_array(const std::vector<long long> &items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i)
        out += (i ? "," : "") + (items[i] < 0 ? std::string("NULL") : std::to_string(items[i]));
    return out + "}";
}

} // namespace

Result<void> store_migration_folders(Connection &conn, long long id,
                                     const std::vector<MigrationFolder> &folders) {
    std::vector<std::string> old_names, new_names;
    std::vector<long long> old_counts, new_counts, missing, uidvalidities, verified_uids;
    for (const auto &f : folders) {
        old_names.push_back(f.old_name);
        new_names.push_back(f.new_name);
        old_counts.push_back(f.old_messages);
        new_counts.push_back(f.new_messages);
        missing.push_back(f.missing);
        uidvalidities.push_back(f.uidvalidity);
        verified_uids.push_back(f.verified_uid);
    }
    auto cleared =
        conn.exec("migration folders clear",
                  "DELETE FROM migration_folders WHERE migration_id = $1", {std::to_string(id)});
    if (!cleared)
        return cleared.error();
    auto stored = conn.exec(
        "migration folders store",
        "INSERT INTO migration_folders (migration_id, old_name, new_name, old_messages,"
        " new_messages, missing, old_uidvalidity, verified_uid) SELECT $1, o, n, om, nm, mi,"
        " uv, vu FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[],"
        " $6::bigint[], $7::bigint[], $8::bigint[]) AS t(o, n, om, nm, mi, uv, vu)",
        {std::to_string(id), pg_text_array(old_names), pg_text_array(new_names),
         pg_bigint_array(old_counts), pg_bigint_array(new_counts), pg_bigint_array(missing),
         pg_bigint_array(uidvalidities), pg_bigint_array(verified_uids)});
    if (!stored)
        return stored.error();
    return {};
}

Result<void> insert_migration_event(Connection &conn, long long id, std::string_view kind,
                                    std::string_view message, std::optional<long long> copied,
                                    std::optional<long long> duration_ms) {
    std::string copied_text = copied ? std::to_string(*copied) : "";
    std::string duration_text = duration_ms ? std::to_string(*duration_ms) : "";
    auto r = conn.exec("migration event",
                       "INSERT INTO migration_events (migration_id, kind, message, messages_copied,"
                       " duration_ms) VALUES ($1, $2, $3, NULLIF($4, '')::bigint,"
                       " NULLIF($5, '')::bigint)",
                       {std::to_string(id), kind, message, copied_text, duration_text});
    if (!r)
        return r.error();
    return {};
}

// ---- What admins see and do

namespace {

constexpr const char *row_columns =
    "m.id, a.username, m.provider, m.old_login, m.state,"
    " to_char(m.created_at, 'YYYY-MM-DD HH24:MI:SS'),"
    " coalesce(to_char(m.last_sync_at, 'YYYY-MM-DD HH24:MI:SS'), ''),"
    " CASE WHEN m.state IN ('pending', 'synced', 'incomplete', 'failed')"
    "      THEN to_char(m.next_sync_at, 'YYYY-MM-DD HH24:MI:SS') ELSE '' END,"
    " coalesce(m.last_error, ''), m.messages_copied, m.messages_total, m.folders_done,"
    " m.folders_total, m.attempts, m.runs, m.finish_requested, m.secret IS NOT NULL,"
    " m.bytes_copied, coalesce(to_char(m.verified_at, 'YYYY-MM-DD HH24:MI:SS'), ''),"
    " coalesce(m.missing_messages, -1),"
    " coalesce(to_char(m.password_changed_at, 'YYYY-MM-DD HH24:MI:SS'), '')";

// What the table shows, nothing more: every column costs the server an output function per
// row and the client a copy. Fetched in binary (for_each_migration_line), so that bigint and
// timestamp arrive as 8 bytes the server need not format: to_char cost ~0.3 us a call, and
// with row_columns a list of 70,000 migrations took twice as long. The casts pin the types
// the binary decoding relies on; ::timestamp is the session's local time, as to_char uses.
// The state filtered on ($1) comes back as NULL: the planner folds the CASE, so the column
// never travels through the join, the sort and the wire.
constexpr const char *line_columns =
    "m.id::bigint, CASE WHEN $1 = '' THEN m.state::text END, a.username::text, m.provider::text,"
    " m.messages_copied::bigint, m.last_sync_at::timestamp, m.last_error::text";

std::string list_sql(const char *columns) {
    return std::string("SELECT ") + columns +
           " FROM migrations m JOIN accounts a ON a.id = m.account_id"
           " LEFT JOIN domains d ON d.id = a.domain_id"
           " WHERE ($1 = '' OR m.state = $1) AND ($2 = '' OR d.name = lower($2))"
           "   AND (NOT $3::boolean OR m.state IN ('pending', 'syncing', 'synced', 'incomplete',"
           "                                        'failed'))"
           " ORDER BY m.id LIMIT $4::bigint";
}

// The filter's state as the statements' $1: "" for any.
std::string_view filter_state(const MigrationFilter &f) {
    return f.state ? to_string(*f.state) : std::string_view();
}

// Row i of a binary line_columns result; buf holds last_sync_at's text, state is the state
// filtered on unless the row says otherwise. PQgetvalue gives "" for NULL, which is what
// MigrationListLine promises for text.
MigrationListLine line_of(const PGresult *r, int i, std::string_view state, char (&buf)[32]) {
    auto text = [r, i](int c) {
        return std::string_view(PQgetvalue(r, i, c), static_cast<size_t>(PQgetlength(r, i, c)));
    };
    MigrationListLine m;
    m.id = pg_binary_int64(PQgetvalue(r, i, 0));
    m.state = PQgetisnull(r, i, 1) ? state : text(1);
    m.user = text(2);
    m.provider = text(3);
    m.messages_copied = pg_binary_int64(PQgetvalue(r, i, 4));
    if (!PQgetisnull(r, i, 5))
        m.last_sync_at = pg_binary_timestamp_text(pg_binary_int64(PQgetvalue(r, i, 5)), buf);
    m.last_error = text(6);
    return m;
}

Result<MigrationRow> to_row(const Rows &r, int i) {
    auto state = state_column("migration list", r.text(i, 4));
    if (!state)
        return state.error();
    MigrationRow m;
    m.id = r.integer(i, 0);
    m.user = r.str(i, 1);
    m.provider = r.str(i, 2);
    m.old_login = r.str(i, 3);
    m.state = state.value();
    m.created_at = r.str(i, 5);
    m.last_sync_at = r.str(i, 6);
    m.next_sync_at = r.str(i, 7);
    m.last_error = r.str(i, 8);
    m.messages_copied = r.integer(i, 9);
    m.messages_total = r.integer(i, 10);
    m.folders_done = static_cast<int>(r.integer(i, 11));
    m.folders_total = static_cast<int>(r.integer(i, 12));
    m.attempts = static_cast<int>(r.integer(i, 13));
    m.runs = static_cast<int>(r.integer(i, 14));
    m.finish_requested = r.boolean(i, 15);
    m.has_secret = r.boolean(i, 16);
    m.bytes = r.integer(i, 17);
    m.verified_at = r.str(i, 18);
    m.missing_messages = r.integer(i, 19);
    m.password_changed_at = r.str(i, 20);
    return m;
}

struct ActionSql {
    const char *name;
    const char *allowed_states; // for the refusal message
    const char *sql;            // $1 = id; RETURNING state
};

// Each UPDATE applies only from the states where the action makes sense.
ActionSql action_sql(AdminAction a) {
    switch (a) {
    case AdminAction::stop:
        return {"stop", "pending, syncing, synced, incomplete, failed, credentials_rejected",
                "UPDATE migrations SET state = 'stopped', lease_owner = NULL, lease_expires = NULL,"
                " updated_at = now() WHERE id = $1 AND state NOT IN ('stopped', 'finished')"
                " RETURNING state"};
    case AdminAction::resume:
        return {"resume", "stopped, failed, credentials_rejected",
                "UPDATE migrations SET state = CASE WHEN last_sync_at IS NULL THEN 'pending'"
                " ELSE 'synced' END, next_sync_at = now(), attempts = 0, last_error = NULL,"
                " updated_at = now() WHERE id = $1"
                " AND state IN ('stopped', 'failed', 'credentials_rejected') RETURNING state"};
    case AdminAction::resync:
        return {"resync", "pending, synced, incomplete, failed",
                "UPDATE migrations SET next_sync_at = now(), updated_at = now()"
                " WHERE id = $1 AND state IN ('pending', 'synced', 'incomplete', 'failed')"
                " RETURNING state"};
    case AdminAction::accept:
        return {"accept", "pending, synced, incomplete, failed",
                "UPDATE migrations SET verification_baseline = true, next_sync_at = now(),"
                " updated_at = now() WHERE id = $1"
                " AND state IN ('pending', 'synced', 'incomplete', 'failed') RETURNING state"};
    case AdminAction::finish:
        break;
    }
    return {"finish", "pending, syncing, synced, incomplete, failed, stopped",
            "UPDATE migrations SET finish_requested = true, next_sync_at = now(),"
            " state = CASE WHEN state <> 'stopped' THEN state"
            "              WHEN last_sync_at IS NULL THEN 'pending' ELSE 'synced' END,"
            " updated_at = now() WHERE id = $1"
            " AND state IN ('pending', 'syncing', 'synced', 'incomplete', 'failed', 'stopped')"
            " RETURNING state"};
}

} // namespace

const std::string &migration_list_sql() {
    static const std::string sql = list_sql(row_columns);
    return sql;
}

const std::string &migration_line_sql() {
    static const std::string sql = list_sql(line_columns);
    return sql;
}

Result<std::vector<MigrationRow>> list_migrations(Connection &conn, const MigrationFilter &f) {
    const std::string limit = std::to_string(f.limit);
    auto r = conn.exec("migration list", migration_list_sql().c_str(),
                       {filter_state(f), f.domain, f.active_only ? "true" : "false",
                        f.limit > 0 ? Param(limit) : Param(std::nullopt)});
    if (!r)
        return r.error();
    std::vector<MigrationRow> out;
    for (int i = 0; i < r.value().count(); ++i) {
        auto row = to_row(r.value(), i);
        if (!row)
            return row.error();
        out.push_back(std::move(row.value()));
    }
    return out;
}

Result<void> for_each_migration_line(Connection &conn, const MigrationFilter &f,
                                     const std::function<void(const MigrationListLine &)> &each) {
    const std::string limit = std::to_string(f.limit);
    const std::string state(filter_state(f));
    const char *values[] = {state.c_str(), f.domain.c_str(), f.active_only ? "true" : "false",
                            f.limit > 0 ? limit.c_str() : nullptr};
    PGconn *pg = conn.raw();
    if (PQsendQueryParams(pg, migration_line_sql().c_str(), 4, nullptr, values, nullptr, nullptr,
                          1) == 0)
        return statement_error("migration list", nullptr, pg);
    // Rows come one PGresult each, as the server sends them, instead of all in one at the end
    // (the final PGRES_TUPLES_OK then holds none).
    PQsetSingleRowMode(pg);
    Result<void> out;
    char buf[32];
    // Read to the end (NULL) even after an error, so the connection is ready for the next one.
    while (PGresult *raw = PQgetResult(pg)) {
        std::unique_ptr<PGresult, PgResultClearer> res(raw);
        const ExecStatusType st = PQresultStatus(raw);
        if (!out)
            continue;
        if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK)
            out = statement_error("migration list", raw, pg);
        else
            for (int i = 0; i < PQntuples(raw); ++i)
                each(line_of(raw, i, filter_state(f), buf));
    }
    return out;
}

Result<std::optional<MigrationRow>> find_migration(Connection &conn, long long id) {
    const std::string sql = std::string("SELECT ") + row_columns +
                            " FROM migrations m JOIN accounts a ON a.id = m.account_id"
                            " WHERE m.id = $1";
    auto r = conn.exec("migration show", sql.c_str(), {std::to_string(id)});
    if (!r)
        return r.error();
    if (r.value().empty())
        return std::optional<MigrationRow>();
    auto row = to_row(r.value(), 0);
    if (!row)
        return row.error();
    return std::optional<MigrationRow>(std::move(row.value()));
}

Result<std::vector<MigrationEvent>> migration_events(Connection &conn, long long id, int limit) {
    auto r = conn.exec("migration events",
                       "SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS'), kind, message FROM ("
                       " SELECT * FROM migration_events WHERE migration_id = $1"
                       " ORDER BY at DESC, id DESC LIMIT $2) e ORDER BY at, id",
                       {std::to_string(id), std::to_string(limit)});
    if (!r)
        return r.error();
    std::vector<MigrationEvent> out;
    for (int i = 0; i < r.value().count(); ++i)
        out.push_back({r.value().str(i, 0), r.value().str(i, 1), r.value().str(i, 2)});
    return out;
}

Result<std::vector<MigrationFolder>> migration_folders(Connection &conn, long long id) {
    auto r =
        conn.exec("migration folders",
                  "SELECT old_name, new_name, old_messages, coalesce(new_messages, -1), missing,"
                  " old_uidvalidity, verified_uid FROM migration_folders"
                  " WHERE migration_id = $1 ORDER BY old_name",
                  {std::to_string(id)});
    if (!r)
        return r.error();
    std::vector<MigrationFolder> out;
    for (int i = 0; i < r.value().count(); ++i)
        out.push_back({r.value().str(i, 0), r.value().str(i, 1), r.value().integer(i, 2),
                       r.value().integer(i, 3), r.value().integer(i, 4), r.value().integer(i, 5),
                       r.value().integer(i, 6)});
    return out;
}

Result<MigrationState> apply_admin_action(Connection &conn, long long id, AdminAction action) {
    const ActionSql a = action_sql(action);
    auto tx = Transaction::begin(conn);
    if (!tx)
        return tx.error();
    auto current =
        conn.exec("migration state", "SELECT state FROM migrations WHERE id = $1 FOR UPDATE",
                  {std::to_string(id)});
    if (!current)
        return current.error();
    if (current.value().empty())
        return permanent_error("migration " + std::to_string(id) + " does not exist");
    auto r = conn.exec(a.name, a.sql, {std::to_string(id)});
    if (!r)
        return r.error();
    if (r.value().empty())
        return permanent_error("migration " + std::to_string(id) + " is " +
                               current.value().str(0, 0) + ": " + a.name + " applies to " +
                               a.allowed_states);
    auto ev = conn.exec("migration event",
                        "INSERT INTO migration_events (migration_id, kind, message)"
                        " VALUES ($1, $2, 'requested by an admin')",
                        {std::to_string(id), a.name});
    if (!ev)
        return ev.error();
    // Wakes idle workers for resume/resync/finish; a running sync notices a stop by its lease.
    auto n = conn.exec("migration notify", "SELECT pg_notify('imap_migration', $1)",
                       {std::to_string(id)});
    if (!n)
        return n.error();
    if (auto c = tx.value().commit(); !c)
        return c.error();
    return state_column(a.name, r.value().text(0, 0));
}

Result<void> delete_migration(Connection &conn, long long id) {
    auto r = conn.exec("migration delete", "DELETE FROM migrations WHERE id = $1 RETURNING id",
                       {std::to_string(id)});
    if (!r)
        return r.error();
    if (r.value().empty())
        return permanent_error("migration " + std::to_string(id) + " does not exist");
    return {};
}

// ---- The CLI's reads for offlineimap

Result<std::vector<OfflineImapMigration>> offlineimap_migrations(Connection &conn) {
    auto rows =
        conn.exec("offlineimap accounts",
                  "SELECT m.id, m.provider, m.old_login, a.username FROM migrations m"
                  " JOIN accounts a ON a.id = m.account_id"
                  " WHERE m.state IN ('pending', 'syncing', 'synced', 'incomplete', 'failed')"
                  "   AND m.secret IS NOT NULL ORDER BY m.id");
    if (!rows)
        return rows.error();
    std::vector<OfflineImapMigration> out;
    for (int i = 0; i < rows.value().count(); ++i)
        out.push_back({rows.value().integer(i, 0), rows.value().str(i, 1), rows.value().str(i, 2),
                       rows.value().str(i, 3)});
    return out;
}

Result<std::optional<StoredMigrationSecret>> migration_secret(Connection &conn, long long id) {
    auto r = conn.exec("migration secret",
                       "SELECT provider, old_login, secret_key_id, encode(secret, 'hex') "
                       "FROM migrations WHERE id = $1 AND secret IS NOT NULL",
                       {std::to_string(id)});
    if (!r)
        return r.error();
    if (r.value().empty())
        return std::optional<StoredMigrationSecret>();
    return std::optional(
        StoredMigrationSecret{r.value().str(0, 0), r.value().str(0, 1),
                              sealed_secret_from_hex(r.value().text(0, 2), r.value().text(0, 3))});
}

} // namespace imapmig
