#include "cli.hpp"

#include "sync/dsync/dsync_preflight.hpp"

#include <iostream>

namespace imapmig::cli {

int cmd_check_config(Context &ctx) {
    if (!ctx.args.empty())
        return usage_error("check-config takes no arguments");
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    size_t domains = 0;
    for (const auto &p : config->providers)
        domains += p.domains.size();
    // Checked for the user running this command: run it as the worker's user.
    if (auto usable = check_dsync_usable(*config); !usable) {
        std::cerr << ctx.config_path << ": " << usable.error().message << "\n";
        return exit_error;
    }
    std::cout << ctx.config_path << ": OK (" << config->providers.size() << " provider(s), "
              << domains << " domain(s))\n";
    if (auto dsync = dsync_providers(*config); !dsync.empty())
        std::cout << "note: " << dsync.size()
                  << " provider(s) use the dsync engine: the worker must run as root or as the "
                     "mail user (mail_uid of "
                  << config->sync.dovecot_config
                  << "); checked for the user running this command\n";
    return exit_ok;
}

} // namespace imapmig::cli
