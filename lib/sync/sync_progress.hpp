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
};

} // namespace imapmig
