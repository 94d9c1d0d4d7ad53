// The exactness checker: every message of the old mailbox, looked for in the folder a user
// expects on the new server, with the same headers, body, system flags, keywords and
// INTERNALDATE. Pure logic (unit-tested); mailbox_reader.hpp fills a Mailbox over IMAP.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace testsupport {

struct MailFolder {
    std::string name;                    // as LIST shows it (modified UTF-7, server separator)
    std::vector<std::string> attributes; // e.g. "\\HasNoChildren", "\\Sent"
    bool selectable = true;
};

struct MailMessage {
    std::string folder;
    std::string raw;             // RFC822 as fetched (BODY.PEEK[])
    std::set<std::string> flags; // system flags and keywords as the server spells them
    std::string internaldate;    // as fetched, e.g. "01-Jan-2020 09:00:00 +0000"
};

struct Mailbox {
    std::string personal_prefix; // from NAMESPACE: "" or "INBOX."
    char separator = '/';
    std::vector<MailFolder> folders;
    std::vector<MailMessage> messages;
};

// "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive" (or "") for an old folder: its
// special-use attribute; when the old server marks no folder at all, the well-known names
// ("Sent Items", "Gesendet", "Spam", "Deleted Messages", ...) of its last component.
std::string special_use_of(const Mailbox &old, const MailFolder &folder);

// The new folder a user expects an old folder's mail in: INBOX stays INBOX; a special-use
// folder goes to targets[use] when the new server has one; otherwise the old personal prefix is
// stripped and the separator translated. targets maps "\\Sent" -> a folder of the new server.
std::string expected_folder(const Mailbox &old, const MailFolder &folder, char new_separator,
                            const std::map<std::string, std::string> &targets);

// The new server's special-use folders from its LIST attributes (the first folder per use).
std::map<std::string, std::string> special_use_targets(const Mailbox &fresh);

// Seconds since the epoch for an IMAP date-time ("dd-Mon-yyyy hh:mm:ss +zzzz"); -1 if bad.
long long parse_internaldate(const std::string &text);

struct MessageReport {
    std::string old_folder;
    std::string expected_folder;
    std::string found_folder; // "" when missing
    std::string label;        // Message-ID or Subject, for people
    int copies = 0;           // new messages that are this one (0 missing, >1 duplicated)
    // What differs: "folder", "headers", "body", "flags", "keywords", "date".
    std::vector<std::string> differences;

    bool exact() const { return copies == 1 && differences.empty(); }
    bool differs_in(const std::string &what) const;
    std::string outcome() const; // "exact", "missing", "duplicated(N)", "differs(body,flags)"
};

struct CompareReport {
    std::vector<MessageReport> messages;
    int extra_on_new = 0; // new messages that are none of the old ones (e.g. new-only mail)

    int total() const { return static_cast<int>(messages.size()); }
    int exact() const;
    int missing() const;
    int duplicated() const;
    // Messages whose differences include what ("body", "folder", ...).
    int differing_in(const std::string &what) const;
    double exact_percent() const;
    // One line: "153 messages: 120 exact (78.4%), 0 missing, 0 duplicated, differs: ...".
    std::string summary() const;
    // Every message that is not exact, one line each (at most max_lines).
    std::string details(std::size_t max_lines = 60) const;
};

// Matches every old message (by Message-ID, else by its header block) against the new side:
// exact matches in the expected folder first, then the closest remaining copy anywhere; copies
// left over are duplicates of the old message they match. targets as for expected_folder(),
// completed from special_use_targets(fresh).
CompareReport compare_mailboxes(const Mailbox &old, const Mailbox &fresh,
                                const std::map<std::string, std::string> &targets = {});

} // namespace testsupport
