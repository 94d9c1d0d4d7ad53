#include "cli.hpp"

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
    std::cout << ctx.config_path << ": OK (" << config->providers.size() << " provider(s), "
              << domains << " domain(s))\n";
    return exit_ok;
}

} // namespace imapmig::cli
