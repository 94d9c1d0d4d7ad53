// The contract every sync engine (offlineimap, dsync) offers the worker: one run for one
// migration, a report of its outcome and progress, a cooperative stop.
#pragma once

#include "base/secret_string.hpp"
#include "config/config.hpp"
#include "sync/sync_progress.hpp"
#include "sync/task_queue.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace imapmig {

struct SyncRequest {
    const Config &config;
    const ProviderConfig &provider;
    const ClaimedTask &task;
    SecretString old_password;
    SecretString master_password;
};

// Called every couple of seconds while a run goes on; returning false aborts the run
// (SyncOutcome::lease_lost).
using ProgressCallback = std::function<bool(const SyncProgress &)>;

// A migration's sync state (offlineimap's metadata, dsync's state and lock); kept across runs,
// removed with the migration.
std::string migration_state_dir(const Config &config, long long migration_id);

} // namespace imapmig
