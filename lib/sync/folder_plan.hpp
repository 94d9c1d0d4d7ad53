// Where the old folders go, learnt at the start of a run: the old server's namespace prefix
// (stripped) and its special-use folders (mapped onto the new server's). One login to each
// server; the engines write the plan into their own configuration.
#pragma once

#include "sync/old_namespace.hpp"
#include "sync/special_use.hpp"
#include "sync/sync_run.hpp"

#include <map>
#include <string>
#include <vector>

namespace imapmig {

struct FolderPlan {
    OldNamespace old_namespace;
    std::map<std::string, std::string> renames; // old name -> new name (special use)
    char new_separator = 0; // the new server's, from its LIST; 0 when it was not read
    // Old folders left out for their special use (sync.folder_exclude's \Junk, ...), as the
    // old server spells them.
    std::vector<std::string> excluded;
    bool excludes(const std::string &old_name) const;
};

// A folder goes where earlier runs put it (marks: the verification's record of each old folder
// and where it went), and a folder that already exists on the new server under its own name
// is not sent elsewhere: a migration that began before a folder was mapped, or whose mapping
// changed, never gets a second copy of that folder. old_folders: the old server's LIST;
// new_folders: the new server's folder names.
void keep_earlier_destinations(FolderPlan &plan, const std::vector<ListedFolder> &old_folders,
                               const std::vector<std::string> &new_folders,
                               const std::vector<VerifiedMark> &marks);

// with_special_use: also map special-use folders (needs local_imap: the new server's folders
// are read as the master user). A refused old login leaves the plan empty: the engine's own
// login then reports it as such.
Result<FolderPlan> plan_folders(const SyncRequest &rq, bool with_special_use);

// sync.folder_include and folder_exclude on a folder named as it arrives (the new server's
// spelling; INBOX as "INBOX").
bool folder_wanted(const SyncConfig &sync, const std::string &new_name);

} // namespace imapmig
