// A small mailbox that exercises what a migration must keep: system flags, keywords
// ($Forwarded, $Junk, $Label1, NonJunk), INTERNALDATEs in several zones, 8-bit bodies, a 2 MB
// message, non-ASCII folder names, special-use folders, and two messages with byte-identical
// headers and different bodies. Seeded over IMAP, so any server can hold it.
#pragma once

#include "old_imap_server.hpp"

#include <string>
#include <vector>

namespace testsupport {

struct CorpusFolder {
    std::vector<std::string> path; // hierarchy levels, modified UTF-7
    std::string special_use;       // "\\Sent" ... or ""
};

struct CorpusMessage {
    std::vector<std::string> folder; // {} is INBOX
    std::string raw;
    std::string flags;        // as in APPEND: "\\Seen $Forwarded"
    std::string internaldate; // "dd-Mon-yyyy hh:mm:ss +zzzz"
};

struct Corpus {
    std::vector<CorpusFolder> folders;
    std::vector<CorpusMessage> messages;
};

// About 100 messages for address. sent_name names the \Sent folder ("Sent Items", "Gesendet",
// "Sent": providers differ).
Corpus provider_corpus(const std::string &address, const std::string &sent_name);

// The server's name for a folder path: its personal prefix + levels joined by its separator.
std::string server_folder_name(const OldImapServer &server, const std::vector<std::string> &path);

// Creates the folders (with their special-use flag where the server can mark them) and appends
// every message, as user. Throws std::runtime_error when the server refuses something.
void seed_corpus(const OldImapServer &server, const std::string &user, const std::string &password,
                 const Corpus &corpus);

} // namespace testsupport
