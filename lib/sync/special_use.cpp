#include "sync/special_use.hpp"

#include "sync/doveconf_namespaces.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

namespace imapmig {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Names clients and servers give these folders when nothing marks them (modified UTF-7 where
// not ASCII), compared case-insensitively.
const std::map<std::string, std::vector<std::string>> &well_known_names() {
    static const std::map<std::string, std::vector<std::string>> names = {
        {"\\Sent",
         {"sent", "sent items", "sent messages", "sent mail", "gesendet", "gesendete objekte",
          "gesendete elemente", "envoy&AOk-s", "elementos enviados", "enviados", "posta inviata",
          "inviati", "verzonden items", "verzonden"}},
        {"\\Drafts",
         {"drafts", "draft", "entw&APw-rfe", "brouillons", "borradores", "bozze", "concepten"}},
        {"\\Trash",
         {"trash", "deleted items", "deleted messages", "papierkorb", "gel&APY-schte objekte",
          "gel&APY-schte elemente", "corbeille", "papelera", "elementos eliminados", "cestino",
          "prullenbak", "bin"}},
        {"\\Junk",
         {"junk", "spam", "junk e-mail", "junk email", "bulk mail", "ind&AOk-sirables",
          "correo no deseado", "posta indesiderata", "ongewenste e-mail"}},
        {"\\Archive", {"archive", "archives", "archiv", "archivo", "archivio", "archief"}},
    };
    return names;
}

std::optional<std::string> astring(std::string_view text, size_t &pos) {
    if (pos >= text.size())
        return std::nullopt;
    if (text[pos] == '"') {
        std::string out;
        for (++pos; pos < text.size(); ++pos) {
            char c = text[pos];
            if (c == '\\' && pos + 1 < text.size()) {
                out += text[++pos];
                continue;
            }
            if (c == '"') {
                ++pos;
                return out;
            }
            out += c;
        }
        return std::nullopt;
    }
    if (text[pos] == '{')
        return std::nullopt; // a literal: not in these replies in practice
    size_t end = text.find_first_of(" \r\n", pos);
    if (end == std::string_view::npos)
        end = text.size();
    std::string out(text.substr(pos, end - pos));
    pos = end;
    return out;
}

std::string strip_prefix(const std::string &name, const OldNamespace &ns) {
    if (!ns.prefix.empty() && name.size() > ns.prefix.size() &&
        name.compare(0, ns.prefix.size(), ns.prefix) == 0)
        return name.substr(ns.prefix.size());
    return name;
}

} // namespace

bool ListedFolder::has_flag(std::string_view flag) const {
    const std::string want = lower(flag);
    return std::any_of(flags.begin(), flags.end(),
                       [&](const std::string &f) { return lower(f) == want; });
}

std::vector<ListedFolder> parse_list_reply(std::string_view text) {
    std::vector<ListedFolder> out;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        size_t pos;
        if (line.rfind("* LIST (", 0) == 0)
            pos = 8;
        else if (line.rfind("* XLIST (", 0) == 0)
            pos = 9;
        else
            continue;
        const size_t close = line.find(')', pos);
        if (close == std::string::npos)
            continue;
        ListedFolder f;
        std::istringstream words(line.substr(pos, close - pos));
        for (std::string w; words >> w;)
            f.flags.push_back(w);
        pos = close + 2;
        if (line.compare(pos, 3, "NIL") == 0)
            pos += 3;
        else if (auto separator = astring(line, pos))
            f.separator = separator->size() == 1 ? (*separator)[0] : 0;
        else
            continue;
        if (pos >= line.size() || line[pos] != ' ')
            continue;
        ++pos;
        auto name = astring(line, pos);
        if (!name)
            continue;
        f.name = *name;
        out.push_back(std::move(f));
    }
    return out;
}

const std::vector<std::string> &special_uses() {
    static const std::vector<std::string> uses = {"\\Sent", "\\Drafts", "\\Trash", "\\Junk",
                                                  "\\Archive"};
    return uses;
}

std::map<std::string, std::string> special_folders(const std::vector<ListedFolder> &listed) {
    std::map<std::string, std::string> out;
    for (const auto &use : special_uses())
        for (const auto &f : listed)
            if (f.has_flag(use) && !f.has_flag("\\Noselect") && !out.count(use)) {
                out[use] = f.name;
                break;
            }
    return out;
}

std::map<std::string, std::string> special_folders_from_doveconf(std::string_view output) {
    std::map<std::string, std::string> out;
    for (const auto &ns : parse_doveconf_namespaces(output)) {
        if (!ns.inbox)
            continue;
        for (const auto &mailbox : ns.mailboxes)
            for (const auto &use : mailbox.special_use)
                for (const auto &known : special_uses())
                    if (lower(use) == lower(known) && !out.count(known))
                        out[known] = ns.prefix + mailbox.name;
    }
    return out;
}

namespace {

// XLIST (Gmail) names some uses its own way: \Spam is Junk, \AllMail All, \Starred Flagged.
bool marked(const ListedFolder &f, const std::string &use) {
    return f.has_flag(use) || (use == "\\Junk" && f.has_flag("\\Spam")) ||
           (use == "\\Sent" && f.has_flag("\\SentMail")) ||
           (use == "\\All" && f.has_flag("\\AllMail")) ||
           (use == "\\Flagged" && f.has_flag("\\Starred"));
}

// A server that marks one folder is trusted to mark them all; one that marks none is read by
// the folders' names.
bool any_marked(const std::vector<ListedFolder> &folders) {
    for (const auto &f : folders)
        for (const auto &use :
             {"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", "\\All", "\\Flagged"})
            if (marked(f, use))
                return true;
    return false;
}

bool well_known_as(const std::string &name, const std::string &use) {
    auto known = well_known_names().find(use);
    return known != well_known_names().end() &&
           std::any_of(known->second.begin(), known->second.end(),
                       [&](const std::string &k) { return lower(k) == lower(name); });
}

} // namespace

std::vector<std::string> old_folders_of_use(const std::vector<ListedFolder> &old_folders,
                                            const OldNamespace &old_namespace,
                                            const std::string &use) {
    const bool by_marks = any_marked(old_folders);
    std::vector<std::string> out;
    for (const auto &f : old_folders) {
        const std::string name = strip_prefix(f.name, old_namespace);
        if (lower(name) == "inbox" || f.has_flag("\\Noselect"))
            continue;
        if (by_marks ? marked(f, use) : well_known_as(name, use))
            out.push_back(f.name);
    }
    return out;
}

std::map<std::string, std::string>
special_use_map(const std::vector<ListedFolder> &old_folders, const OldNamespace &old_namespace,
                const std::map<std::string, std::string> &new_folders) {

    std::map<std::string, std::string> map;
    std::vector<std::string> taken; // old folders already mapped
    for (const auto &use : special_uses()) {
        auto target = new_folders.find(use);
        if (target == new_folders.end())
            continue;
        // Two old folders must never become one: when the old server has a folder named like
        // the target, that one lands there and nothing else does.
        const bool target_exists =
            std::any_of(old_folders.begin(), old_folders.end(), [&](const ListedFolder &f) {
                return strip_prefix(f.name, old_namespace) == target->second;
            });
        if (target_exists)
            continue;
        // The first old folder of the use that no other use took.
        for (const auto &name : old_folders_of_use(old_folders, old_namespace, use)) {
            if (std::find(taken.begin(), taken.end(), name) != taken.end())
                continue;
            map[name] = target->second;
            taken.push_back(name);
            break;
        }
    }
    return map;
}

} // namespace imapmig
