// One offlineimap run for one migration: private config files, passwords through a pipe,
// progress from the machine UI, a clean stop on request.
#pragma once

#include "config.hpp"
#include "offlineimap_ui.hpp"
#include "secret_string.hpp"
#include "task_queue.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace imapmig {

struct SyncRequest {
    const Config &config;
    const ProviderConfig &provider;
    const ClaimedTask &task;
    SecretString old_password;
    SecretString master_password;
    std::string migrator_binary; // for the pythonfile's cron mode; unused by the worker's runs
    std::string config_path;
};

struct SyncReport {
    RunOutcome outcome = RunOutcome::failed;
    SyncProgress progress;
    std::string error;
    bool cancelled = false;  // stop requested (shutdown): nothing to record
    bool lease_lost = false; // the admin took the task away: nothing to record
    bool busy = false;       // another offlineimap still holds the sync state: retry shortly
    std::chrono::milliseconds duration{0};
};

// Called every couple of seconds while offlineimap runs; returning false aborts the run.
using ProgressCallback = std::function<bool(const SyncProgress &)>;

SyncReport run_offlineimap(const SyncRequest &request, const std::atomic<bool> &cancel,
                           const ProgressCallback &on_progress);

// offlineimap's sync state for a migration; kept across runs, removed with the migration.
std::string migration_state_dir(const Config &config, long long migration_id);

} // namespace imapmig
