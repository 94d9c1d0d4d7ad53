// After every synced run, the old and the new mailbox are compared folder by folder: message
// counts and the sizes of the messages (RFC822.SIZE, which both sides compute over the same
// CRLF text), so an old message that has no counterpart of its size in the folder it was meant
// for counts as missing. A run is only `synced` when nothing is missing; otherwise the migration
// is `incomplete`, with the folders that differ. Cheap (one FETCH per folder, no bodies), and it
// needs nothing from the engine but the folder plan it followed. An old message seen on the
// new server once stays verified (by its old UID): what users later delete or move in their
// new mailbox is theirs to do, not mail the migration lost.
#pragma once

#include "base/error.hpp"
#include "sync/fetch_parser.hpp"
#include "sync/folder_plan.hpp"
#include "sync/special_use.hpp"
#include "sync/sync_run.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// One message of a listing (UID and RFC822.SIZE; keywords and Message-ID when asked for).
using ListedMessage = FetchedMessage;

// One selectable folder and its messages.
struct FolderListing {
    std::string name;
    char separator = 0;
    long long uidvalidity = 0;
    std::vector<ListedMessage> messages;
};

// Where an old folder goes: INBOX stays INBOX, the plan's special-use renames, the old namespace
// prefix stripped, the old separator turned into the new one. The engines apply the same rules.
std::string new_folder_name(const std::string &old_name, char old_separator, char new_separator,
                            const FolderPlan &plan);

// After a synced run: the comparison (report.verification), or why there is none
// (report.verification_error). Other outcomes are left alone. copy_keywords: first set the
// keywords the engine did not copy (keyword_pass.hpp), from the same listings.
void attach_verification(const SyncRequest &rq, const FolderPlan &plan, SyncReport &report,
                         bool copy_keywords = false);

// The comparison itself, from both listings and the marks of earlier runs (pure, for tests).
// Old folders that sync.folder_exclude or folder_include leave out are not checked. baseline:
// the differences are reported in `accepted`, and every old message counts as verified.
Verification compare_folders(const std::vector<FolderListing> &old_side,
                             const std::vector<FolderListing> &new_side, const FolderPlan &plan,
                             const SyncConfig &sync, const std::vector<VerifiedMark> &marks,
                             bool baseline = false);

// `* n FETCH (UID u RFC822.SIZE s)` lines -> the messages; of an EXAMINE answer, `* n EXISTS`
// -> n and `* OK [UIDVALIDITY v]` -> v.
std::vector<ListedMessage> parse_fetch_messages(std::string_view text);
long long parse_exists(std::string_view text);
long long parse_uidvalidity(std::string_view text);

// A folder name as an IMAP quoted string; nullopt when it cannot be one (CR, LF, NUL, 8-bit).
std::optional<std::string> imap_quoted(std::string_view name);

// Both servers read over IMAP (the old one as the user, the new one as the Dovecot master
// user) and compared. An error means "not verified", never "complete".
Result<Verification> verify_sync(const SyncRequest &rq, const FolderPlan &plan,
                                 bool copy_keywords = false);

// LIST, then EXAMINE and FETCH per selectable folder, on one connection; with_keywords adds
// FLAGS and the Message-ID header to the FETCH.
Result<std::vector<FolderListing>> read_listing(const ProviderConfig &server,
                                                std::string_view login,
                                                const SecretString &password, bool with_keywords);

} // namespace imapmig
