#include "sync/sync_run.hpp"

namespace imapmig {

std::string migration_state_dir(const Config &config, long long migration_id) {
    return config.sync.state_dir + "/migration" + std::to_string(migration_id);
}

} // namespace imapmig
