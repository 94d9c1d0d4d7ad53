#include "cli.hpp"

#include "db/schema.hpp"
#include "db/store.hpp"

#include <charconv>
#include <iostream>

namespace imapmig::cli {

namespace {

std::optional<Connection> connect(const std::string &config_path) {
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

// "--to N" / "--to=N"; 0 when absent; nullopt after a usage error was printed.
std::optional<int> parse_target(const std::vector<std::string> &args, int &exit_code) {
    int target = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string value;
        if (args[i] == "--to" && i + 1 < args.size())
            value = args[++i];
        else if (args[i].starts_with("--to="))
            value = args[i].substr(5);
        else {
            exit_code = usage_error("db upgrade: unexpected argument '" + args[i] +
                                    "' (usage: db upgrade [--to N])");
            return std::nullopt;
        }
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), target);
        if (ec != std::errc() || end != value.data() + value.size() || target < 1) {
            exit_code = usage_error("db upgrade: --to needs a schema version (1, 2, ...)");
            return std::nullopt;
        }
    }
    return target;
}

} // namespace

int cmd_db_upgrade(Context &ctx) {
    int usage_exit = exit_usage;
    auto target = parse_target(ctx.args, usage_exit);
    if (!target)
        return usage_exit;
    auto conn = connect(ctx.config_path);
    if (!conn)
        return exit_error;
    auto applied = upgrade_schema(
        *conn, [](const std::string &line) { std::cout << line << std::endl; }, *target);
    if (!applied)
        return fail(applied.error().message);
    auto st = schema_status(*conn);
    const int now = st ? st.value().current : 0;
    if (applied.value().empty() && st && now == st.value().latest)
        std::cout << "schema is up to date (version " << now << ")\n";
    else if (applied.value().empty())
        std::cout << "schema is already at version " << now
                  << " (latest known: " << latest_schema_version() << ")\n";
    else
        std::cout << "schema upgraded to version " << applied.value().back() << "\n";
    return exit_ok;
}

int cmd_db_status(Context &ctx) {
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
    if (s.blocked)
        std::cout << "note: " << *s.blocked << "\n";
    return exit_ok;
}

} // namespace imapmig::cli
