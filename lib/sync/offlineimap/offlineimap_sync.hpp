// One offlineimap run for one migration: private config files, passwords through a pipe,
// progress from the machine UI, a clean stop on request.
#pragma once

#include "sync/sync_run.hpp"

namespace imapmig {

SyncReport run_offlineimap(const SyncRequest &request, const std::atomic<bool> &cancel,
                           const ProgressCallback &on_progress);

} // namespace imapmig
