// `imap-migrator worker`: claims due migrations and runs their sync engine for them, at most
// sync.max_parallel_accounts at once and never more than a provider's max_connections.
#pragma once

#include <string>

namespace imapmig::worker {

struct Options {
    std::string config_path;
    bool once = false; // run what is due now, then exit
};

// Returns an exit code. SIGTERM/SIGINT stop cleanly (running syncs are interrupted and their
// tasks handed back), SIGHUP reloads the configuration.
int run(const Options &options);

} // namespace imapmig::worker
