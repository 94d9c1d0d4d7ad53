// Shared plumbing of imap-migrator's subcommands: the command table, usage errors, config.
#pragma once

#include "config.hpp"

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
bool wants_help(const std::vector<std::string> &args);
void print_command_help(const Command &cmd);

int cmd_check_config(Context &);
int cmd_db_upgrade(Context &);
int cmd_db_status(Context &);
int cmd_key_generate(Context &);

} // namespace imapmig::cli
