// The worker's side of the migrations table: claiming due tasks under a lease (several workers
// on several hosts share one database), progress heartbeats, and recording each run's outcome,
// with the decisions that belong to the sync (retry backoff, counters, outcome -> state). The
// statements are db/migrations_table's. Every update is guarded by the lease: an admin who
// stops or deletes a task takes it away.
#pragma once

#include "base/error.hpp"
#include "crypto/secrets.hpp"
#include "db/migrations_table.hpp"
#include "db/store.hpp"
#include "sync/sync_progress.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace imapmig {

class TaskQueue {
public:
    TaskQueue(Connection &conn, std::string owner, std::chrono::seconds lease)
        : conn_(conn), owner_(std::move(owner)), lease_(lease) {}

    // The oldest due task of one of `providers`, or nothing.
    Result<std::optional<ClaimedTask>> claim(const std::vector<std::string> &providers);
    // Renews the lease and publishes progress; false when the lease is gone (stopped, deleted,
    // or expired and taken over): the run must end without recording anything.
    Result<bool> heartbeat(const ClaimedTask &task, const SyncProgress &progress);
    // Gives the task back untouched (shutdown, sync state busy): due again after `delay`.
    Result<void> release(const ClaimedTask &task, const std::string &why,
                         std::chrono::seconds delay = std::chrono::seconds(0));
    // report.outcome: synced, failed or credentials_rejected (the others are not a task state).
    // A synced run is recorded as `synced` only with a complete verification; otherwise as
    // `incomplete` (never finished), with the folders that differ in last_error. The folders
    // of the verification replace the previous run's in migration_folders.
    // After a synced run that knows progress.messages_present, the copied counter is at least
    // that: messages an earlier run copied without counting them (killed) count again.
    // finish: a synced run finishes the migration (the cutover's last, complete run), as one
    // after `migrations finish` does.
    Result<void> record(const ClaimedTask &task, const SyncReport &report, int interval_minutes,
                        bool finish = false);

private:
    Connection &conn_;
    std::string owner_;
    std::chrono::seconds lease_;
};

// The copied counter a run leaves: before + this run, raised to what the new mailbox is known
// to hold after a synced run.
long long messages_copied_after(const ClaimedTask &task, SyncOutcome outcome,
                                const SyncProgress &progress);

// Retry delay after `attempts` consecutive failures: 1 min doubling, capped at 6 h.
std::chrono::seconds retry_backoff(int attempts);
} // namespace imapmig
