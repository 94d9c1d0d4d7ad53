// Special-use folders (RFC 6154): the old server's Sent, Drafts, Trash, Junk and Archive land
// in the new server's folder of that use, not beside it as a second "Sent". The old folders
// are found by their marks (LIST RETURN (SPECIAL-USE), or Gmail's XLIST), or, when the old
// server marks none, by the names mail clients give them ("Sent Items", "Gesendet", ...).
#pragma once

#include "sync/old_namespace.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct ListedFolder {
    std::string name;               // as the server spells it (modified UTF-7)
    std::vector<std::string> flags; // "\\Sent", "\\HasNoChildren", ...
    char separator = 0;             // the hierarchy separator; 0 for NIL (a flat server)
    bool has_flag(std::string_view flag) const;
};

// `* LIST (flags) "sep" name` and `* XLIST ...` lines; names as quoted strings or atoms
// (a literal name is skipped).
std::vector<ListedFolder> parse_list_reply(std::string_view text);

// The uses this product maps, in the order they are tried.
const std::vector<std::string> &special_uses(); // "\\Sent", "\\Drafts", ...

// use -> the new server's folder for it, from its LIST (SPECIAL-USE) answer.
std::map<std::string, std::string> special_folders(const std::vector<ListedFolder> &listed);

// use -> the folder the new server's configuration names for it (`mailbox NAME { special_use =
// \Sent }` in the `inbox = yes` namespace of `doveconf namespace` output, its prefix included).
// Such a folder is not listed before it exists: Debian's stock mailboxes are `auto = no`, so a
// fresh mailbox has none, and only the configuration says where Sent mail belongs.
std::map<std::string, std::string> special_folders_from_doveconf(std::string_view doveconf_output);

// The old folders of one use (\Sent, ..., also \All and \Flagged): those the old server marks
// with it (XLIST's \Spam, \AllMail, \Starred count as \Junk, \All, \Flagged) or, when it
// marks no folder at all, those with a name mail clients give it. INBOX and \Noselect folders
// never. Names as the old server spells them.
std::vector<std::string> old_folders_of_use(const std::vector<ListedFolder> &old_folders,
                                            const OldNamespace &old_namespace,
                                            const std::string &use);

// old folder name (as the old server spells it) -> new folder name, for the old folders that
// have a special use the new server has a folder for. The old namespace prefix is stripped
// before the names are compared; INBOX never moves; a folder already named like its target
// stays out of the map. XLIST's \Inbox, \AllMail, \Important, \Starred are not mapped.
std::map<std::string, std::string>
special_use_map(const std::vector<ListedFolder> &old_folders, const OldNamespace &old_namespace,
                const std::map<std::string, std::string> &new_folders);

} // namespace imapmig
