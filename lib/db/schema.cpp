#include "db/schema.hpp"

#include <imapmig_build_config.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace imapmig {

namespace {

// The first schema version this binary can upgrade from. Raise it only together with a squash:
// lib/db/schema/0001..(N-1) replaced by one N_baseline.sql that creates schema N from nothing; a
// database at 1..N-1 must then first be upgraded by release_for_older_schemas, the last release
// that still carries those files.
constexpr int oldest_upgradable_schema = 1;
constexpr const char *release_for_older_schemas = "";

// Serialises concurrent `db upgrade` runs (several hosts, an admin twice).
constexpr const char *upgrade_lock_key = "7236801925410431601";

constexpr std::string_view stop_marker = "-- imapmig: required-stop";

std::string version_text(int v) {
    return std::to_string(v);
}

// The `-- imapmig: required-stop[: note]` line, if any.
void read_markers(SchemaMigration &m) {
    std::istringstream lines(m.sql);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(stop_marker, 0) != 0)
            continue;
        m.required_stop = true;
        std::string rest = line.substr(stop_marker.size());
        if (!rest.empty() && rest.front() == ':')
            rest.erase(0, 1);
        const size_t begin = rest.find_first_not_of(" \t");
        const size_t end = rest.find_last_not_of(" \t\r");
        m.stop_note = begin == std::string::npos ? "" : rest.substr(begin, end - begin + 1);
    }
}

Result<int> current_version(Connection &conn) {
    auto exists =
        conn.exec("schema_version exists", "SELECT to_regclass('schema_version') IS NOT NULL");
    if (!exists)
        return exists.error();
    if (!exists.value().boolean(0, 0))
        return 0;
    auto v =
        conn.exec("schema_version read", "SELECT coalesce(max(version), 0) FROM schema_version");
    if (!v)
        return v.error();
    return static_cast<int>(v.value().integer(0, 0));
}

Result<void> apply(Connection &conn, const SchemaMigration &m) {
    auto tx = Transaction::begin(conn);
    if (!tx)
        return tx.error();
    auto created = conn.exec_script("schema_version create",
                                    "CREATE TABLE IF NOT EXISTS schema_version ("
                                    " version integer PRIMARY KEY,"
                                    " name text NOT NULL,"
                                    " product_version text NOT NULL,"
                                    " applied_at timestamptz NOT NULL DEFAULT now())");
    if (!created)
        return created;
    auto script =
        conn.exec_script("schema " + version_text(m.version) + " (" + m.name + ")", m.sql);
    if (!script)
        return script;
    auto recorded = conn.exec("schema_version insert",
                              "INSERT INTO schema_version (version, name, product_version) "
                              "VALUES ($1, $2, $3)",
                              {version_text(m.version), m.name, IMAPMIG_VERSION});
    if (!recorded)
        return recorded.error();
    return tx.value().commit();
}

class AdvisoryLock {
public:
    explicit AdvisoryLock(Connection &conn) : conn_(conn) {}
    AdvisoryLock(const AdvisoryLock &) = delete;
    AdvisoryLock &operator=(const AdvisoryLock &) = delete;
    Result<void> acquire() {
        auto r =
            conn_.exec("advisory lock", "SELECT pg_advisory_lock($1::bigint)", {upgrade_lock_key});
        if (!r)
            return r.error();
        held_ = true;
        return {};
    }
    ~AdvisoryLock() {
        if (held_ && !conn_.broken())
            (void)conn_.exec("advisory unlock", "SELECT pg_advisory_unlock($1::bigint)",
                             {upgrade_lock_key});
    }

private:
    Connection &conn_;
    bool held_ = false;
};

Error too_old(const SchemaChain &chain, int current) {
    return permanent_error(
        "database schema version " + version_text(current) + " is too old for imap-migrator " +
        IMAPMIG_VERSION + ", which upgrades databases from schema version " +
        version_text(chain.first()) + " on: back up the database, install imap-migrator " +
        chain.release_for_older + " and run `imap-migrator db upgrade` with it, then install " +
        IMAPMIG_VERSION + " again and run `imap-migrator db upgrade`");
}

Error required_stop(const SchemaMigration &stop, int current) {
    std::string message = "schema " + version_text(stop.version) + " (" + stop.name +
                          ") is a required stop: the database (schema version " +
                          version_text(current) + ") must be upgraded to it first. Run " +
                          "`imap-migrator db upgrade --to " + version_text(stop.version) + "`, ";
    if (!stop.stop_note.empty())
        message += "then " + stop.stop_note + ", ";
    return permanent_error(message + "then `imap-migrator db upgrade` again");
}

} // namespace

SchemaChain parse_schema_chain(const std::vector<EmbeddedSchemaFile> &files, int first,
                               std::string release_for_older) {
    SchemaChain chain;
    chain.release_for_older = std::move(release_for_older);
    for (const auto &f : files) {
        const std::string name = f.file_name;
        const int expected = first + static_cast<int>(chain.migrations.size());
        const bool well_formed =
            name.size() > 9 && name[4] == '_' && name.compare(name.size() - 4, 4, ".sql") == 0;
        if (!well_formed || std::atoi(name.substr(0, 4).c_str()) != expected)
            throw std::logic_error("schema file " + name + " is out of sequence: expected " +
                                   version_text(expected) + "_NAME.sql");
        SchemaMigration m;
        m.version = expected;
        m.name = name.substr(5, name.size() - 5 - 4);
        m.sql = f.sql;
        read_markers(m);
        chain.migrations.push_back(std::move(m));
    }
    if (first > 1 && chain.release_for_older.empty())
        throw std::logic_error("a schema chain starting above 1 must name the release that "
                               "upgrades older databases");
    return chain;
}

const SchemaChain &embedded_schema_chain() {
    static const SchemaChain chain = parse_schema_chain(
        embedded_schema_files(), oldest_upgradable_schema, release_for_older_schemas);
    return chain;
}

int latest_schema_version() {
    return embedded_schema_chain().latest();
}

Result<std::vector<int>> plan_schema_upgrade(const SchemaChain &chain, int current, int target) {
    const int latest = chain.latest();
    if (current > latest)
        return permanent_error("database schema version " + version_text(current) +
                               " is newer than this imap-migrator " IMAPMIG_VERSION " supports (" +
                               version_text(latest) + "): install the matching or a newer release");
    if (current > 0 && current < chain.first())
        return too_old(chain, current);
    if (target < chain.first() || target > latest)
        return permanent_error("schema version " + version_text(target) +
                               " is not one this imap-migrator knows (" +
                               version_text(chain.first()) + " to " + version_text(latest) + ")");
    if (target < current)
        return permanent_error("the database is at schema version " + version_text(current) +
                               ", past " + version_text(target) +
                               ": schema versions are never downgraded (restore a backup instead)");
    std::vector<int> steps;
    for (int v = std::max(current + 1, chain.first()); v <= target; ++v) {
        const SchemaMigration &m = chain.at(v);
        if (current > 0 && m.required_stop && v < target)
            return required_stop(m, current);
        steps.push_back(v);
    }
    return steps;
}

Result<SchemaStatus> schema_status(Connection &conn, const SchemaChain &chain) {
    auto cur = current_version(conn);
    if (!cur)
        return cur.error();
    SchemaStatus st;
    st.current = cur.value();
    st.latest = chain.latest();
    for (int v = std::max(st.current + 1, chain.first()); v <= st.latest; ++v)
        st.pending.push_back(v);
    if (auto plan = plan_schema_upgrade(chain, st.current, st.latest); !plan)
        st.blocked = plan.error().message;
    return st;
}

Result<std::vector<int>> upgrade_schema(Connection &conn, const SchemaProgress &progress,
                                        int target, const SchemaChain &chain) {
    AdvisoryLock lock(conn);
    if (auto r = lock.acquire(); !r)
        return r.error();
    auto current =
        current_version(conn); // read under the lock: another host may just have upgraded
    if (!current)
        return current.error();
    auto plan = plan_schema_upgrade(chain, current.value(), target == 0 ? chain.latest() : target);
    if (!plan)
        return plan.error();
    std::vector<int> applied;
    for (int v : plan.value()) {
        const SchemaMigration &m = chain.at(v);
        if (auto r = apply(conn, m); !r)
            return Error{r.error().kind,
                         "schema " + version_text(v) + " (" + m.name +
                             ") not applied, database left at version " +
                             version_text(applied.empty() ? current.value() : applied.back()) +
                             ": " + r.error().message};
        applied.push_back(v);
        if (progress)
            progress("applied schema " + version_text(v) + " (" + m.name + ")");
    }
    if (!applied.empty() && current.value() > 0 && progress) {
        const SchemaMigration &last = chain.at(applied.back());
        if (last.required_stop && last.version < chain.latest())
            progress("stopped at required stop " + version_text(last.version) + " (" + last.name +
                     "): " + (last.stop_note.empty() ? "" : last.stop_note + ", then ") +
                     "run `imap-migrator db upgrade` again");
    }
    return applied;
}

} // namespace imapmig
