// imap-migrator: admin commands (and later the worker) over the shared core library.
#include "cli.hpp"
#include "man_page.hpp"

#include <imapmig_build_config.h>

#include <exception>
#include <iostream>
#include <string_view>

using namespace imapmig::cli;

namespace {

void print_help() {
    std::cout << "Usage: imap-migrator [-c|--config FILE] COMMAND [ARGS...]\n"
                 "\n"
                 "Moves mail accounts from an old IMAP provider to this Dovecot server.\n"
                 "\n"
                 "Options:\n"
                 "  -c, --config FILE  configuration (default " IMAPMIG_DEFAULT_CONFIG ");\n"
                 "                     imap-migration.d/*.yaml beside it is read too\n"
                 "  -h, --help         this help; COMMAND --help for a command's\n"
                 "  --version          print the version\n"
                 "\n"
                 "Commands:\n";
    for (const auto &cmd : commands()) {
        std::string head = std::string(cmd.name) + (*cmd.usage ? " " : "") + cmd.usage;
        std::cout << "  " << head << std::string(head.size() < 40 ? 40 - head.size() : 1, ' ')
                  << cmd.summary << "\n";
    }
    std::cout << "\nExit status: 0 success, 1 error, 2 usage error.\n";
}

// Matches the longest command name ("db upgrade" before "db") at args[pos...].
const Command *find_command(const std::vector<std::string> &args, size_t pos, size_t &words) {
    for (const auto &cmd : commands()) {
        std::string_view name = cmd.name;
        size_t space = name.find(' ');
        if (space == std::string_view::npos) {
            if (args[pos] == name) {
                words = 1;
                return &cmd;
            }
        } else if (pos + 1 < args.size() && args[pos] == name.substr(0, space) &&
                   args[pos + 1] == name.substr(space + 1)) {
            words = 2;
            return &cmd;
        }
    }
    return nullptr;
}

int run(const std::vector<std::string> &args) {
    Context ctx{IMAPMIG_DEFAULT_CONFIG, {}};
    size_t pos = 0;
    for (; pos < args.size() && args[pos].starts_with("-"); ++pos) {
        const std::string &a = args[pos];
        if (a == "-h" || a == "--help") {
            print_help();
            return exit_ok;
        }
        // For the build, which writes imap-migrator.8 from it.
        if (a == "--print-man") {
            std::cout << render_man_page();
            return exit_ok;
        }
        if (a == "--version") {
            std::cout << "imap-migrator " IMAPMIG_VERSION "\n";
            return exit_ok;
        }
        if (a == "-c" || a == "--config") {
            if (++pos == args.size())
                return usage_error(a + " needs a FILE");
            ctx.config_path = args[pos];
        } else if (a.starts_with("--config=")) {
            ctx.config_path = a.substr(9);
        } else {
            return usage_error("unknown option " + a);
        }
    }
    if (pos == args.size())
        return usage_error("no command given");
    size_t words = 0;
    const Command *cmd = find_command(args, pos, words);
    if (cmd == nullptr)
        return usage_error("unknown command '" + args[pos] + "'");
    ctx.args.assign(args.begin() + static_cast<long>(pos + words), args.end());
    if (wants_help(ctx.args)) {
        print_command_help(*cmd);
        return exit_ok;
    }
    return cmd->run(ctx);
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception &e) {
        std::cerr << "imap-migrator: internal error: " << e.what() << "\n";
        return exit_error;
    }
}
