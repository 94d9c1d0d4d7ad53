#include "cli.hpp"

#include "config/config_files.hpp"
#include "sync/dsync/dsync_preflight.hpp"

#include <iostream>

#include <sys/stat.h>
#include <unistd.h>

namespace imapmig::cli {

namespace {

bool offlineimap_used(const Config &config) {
    for (const auto &p : config.providers)
        if (config.engine_for(p) == SyncEngine::offlineimap)
            return true;
    return false;
}

// sync.offlineimap as the worker runs it (execve: an absolute path, checked at load).
Result<void> check_offlineimap_program(const Config &config) {
    const std::string &program = config.sync.offlineimap;
    struct stat st;
    if (::stat(program.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(program.c_str(), X_OK) == 0)
        return {};
    return config_error("sync.offlineimap: " + program +
                        " is not an executable file (the offlineimap engine is in use)");
}

} // namespace

int cmd_check_config(Context &ctx) {
    if (!ctx.args.empty())
        return usage_error("check-config takes no arguments");
    // Shown as given, but never a raw control character (a file name can hold any byte).
    const std::string shown_path = escape_control(ctx.config_path);
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    size_t domains = 0;
    for (const auto &p : config->providers)
        domains += p.domains.size();
    if (offlineimap_used(*config))
        if (auto program = check_offlineimap_program(*config); !program) {
            std::cerr << shown_path << ": " << escape_control(program.error().message) << "\n";
            return exit_error;
        }
    // Checked for the user running this command: run it as the worker's user.
    if (auto usable = check_dsync_usable(*config); !usable) {
        std::cerr << shown_path << ": " << escape_control(usable.error().message) << "\n";
        return exit_error;
    }
    std::cout << shown_path << ": OK (" << config->providers.size() << " provider(s), " << domains
              << " domain(s))\n";
    if (auto dsync = dsync_providers(*config); !dsync.empty())
        std::cout << "note: " << dsync.size()
                  << " provider(s) use the dsync engine: the worker must run as root or as the "
                     "mail user (mail_uid of "
                  << escape_control(config->sync.dovecot_config)
                  << "); checked for the user running this command\n";
    return exit_ok;
}

} // namespace imapmig::cli
