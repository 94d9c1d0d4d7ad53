// Realistic mail for the sync bench: mixed sizes (mostly short text, some attachments of tens
// and hundreds of KB), several folders and flags, written straight into an old provider's
// Maildir++ tree the way its Dovecot would have stored it. Deterministic for a given seed, so
// every run of the bench copies the same bytes.
#pragma once

#include "migration_env.hpp"

#include <string>

namespace bench {

struct SeededMailbox {
    long messages = 0;
    long long bytes = 0;            // sum of the message sizes (CRLF, as IMAP sends them)
    testsupport::FolderMap folders; // what folder_stats() must find after a faithful copy
};

// Folders seeded, in the provider's '.' separator: INBOX, Sent and the subfolder Archive.2023.
// Sizes: 70% text of 2-8 KB, 20% with a 30-70 KB attachment, 10% with a 250-450 KB one
// (about 50 KB on average). Flags: ~70% \Seen (all of Sent), ~10% \Flagged, ~15% \Answered.
// maildir is the user's Maildir++ root (created if missing); every directory and file is
// chowned to owner (the provider's mail_uid) and its primary group.
SeededMailbox seed_mailbox(const std::string &maildir, const std::string &address, int messages,
                           unsigned seed, const std::string &owner);

} // namespace bench
