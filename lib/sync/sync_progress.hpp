// What a sync engine reports while and after it runs (SyncReport at the end); the worker
// records it in the database.
#pragma once

#include "db/migrations_table.hpp" // VerifiedMark

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// The old and the new mailbox compared after a synced run (sync/verification.hpp).
struct FolderCheck {
    std::string old_name; // as the old server spells it
    std::string new_name; // where the engine put it
    long long old_messages = 0;
    long long new_messages = -1; // -1: the folder is not on the new server
    long long missing = 0;       // old messages checked this time without a counterpart
    // Every old message up to this UID (of this UIDVALIDITY) was seen on the new server once:
    // later runs check only the old messages after it, so what the user deletes or moves in
    // the new mailbox is not reported as missing.
    long long uidvalidity = 0;
    long long verified_uid = 0;
};

struct Verification {
    std::vector<FolderCheck> folders; // every old folder the sync covers, in the old LIST order
    long long missing() const;
    // The old names of the folders that miss messages.
    std::vector<std::string> differing() const;
    bool complete() const { return missing() == 0; }
    // "INBOX (3 of 120 missing in INBOX), Drafts (not on the new server, 4 message(s))"; ""
    // when complete.
    std::string summary() const;
    // A baseline verification's differences, taken as they are (the same form); "" otherwise.
    std::string accepted;
    long long keywords_set = 0; // messages whose missing keywords were set before the check
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

struct SyncReport {
    SyncOutcome outcome = SyncOutcome::failed;
    // Synced with nothing left for a next run (dsync exit 0, not 2: "changed while it synced").
    // The first complete run ends a `cutover: proxy` migration's proxy window.
    bool complete = false;
    SyncProgress progress;
    std::string error; // never holds either password
    // After a synced run: what the new mailbox misses, or why that is not known. A synced run
    // without a complete verification is recorded as `incomplete`, never as `synced`.
    std::optional<Verification> verification;
    std::string verification_error;
    std::chrono::milliseconds duration{0};
};

} // namespace imapmig
