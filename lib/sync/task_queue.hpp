// The worker's side of the migrations table: claiming due tasks under a lease (several workers
// on several hosts share one database), progress heartbeats, and recording each run's outcome.
// Every update is guarded by the lease: an admin who stops or deletes a task takes it away.
#pragma once

#include "base/error.hpp"
#include "crypto/secrets.hpp"
#include "db/store.hpp"
#include "sync/sync_progress.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace imapmig {

struct ClaimedTask {
    long long id = 0;
    std::string provider;
    std::string old_login;
    std::string local_user;
    SealedSecret secret; // empty blob when the secret was wiped
    bool finish_requested = false;
    std::string previous_state;
    int attempts = 0;
    long long messages_before = 0;      // copied by earlier runs
    std::string sync_identity;          // never reused; binds the sync state (state_identity.hpp)
    bool legacy_state_ok = false;       // existed before identities: may adopt an unmarked state
    std::vector<VerifiedMark> verified; // what earlier runs' verifications established
    bool verification_baseline = false; // take the new mailbox as it is (migrations accept)
};

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
    Result<void> record(const ClaimedTask &task, const SyncReport &report, int interval_minutes);

private:
    Result<void> event(long long id, const std::string &kind, const std::string &message,
                       std::optional<long long> copied, std::optional<long long> duration_ms);
    Connection &conn_;
    std::string owner_;
    std::chrono::seconds lease_;
};

// The statement TaskQueue::claim runs: $1 lease owner, $2 providers (text[]), $3 lease seconds. One
// row (the claimed task) or none. Public so that bench/scale_bench times and explains exactly what
// the worker runs.
extern const char *const task_claim_sql;

// The copied counter a run leaves: before + this run, raised to what the new mailbox is known
// to hold after a synced run.
long long messages_copied_after(const ClaimedTask &task, SyncOutcome outcome,
                                const SyncProgress &progress);

// Retry delay after `attempts` consecutive failures: 1 min doubling, capped at 6 h.
std::chrono::seconds retry_backoff(int attempts);
// A text[] literal for parameters: {"a","b"}.
std::string pg_text_array(const std::vector<std::string> &items);

} // namespace imapmig
