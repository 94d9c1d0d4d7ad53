// One dsync run for one migration: `doveadm sync -1 -R ... imapc:` against the old provider,
// writing the new mailbox directly (so doveadm must run as root or as the mail user, see
// dsync_preflight.hpp). Keeps keywords and, while the new mailbox is untouched, UIDs and
// UIDVALIDITY; never removes what the user did on the new server (new mail, moves,
// deletions): a deleted message is not copied again, a moved one not copied back.
#pragma once

#include "sync/sync_run.hpp"

namespace imapmig {

// Same contract as run_offlineimap. Progress: folders and messages on the new side, measured
// with `doveadm mailbox status` before, every few seconds during, and after the run.
SyncReport run_dsync(const SyncRequest &request, const std::atomic<bool> &cancel,
                     const ProgressCallback &on_progress);

} // namespace imapmig
