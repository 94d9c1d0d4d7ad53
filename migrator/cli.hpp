// Shared plumbing of imap-migrator's subcommands: the command table, usage errors, config.
#pragma once

#include "config/config.hpp"
#include "db/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace imapmig::cli {

enum ExitCode { exit_ok = 0, exit_error = 1, exit_usage = 2 };

struct Context {
    std::string config_path;
    std::vector<std::string> args; // after the subcommand name
};

struct Command {
    const char *name;    // may be two words: "db upgrade"
    const char *usage;   // arguments after the name
    const char *summary; // one line for --help
    int (*run)(Context &);
};

const std::vector<Command> &commands();

// Prints "imap-migrator: <message>" and a hint to --help; returns exit_usage.
int usage_error(const std::string &message);
// Prints "imap-migrator: <message>"; returns exit_error.
int fail(const std::string &message);
// Loads and validates the config, printing every diagnostic to stderr on failure.
std::optional<Config> load_config_or_report(const std::string &path);
// Opens the configured database, printing the reason on failure.
std::optional<Connection> connect_database(const Config &config);
// Parses a positive migration id; prints a usage error and returns nullopt otherwise.
std::optional<long long> parse_id(const std::string &text);
bool wants_help(const std::vector<std::string> &args);
void print_command_help(const Command &cmd);

int cmd_check_config(Context &);
int cmd_db_upgrade(Context &);
int cmd_db_status(Context &);
int cmd_key_generate(Context &);
int cmd_worker(Context &);
int cmd_master_user(Context &);
int cmd_status(Context &);
int cmd_generate_offlineimap_config(Context &);
int cmd_migrations_list(Context &);
int cmd_migrations_show(Context &);
int cmd_migrations_stop(Context &);
int cmd_migrations_resume(Context &);
int cmd_migrations_resync(Context &);
int cmd_migrations_finish(Context &);
int cmd_migrations_cutover(Context &);
int cmd_migrations_accept(Context &);
int cmd_migrations_delete(Context &);
int cmd_migrations_secret(Context &);
int cmd_import(Context &);
int cmd_import_postfixadmin(Context &);
int cmd_postfix_maps(Context &);
int cmd_migrations_create(Context &);
int cmd_dovecot_sql_conf(Context &);

} // namespace imapmig::cli
