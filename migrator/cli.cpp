#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>

namespace imapmig::cli {

const std::vector<Command> &commands() {
    static const std::vector<Command> table = {
        {"check-config", "", "validate the configuration and print every problem",
         cmd_check_config},
        {"db upgrade", "[--to N]", "apply missing schema migrations (back up first)",
         cmd_db_upgrade},
        {"db status", "", "show the schema version of the database", cmd_db_status},
        {"key generate", "[--group-readable] [FILE]",
         "create the key file that seals old passwords (default: secret_key_file)",
         cmd_key_generate},
        {"master-user", "", "print the passwd-file line for Dovecot's master passdb (local_imap)",
         cmd_master_user},
        {"worker", "[--once]", "sync due migrations with their provider's engine (the daemon)",
         cmd_worker},
        {"status", "[--once]", "live progress of active migrations", cmd_status},
        {"migrations list", "[--state S] [--domain D] [--limit N] [--json]",
         "list migrations (lowest IDs first; --limit N: the first N)", cmd_migrations_list},
        {"migrations show", "ID [--json]",
         "one migration: its last verification per folder, its recent events", cmd_migrations_show},
        {"migrations stop", "ID", "stop syncing (a running sync is aborted)", cmd_migrations_stop},
        {"migrations resume", "ID", "resume a stopped or failed migration", cmd_migrations_resume},
        {"migrations resync", "ID", "sync again now", cmd_migrations_resync},
        {"migrations finish", "ID", "one final verified sync, then done (wipes the old password)",
         cmd_migrations_finish},
        {"migrations cutover", "ID | --domain D | --all",
         "final syncs until complete and verified, then finished (wipes the old passwords)",
         cmd_migrations_cutover},
        {"migrations accept", "ID",
         "take the new mailbox as it is: what is missing now is not reported again",
         cmd_migrations_accept},
        {"migrations delete", "ID", "remove the task and its secret (never the account or mail)",
         cmd_migrations_delete},
        {"migrations secret", "ID old|new",
         "print a password for offlineimap's pythonfile (to a pipe only)", cmd_migrations_secret},
        {"generate-offlineimap-config", "--output FILE",
         "an offlineimap config for all active migrations (cron-style alternative to the worker)",
         cmd_generate_offlineimap_config},
        {"migrations create", "--from-csv FILE [--sepchar C] [--continue-if-exists] [--dry-run]",
         "migration tasks from a CSV of address; old login; old password", cmd_migrations_create},
        {"import", "FILE... [--sepchar C] [--continue-if-exists] [--crypt-passwords] [--dry-run]",
         "import domains, accounts and aliases from CSV files", cmd_import},
        {"import-postfixadmin",
         "--from CONNINFO [--passwords-scheme S] [--continue-if-exists] [--dry-run]",
         "convert a postfixadmin 3.3 database (one transaction, with a report)",
         cmd_import_postfixadmin},
        {"postfix-maps", "--dbtype postgres DIR",
         "write Postfix pgsql lookup tables (domains, mailboxes, aliases, relays, senders)",
         cmd_postfix_maps},
        {"dovecot-sql-conf", "[--with-connect]",
         "print the Dovecot SQL passdb/userdb file for this database", cmd_dovecot_sql_conf},
    };
    return table;
}

int usage_error(const std::string &message) {
    std::cerr << "imap-migrator: " << message << "\nTry 'imap-migrator --help'.\n";
    return exit_usage;
}

int fail(const std::string &message) {
    std::cerr << "imap-migrator: " << message << "\n";
    return exit_error;
}

std::optional<Config> load_config_or_report(const std::string &path) {
    ConfigLoadResult loaded = load_config(path);
    for (const auto &diag : loaded.errors)
        std::cerr << diag.to_string() << "\n";
    return std::move(loaded.config);
}

std::optional<Connection> connect_database(const Config &config) {
    auto conn = Connection::open(config.database);
    if (!conn) {
        fail(conn.error().message);
        return std::nullopt;
    }
    return std::move(conn.value());
}

std::optional<long long> parse_id(const std::string &text) {
    long long id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
        usage_error("expected a migration ID (a positive number), got '" + text + "'");
        return std::nullopt;
    }
    return id;
}

bool wants_help(const std::vector<std::string> &args) {
    return std::any_of(args.begin(), args.end(),
                       [](const std::string &a) { return a == "--help" || a == "-h"; });
}

void print_command_help(const Command &cmd) {
    std::cout << "Usage: imap-migrator [-c FILE] " << cmd.name << (*cmd.usage != '\0' ? " " : "")
              << cmd.usage << "\n\n"
              << cmd.summary << "\n";
}

} // namespace imapmig::cli
