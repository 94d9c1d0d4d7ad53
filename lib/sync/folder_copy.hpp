// dsync copies a folder under its own name only: an old folder the plan sends elsewhere
// (special use: `Sent Items` into the new server's `Sent`; the provider's folder_map) is left
// out of its run and copied by this pass, over IMAP: read as the user at the old provider,
// appended as the Dovecot master user on the new server with its flags, keywords and internal
// date. A message is copied when an earlier run has not verified it (the verification's marks)
// and the target folder holds no message with its Message-ID and size, so re-runs copy only
// what is new, a run killed half-way copies nothing twice, and what users delete or move in
// their new mailbox stays deleted or moved.
#pragma once

#include "base/error.hpp"
#include "sync/folder_plan.hpp"
#include "sync/sync_run.hpp"
#include "sync/verification.hpp"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace imapmig {

// The messages a new folder holds, by Message-ID and size; old messages draw on it, so two
// old messages alike need two copies, and two old folders going to one new folder cannot both
// count one copy.
using CopyPool = std::multiset<std::pair<std::string, long long>>;

CopyPool copy_pool(const std::vector<ListedMessage> &new_messages);

// The UIDs of old_folder's messages to copy, ascending: not verified by an earlier run (marks
// of its name and UIDVALIDITY) and without a counterpart left in pool (which it draws on).
std::vector<long long> uids_to_copy(const FolderListing &old_folder, CopyPool &pool,
                                    const std::vector<VerifiedMark> &marks);

// `APPEND "folder" (flags) "date" {n+}` and the message: LITERAL+, which Dovecot offers, so
// the message follows without waiting for a continuation.
std::string append_command(const std::string &quoted_folder, const ListedMessage &message);

struct FolderCopyResult {
    long long copied = 0; // messages appended in this run
    long long bytes = 0;
};

// Copies these renamed old folders (keys of plan.renames) into their new folders; nothing to
// do without any. The messages of other old folders landing in the same new folder (the
// engine's) are counted out of its pool first, as the verification counts them. Needs
// local_imap. cancel stops it between two messages (what was copied stays copied).
Result<FolderCopyResult> copy_renamed_folders(const SyncRequest &rq, const FolderPlan &plan,
                                              const std::vector<std::string> &sources,
                                              const std::atomic<bool> &cancel);

// After an engine's synced run: copies sources (as copy_renamed_folders) and records it in the
// report: the messages copied, or a cancelled / failed run (what names the folders for the
// error). A run that is not synced, or no sources, leave the report alone.
void attach_folder_copy(const SyncRequest &rq, const FolderPlan &plan,
                        const std::vector<std::string> &sources, const std::string &what,
                        const std::atomic<bool> &cancel, SyncReport &report);

} // namespace imapmig
