#include "migration_admin.hpp"

#include <algorithm>

namespace imapmig {

namespace {

constexpr const char *row_columns =
    "m.id, a.username, m.provider, m.old_login, m.state,"
    " to_char(m.created_at, 'YYYY-MM-DD HH24:MI:SS'),"
    " coalesce(to_char(m.last_sync_at, 'YYYY-MM-DD HH24:MI:SS'), ''),"
    " CASE WHEN m.state IN ('pending', 'synced', 'failed')"
    "      THEN to_char(m.next_sync_at, 'YYYY-MM-DD HH24:MI:SS') ELSE '' END,"
    " coalesce(m.last_error, ''), m.messages_copied, m.messages_total, m.folders_done,"
    " m.folders_total, m.attempts, m.runs, m.finish_requested, m.secret IS NOT NULL,"
    " m.bytes_copied";

MigrationRow to_row(const Rows &r, int i) {
    MigrationRow m;
    m.id = r.integer(i, 0);
    m.user = r.str(i, 1);
    m.provider = r.str(i, 2);
    m.old_login = r.str(i, 3);
    m.state = r.str(i, 4);
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
        return {"stop", "pending, syncing, synced, failed, credentials_rejected",
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
        return {"resync", "pending, synced, failed",
                "UPDATE migrations SET next_sync_at = now(), updated_at = now()"
                " WHERE id = $1 AND state IN ('pending', 'synced', 'failed') RETURNING state"};
    case AdminAction::finish:
        break;
    }
    return {"finish", "pending, syncing, synced, failed, stopped",
            "UPDATE migrations SET finish_requested = true, next_sync_at = now(),"
            " state = CASE WHEN state <> 'stopped' THEN state"
            "              WHEN last_sync_at IS NULL THEN 'pending' ELSE 'synced' END,"
            " updated_at = now() WHERE id = $1"
            " AND state IN ('pending', 'syncing', 'synced', 'failed', 'stopped') RETURNING state"};
}

} // namespace

const std::vector<std::string> &migration_states() {
    static const std::vector<std::string> states = {
        "pending", "syncing", "synced", "finished", "stopped", "failed", "credentials_rejected"};
    return states;
}

const std::string &migration_list_sql() {
    static const std::string sql =
        std::string("SELECT ") + row_columns +
        " FROM migrations m JOIN accounts a ON a.id = m.account_id"
        " LEFT JOIN domains d ON d.id = a.domain_id"
        " WHERE ($1 = '' OR m.state = $1) AND ($2 = '' OR d.name = lower($2))"
        "   AND (NOT $3::boolean OR m.state IN ('pending', 'syncing', 'synced', 'failed'))"
        " ORDER BY m.id LIMIT $4::bigint";
    return sql;
}

Result<std::vector<MigrationRow>> list_migrations(Connection &conn, const MigrationFilter &f) {
    const std::string limit = std::to_string(f.limit);
    auto r = conn.exec("migration list", migration_list_sql().c_str(),
                       {f.state, f.domain, f.active_only ? "true" : "false",
                        f.limit > 0 ? Param(limit) : Param(std::nullopt)});
    if (!r)
        return r.error();
    std::vector<MigrationRow> out;
    for (int i = 0; i < r.value().count(); ++i)
        out.push_back(to_row(r.value(), i));
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
    return std::optional<MigrationRow>(to_row(r.value(), 0));
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

Result<std::string> apply_admin_action(Connection &conn, long long id, AdminAction action) {
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
    return r.value().str(0, 0);
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

} // namespace imapmig
