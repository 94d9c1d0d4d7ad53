// What the worker and `migrations cutover` share: the configuration loaded with its keys, and
// one run of a claimed migration's sync engine. Recording the run is the caller's decision.
#pragma once

#include "base/error.hpp"
#include "config/config.hpp"
#include "crypto/secrets.hpp"
#include "db/migrations_table.hpp"
#include "sync/sync_progress.hpp"
#include "sync/task_queue.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace imapmig::sync_job {

// What a loaded configuration gives a sync; the worker replaces it as a whole on SIGHUP.
struct Setup {
    Config config;
    KeyRing keys;
};

// The configuration (with the local_imap section and a usable dsync engine) and its keys.
Result<std::shared_ptr<const Setup>> load_setup(const std::string &path);

// "host:pid": the lease owner of this process's claims.
std::string process_identity();

// The process holds the key that opens every sealed password and, during runs, old passwords
// and the master password: no core file, not dumpable (no ptrace attach by others of its uid).
void keep_memory_private();

// "migration=ID user=... provider=...", the prefix of every log line about a task.
std::string task_label(const ClaimedTask &task);

// One run of the task's provider engine: the sealed old password opened, the lease renewed
// through queue while it runs (a lost lease aborts it), the new mailbox's size measured after
// an offlineimap run. cancel stops it (SyncOutcome::cancelled). log gets one line per event.
SyncReport run_sync(const Setup &setup, const ClaimedTask &task, TaskQueue &queue,
                    const std::atomic<bool> &cancel,
                    const std::function<void(const std::string &)> &log);

} // namespace imapmig::sync_job
