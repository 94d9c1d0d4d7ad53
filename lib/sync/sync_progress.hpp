// What a sync engine reports while and after it runs; the worker records it in the database.
#pragma once

#include <cstdint>

namespace imapmig {

struct SyncProgress {
    int folders_seen = 0;        // folders whose sync started
    int folders_done = 0;        // folders whose sync thread ended
    int64_t messages_total = 0;  // messages listed on the old side in the folders seen
    int64_t messages_copied = 0; // messages copied in this run (either direction)
    int64_t bytes = -1;          // the mailbox's size on the new server after the run; -1: unknown
    // After a synced run: the old side's messages now known to be in the new mailbox, whoever
    // copied them (an earlier run, one killed before it could count); -1: unknown.
    int64_t messages_present = -1;
};

// How a run ended. The first three are recorded as the task's state; the others leave it to
// the worker (hand the task back, or leave it alone).
enum class SyncOutcome {
    synced,
    failed,
    credentials_rejected, // the old provider refused the login
    cancelled,            // stop requested (shutdown): handed back, nothing recorded
    lease_lost,           // the admin took the task away: nothing recorded
    busy,                 // an earlier run still holds the sync state: handed back, retried soon
};

} // namespace imapmig
