// The folders-only pass before a dsync run without state (see dsync_arguments): creates the
// new side's folders so that dsync records a state for each of them in the run that follows.
#pragma once

#include "base/secret_string.hpp"
#include "config/config.hpp"
#include "sync/sync_progress.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace imapmig {

struct FoldersPassResult {
    SyncOutcome outcome = SyncOutcome::synced; // synced: go on with the sync itself
    std::string error;                         // otherwise: why (old password scrubbed)
};

// Runs argv (dsync_arguments(..., folders_only = true)) to its end under the process
// supervisor, like the sync itself: the old password through the pipes of add_dsync_passwords, the
// migration's lock as fd 3, cancel and on_tick (false: the lease is lost) stop it. A failure
// carries doveadm's error lines and tells a refused old login apart.
FoldersPassResult run_dsync_folders_pass(const std::vector<std::string> &argv,
                                         const ProviderConfig &provider,
                                         const SecretString &old_password, int lock_fd,
                                         const std::atomic<bool> &cancel,
                                         std::function<bool()> on_tick);

} // namespace imapmig
