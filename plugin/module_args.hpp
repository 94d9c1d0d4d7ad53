// What an admin sets for the passdb: one struct for both Dovecot lines. 2.3 reads it from the
// passdb's args string (v23/), 2.4 from its own settings (v24/).
#pragma once

#include <imapmig_build_config.h>

#include <string>

struct ModuleArgs {
    std::string config_path = IMAPMIG_DEFAULT_CONFIG;
    bool blocking = false; // 2.3 only: 2.4's core sets it from the passdb's use_worker
    int threads = 4;       // hashing
    int connections = 2;   // PostgreSQL, pipelined

    // Processes share one state per distinct set of arguments (see shared_states.hpp).
    std::string key() const {
        return config_path + '\n' + (blocking ? "blocking" : "async") + '\n' +
               std::to_string(threads) + '\n' + std::to_string(connections);
    }
};
