#include "cli.hpp"

#include "schema.hpp"
#include "store.hpp"

#include <iostream>

namespace imapmig::cli {

namespace {

std::optional<Connection> connect(const std::string &config_path)
{
    auto config = load_config_or_report(config_path);
    if (!config)
        return std::nullopt;
    auto conn = Connection::open(config->database);
    if (!conn) {
        fail(conn.error().message);
        return std::nullopt;
    }
    return std::move(conn.value());
}

} // namespace

int cmd_db_upgrade(Context &ctx)
{
    if (!ctx.args.empty())
        return usage_error("db upgrade takes no arguments");
    auto conn = connect(ctx.config_path);
    if (!conn)
        return exit_error;
    auto applied = upgrade_schema(*conn, [](const std::string &line) { std::cout << line << "\n"; });
    if (!applied)
        return fail(applied.error().message);
    if (applied.value().empty())
        std::cout << "schema is up to date (version " << latest_schema_version() << ")\n";
    else
        std::cout << "schema upgraded to version " << applied.value().back() << "\n";
    return exit_ok;
}

int cmd_db_status(Context &ctx)
{
    if (!ctx.args.empty())
        return usage_error("db status takes no arguments");
    auto conn = connect(ctx.config_path);
    if (!conn)
        return exit_error;
    auto st = schema_status(*conn);
    if (!st)
        return fail(st.error().message);
    const SchemaStatus &s = st.value();
    std::cout << "schema version: " << s.current << "\nlatest known: " << s.latest << "\n";
    if (s.current > s.latest)
        return fail("the database is newer than this imap-migrator: upgrade the package");
    if (s.pending.empty()) {
        std::cout << "status: up to date\n";
    } else {
        std::cout << "status: " << s.pending.size()
                  << " migration(s) pending: back up the database, then run "
                     "`imap-migrator db upgrade`\n";
    }
    return exit_ok;
}

} // namespace imapmig::cli
