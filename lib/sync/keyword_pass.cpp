#include "sync/keyword_pass.hpp"

#include "sync/imap_session.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace imapmig {

namespace {

// A keyword is an IMAP atom; anything else the old server sent is not sent on.
bool is_atom(const std::string &keyword) {
    return !keyword.empty() && keyword.size() <= 200 &&
           std::all_of(keyword.begin(), keyword.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u > 0x20 && u < 0x7f &&
                      std::string_view("(){%*\"\\]").find(c) == std::string_view::npos;
           });
}

} // namespace

std::vector<KeywordStore> plan_keywords(const std::vector<FolderListing> &old_side,
                                        const std::vector<FolderListing> &new_side,
                                        const FolderPlan &plan, const SyncConfig &sync) {
    using Key = std::pair<std::string, long long>; // Message-ID, size
    char new_separator = 0;
    std::map<std::string, const FolderListing *> by_name;
    for (const auto &f : new_side) {
        by_name[f.name] = &f;
        new_separator = new_separator ? new_separator : f.separator;
    }
    // folder -> keywords -> UIDs
    std::map<std::string, std::map<std::vector<std::string>, std::vector<long long>>> wanted;
    // Per new folder, its messages by identity, each used once.
    std::map<std::string, std::map<Key, std::vector<const ListedMessage *>>> copies;
    for (const auto &f : old_side) {
        const std::string target = new_folder_name(f.name, f.separator, new_separator, plan);
        const auto found = by_name.find(target);
        if (plan.excludes(f.name) || !folder_wanted(sync, target) || found == by_name.end())
            continue;
        auto &index = copies[target];
        if (index.empty())
            for (const auto &m : found->second->messages)
                if (!m.message_id.empty())
                    index[{m.message_id, m.size}].push_back(&m);
        std::vector<const ListedMessage *> old_messages;
        for (const auto &m : f.messages)
            old_messages.push_back(&m);
        std::sort(old_messages.begin(), old_messages.end(),
                  [](const auto *a, const auto *b) { return a->uid < b->uid; });
        for (const auto *m : old_messages) {
            if (m->message_id.empty())
                continue;
            auto candidates = index.find({m->message_id, m->size});
            if (candidates == index.end() || candidates->second.empty())
                continue;
            const ListedMessage *copy = candidates->second.front();
            candidates->second.erase(candidates->second.begin());
            std::vector<std::string> lacking;
            for (const auto &k : m->keywords)
                if (is_atom(k) && std::find(copy->keywords.begin(), copy->keywords.end(), k) ==
                                      copy->keywords.end())
                    lacking.push_back(k);
            if (lacking.empty())
                continue;
            std::sort(lacking.begin(), lacking.end());
            wanted[target][lacking].push_back(copy->uid);
        }
    }
    std::vector<KeywordStore> out;
    for (auto &[folder, sets] : wanted)
        for (auto &[keywords, uids] : sets)
            out.push_back({folder, keywords, std::move(uids)});
    return out;
}

Result<long long> apply_keywords(const ProviderConfig &new_server, const std::string &login,
                                 const SecretString &password,
                                 const std::vector<KeywordStore> &stores) {
    if (stores.empty())
        return 0;
    auto session = ImapSession::open(new_server, login, password);
    if (!session)
        return session.error();
    long long changed = 0;
    std::string selected;
    for (const auto &store : stores) {
        if (store.folder != selected) {
            auto quoted = imap_quoted(store.folder);
            if (!quoted)
                continue;
            auto r = session.value().run("SELECT " + *quoted);
            if (!r)
                return r.error();
            if (!r.value())
                return temporary_error("the new server refused SELECT " + store.folder);
            selected = store.folder;
        }
        std::string keywords;
        for (const auto &k : store.keywords)
            keywords += (keywords.empty() ? "" : " ") + k;
        // At most 500 UIDs per command: a line stays far below servers' limits.
        for (size_t from = 0; from < store.uids.size(); from += 500) {
            std::string set;
            for (size_t i = from; i < std::min(store.uids.size(), from + 500); ++i)
                set += (set.empty() ? "" : ",") + std::to_string(store.uids[i]);
            auto r = session.value().run("UID STORE " + set + " +FLAGS.SILENT (" + keywords + ")");
            if (!r)
                return r.error();
            if (!r.value())
                return temporary_error("the new server refused to set keywords in " + store.folder);
            changed += static_cast<long long>(std::min(store.uids.size(), from + 500) - from);
        }
    }
    (void)session.value().run("LOGOUT");
    return changed;
}

} // namespace imapmig
