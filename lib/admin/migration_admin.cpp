#include "admin/migration_admin.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace imapmig {

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
    " coalesce(m.missing_messages, -1)";

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

long long be_int64(const char *p) {
    unsigned long long v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return static_cast<long long>(v);
}

char *two_digits(char *p, long long v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
    return p + 2;
}

// What to_char(t, 'YYYY-MM-DD HH24:MI:SS') prints for a binary timestamp (microseconds since
// 2000-01-01, local time): truncated to the second, a year BC without era as YYYY does.
// "" for -infinity and infinity, where to_char gives NULL.
std::string_view format_timestamp(long long usec, char (&buf)[32]) {
    if (usec == std::numeric_limits<long long>::min() ||
        usec == std::numeric_limits<long long>::max())
        return {};
    constexpr long long usec_per_day = 86400LL * 1000000;
    long long days = usec / usec_per_day, rest = usec % usec_per_day;
    if (rest < 0) {
        rest += usec_per_day;
        --days;
    }
    // Howard Hinnant's civil_from_days, counting from 0000-03-01.
    const long long z = days + 10957 + 719468; // 1970-01-01 to 2000-01-01, 0000-03-01 to 1970
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const long long day = doy - (153 * mp + 2) / 5 + 1;
    const long long month = mp < 10 ? mp + 3 : mp - 9;
    long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year <= 0)
        year = 1 - year; // year 0 is 1 BC
    const long long secs = rest / 1000000;
    char *p = buf;
    if (year < 10000)
        p = two_digits(two_digits(p, year / 100), year % 100);
    else
        p = std::to_chars(p, buf + sizeof buf, year).ptr;
    *p++ = '-';
    p = two_digits(p, month);
    *p++ = '-';
    p = two_digits(p, day);
    *p++ = ' ';
    p = two_digits(p, secs / 3600);
    *p++ = ':';
    p = two_digits(p, secs / 60 % 60);
    *p++ = ':';
    p = two_digits(p, secs % 60);
    return {buf, static_cast<size_t>(p - buf)};
}

// Row i of a binary line_columns result; buf holds last_sync_at's text, state is the state
// filtered on unless the row says otherwise. PQgetvalue gives "" for NULL, which is what
// MigrationLine promises for text.
MigrationLine line_of(const PGresult *r, int i, std::string_view state, char (&buf)[32]) {
    auto text = [r, i](int c) {
        return std::string_view(PQgetvalue(r, i, c), static_cast<size_t>(PQgetlength(r, i, c)));
    };
    MigrationLine m;
    m.id = be_int64(PQgetvalue(r, i, 0));
    m.state = PQgetisnull(r, i, 1) ? state : text(1);
    m.user = text(2);
    m.provider = text(3);
    m.messages_copied = be_int64(PQgetvalue(r, i, 4));
    if (!PQgetisnull(r, i, 5))
        m.last_sync_at = format_timestamp(be_int64(PQgetvalue(r, i, 5)), buf);
    m.last_error = text(6);
    return m;
}

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
    m.verified_at = r.str(i, 18);
    m.missing_messages = r.integer(i, 19);
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

const std::vector<std::string> &migration_states() {
    static const std::vector<std::string> states = {
        "pending",  "syncing", "synced", "incomplete",
        "finished", "stopped", "failed", "credentials_rejected"};
    return states;
}

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
                       {f.state, f.domain, f.active_only ? "true" : "false",
                        f.limit > 0 ? Param(limit) : Param(std::nullopt)});
    if (!r)
        return r.error();
    std::vector<MigrationRow> out;
    for (int i = 0; i < r.value().count(); ++i)
        out.push_back(to_row(r.value(), i));
    return out;
}

Result<void> for_each_migration_line(Connection &conn, const MigrationFilter &f,
                                     const std::function<void(const MigrationLine &)> &each) {
    const std::string limit = std::to_string(f.limit);
    const char *values[] = {f.state.c_str(), f.domain.c_str(), f.active_only ? "true" : "false",
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
                each(line_of(raw, i, f.state, buf));
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

Result<std::vector<MigrationFolder>> migration_folders(Connection &conn, long long id) {
    auto r =
        conn.exec("migration folders",
                  "SELECT old_name, new_name, old_messages, coalesce(new_messages, -1), missing"
                  " FROM migration_folders WHERE migration_id = $1 ORDER BY old_name",
                  {std::to_string(id)});
    if (!r)
        return r.error();
    std::vector<MigrationFolder> out;
    for (int i = 0; i < r.value().count(); ++i)
        out.push_back({r.value().str(i, 0), r.value().str(i, 1), r.value().integer(i, 2),
                       r.value().integer(i, 3), r.value().integer(i, 4)});
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
