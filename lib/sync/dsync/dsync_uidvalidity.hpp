// Before the first sync into a new mailbox that already holds mail, on Dovecot 2.4: each folder
// that both sides have takes the old folder's UIDVALIDITY, as dsync 2.3's folders-only pass did
// by itself. dsync 2.4 keeps the new side's value there, and its sync without a state then
// imports none of the old mail into a folder with mail and another UIDVALIDITY (measured with
// 2.4.1: the run exits 0, the old messages never arrive, and later runs fail with "UIDVALIDITY
// changed during a stateful sync"). The user's clients refetch such a folder once, as on 2.3.
#pragma once

#include "base/error.hpp"
#include "sync/dsync/dovecot_line.hpp"
#include "sync/sync_run.hpp"

#include <string>

namespace imapmig {

// Reads both sides' UIDVALIDITY through doveadm with the run's config (the old side over imapc,
// the password through the pipe as for the sync) and updates the new side's folders whose
// value differs. A failure is temporary: the sync is retried later.
Result<void> adopt_old_uidvalidities(const SyncRequest &rq, const DovecotLine &line,
                                     const std::string &run_config);

} // namespace imapmig
