// offlineimap copies a message's system flags but not its keywords ($Forwarded, $Label1,
// NonJunk, ...). After its run this pass sets, on the new server, the keywords an old message
// has and its copy lacks: the copy is found in the folder the engine put the message in, by
// Message-ID and size (in UID order when several share both). It only adds keywords, never
// removes one, so a keyword a user took away in the new mailbox comes back only if the old
// message still has it; messages without a Message-ID are left alone.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "config/config.hpp"
#include "sync/verification.hpp"

#include <string>
#include <vector>

namespace imapmig {

// One STORE: these keywords onto these UIDs of one new folder.
struct KeywordStore {
    std::string folder; // the new server's name
    std::vector<std::string> keywords;
    std::vector<long long> uids;
};

// From the listings of both sides (with keywords and Message-IDs); pure, for tests.
std::vector<KeywordStore> plan_keywords(const std::vector<FolderListing> &old_side,
                                        const std::vector<FolderListing> &new_side,
                                        const FolderPlan &plan, const SyncConfig &sync);

// The stores on one connection to the new server; returns the number of messages changed.
Result<long long> apply_keywords(const ProviderConfig &new_server, const std::string &login,
                                 const SecretString &password,
                                 const std::vector<KeywordStore> &stores);

} // namespace imapmig
