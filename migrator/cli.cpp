#include "cli.hpp"

#include <algorithm>
#include <iostream>

namespace imapmig::cli {

const std::vector<Command> &commands()
{
    static const std::vector<Command> table = {
        {"check-config", "", "validate the configuration and print every problem",
         cmd_check_config},
        {"db upgrade", "", "apply missing schema migrations (back up first)", cmd_db_upgrade},
        {"db status", "", "show the schema version of the database", cmd_db_status},
        {"key generate", "[--group-readable] [FILE]",
         "create the key file that seals old passwords (default: secret_key_file)",
         cmd_key_generate},
    };
    return table;
}

int usage_error(const std::string &message)
{
    std::cerr << "imap-migrator: " << message << "\nTry 'imap-migrator --help'.\n";
    return exit_usage;
}

int fail(const std::string &message)
{
    std::cerr << "imap-migrator: " << message << "\n";
    return exit_error;
}

std::optional<Config> load_config_or_report(const std::string &path)
{
    ConfigLoadResult loaded = load_config(path);
    for (const auto &diag : loaded.errors)
        std::cerr << diag.to_string() << "\n";
    return std::move(loaded.config);
}

bool wants_help(const std::vector<std::string> &args)
{
    return std::any_of(args.begin(), args.end(),
                       [](const std::string &a) { return a == "--help" || a == "-h"; });
}

void print_command_help(const Command &cmd)
{
    std::cout << "Usage: imap-migrator [-c FILE] " << cmd.name
              << (*cmd.usage != '\0' ? " " : "") << cmd.usage << "\n\n"
              << cmd.summary << "\n";
}

} // namespace imapmig::cli
