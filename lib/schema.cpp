#include "schema.hpp"

#include <imapmig_build_config.h>

#include <cstdlib>
#include <stdexcept>

namespace imapmig {

namespace {

// Serialises concurrent `db upgrade` runs (several hosts, a package hook and an admin).
constexpr const char *upgrade_lock_key = "7236801925410431601";

std::vector<SchemaMigration> parse_embedded()
{
    std::vector<SchemaMigration> out;
    for (const auto &f : embedded_schema_files()) {
        std::string name = f.file_name;
        int version = std::atoi(name.substr(0, 4).c_str());
        if (name.size() < 10 || name[4] != '_' || version != static_cast<int>(out.size()) + 1)
            throw std::logic_error("schema file " + name + " is out of sequence");
        out.push_back({version, name.substr(5, name.size() - 5 - 4), f.sql});
    }
    return out;
}

Result<int> current_version(Connection &conn)
{
    auto exists = conn.exec("schema_version exists",
                            "SELECT to_regclass('schema_version') IS NOT NULL");
    if (!exists)
        return exists.error();
    if (!exists.value().boolean(0, 0))
        return 0;
    auto v = conn.exec("schema_version read", "SELECT coalesce(max(version), 0) FROM schema_version");
    if (!v)
        return v.error();
    return static_cast<int>(v.value().integer(0, 0));
}

Result<void> apply(Connection &conn, const SchemaMigration &m)
{
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
    auto script = conn.exec_script("schema " + std::to_string(m.version) + " (" + m.name + ")",
                                   m.sql);
    if (!script)
        return script;
    auto recorded = conn.exec("schema_version insert",
                              "INSERT INTO schema_version (version, name, product_version) "
                              "VALUES ($1, $2, $3)",
                              {std::to_string(m.version), m.name, IMAPMIG_VERSION});
    if (!recorded)
        return recorded.error();
    return tx.value().commit();
}

class AdvisoryLock {
public:
    explicit AdvisoryLock(Connection &conn) : conn_(conn) {}
    Result<void> acquire()
    {
        auto r = conn_.exec("advisory lock", "SELECT pg_advisory_lock($1::bigint)",
                            {upgrade_lock_key});
        if (!r)
            return r.error();
        held_ = true;
        return {};
    }
    ~AdvisoryLock()
    {
        if (held_ && !conn_.broken())
            (void)conn_.exec("advisory unlock", "SELECT pg_advisory_unlock($1::bigint)",
                             {upgrade_lock_key});
    }

private:
    Connection &conn_;
    bool held_ = false;
};

} // namespace

const std::vector<SchemaMigration> &schema_migrations()
{
    static const std::vector<SchemaMigration> migrations = parse_embedded();
    return migrations;
}

int latest_schema_version() { return static_cast<int>(schema_migrations().size()); }

Result<SchemaStatus> schema_status(Connection &conn)
{
    auto cur = current_version(conn);
    if (!cur)
        return cur.error();
    SchemaStatus st;
    st.current = cur.value();
    st.latest = latest_schema_version();
    for (int v = st.current + 1; v <= st.latest; ++v)
        st.pending.push_back(v);
    return st;
}

Result<std::vector<int>> upgrade_schema(Connection &conn,
                                        const std::function<void(const std::string &)> &progress)
{
    AdvisoryLock lock(conn);
    if (auto r = lock.acquire(); !r)
        return r.error();
    auto st = schema_status(conn); // read under the lock: another host may just have upgraded
    if (!st)
        return st.error();
    if (st.value().current > st.value().latest)
        return permanent_error("database schema version " + std::to_string(st.value().current) +
                               " is newer than this imap-migrator " IMAPMIG_VERSION
                               " supports (" + std::to_string(st.value().latest) +
                               "): install the matching or a newer release");
    std::vector<int> applied;
    for (int v : st.value().pending) {
        const SchemaMigration &m = schema_migrations()[static_cast<size_t>(v - 1)];
        if (auto r = apply(conn, m); !r)
            return Error{r.error().kind, "schema " + std::to_string(v) + " (" + m.name +
                                             ") not applied, database left at version " +
                                             std::to_string(applied.empty() ? st.value().current
                                                                            : applied.back()) +
                                             ": " + r.error().message};
        applied.push_back(v);
        if (progress)
            progress("applied schema " + std::to_string(v) + " (" + m.name + ")");
    }
    return applied;
}

} // namespace imapmig
