// Where the old folders go, learnt at the start of a run: the old server's namespace prefix
// (stripped) and its special-use folders (mapped onto the new server's). One login to each
// server; the engines write the plan into their own configuration.
#pragma once

#include "sync/old_namespace.hpp"
#include "sync/sync_run.hpp"

#include <map>
#include <string>

namespace imapmig {

struct FolderPlan {
    OldNamespace old_namespace;
    std::map<std::string, std::string> renames; // old name -> new name (special use)
};

// with_special_use: also map special-use folders (needs local_imap: the new server's folders
// are read as the master user). A refused old login leaves the plan empty: the engine's own
// login then reports it as such.
Result<FolderPlan> plan_folders(const SyncRequest &rq, bool with_special_use);

// sync.folder_include and folder_exclude on a folder named as it arrives (the new server's
// spelling; INBOX as "INBOX").
bool folder_wanted(const SyncConfig &sync, const std::string &new_name);

} // namespace imapmig
