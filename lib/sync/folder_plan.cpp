#include "sync/folder_plan.hpp"

#include "sync/imap_query.hpp"
#include "sync/special_use.hpp"

#include "config/folder_pattern.hpp"

#include <algorithm>

namespace imapmig {

Result<FolderPlan> plan_folders(const SyncRequest &rq, bool with_special_use) {
    FolderPlan plan;
    std::vector<std::string> commands = {"NAMESPACE"};
    if (with_special_use)
        // RFC 6154 marks; Gmail-era servers answer XLIST instead; RFC 3501 servers neither.
        commands.insert(commands.end(), {"LIST \"\" \"*\" RETURN (SPECIAL-USE)", "XLIST \"\" \"*\"",
                                         "LIST \"\" \"*\""});
    auto old = imap_query(rq.provider, rq.task.old_login, rq.old_password, commands);
    if (!old) {
        if (old.error().kind == ErrorKind::permanent)
            return plan;
        return old.error();
    }
    const auto &replies = old.value();
    if (replies[0])
        if (auto ns = parse_namespace_reply(*replies[0]))
            plan.old_namespace = *ns;
    if (!with_special_use || !rq.config.local_imap)
        return plan;
    std::vector<ListedFolder> old_folders;
    for (size_t i = 1; i < replies.size() && old_folders.empty(); ++i)
        if (replies[i])
            old_folders = parse_list_reply(*replies[i]);
    const LocalImapConfig &local = *rq.config.local_imap;
    auto fresh =
        imap_query(local_imap_endpoint(local), rq.task.local_user + "*" + local.master_user,
                   rq.master_password, {"LIST \"\" \"*\" RETURN (SPECIAL-USE)"});
    if (!fresh)
        return temporary_error("reading the new server's special-use folders: " +
                               fresh.error().message);
    if (!fresh.value()[0])
        return plan; // no SPECIAL-USE on the new server: nothing to map onto
    plan.renames = special_use_map(old_folders, plan.old_namespace,
                                   special_folders(parse_list_reply(*fresh.value()[0])));
    return plan;
}

bool folder_wanted(const SyncConfig &sync, const std::string &new_name) {
    if (!sync.folder_include.empty() &&
        std::find(sync.folder_include.begin(), sync.folder_include.end(), new_name) ==
            sync.folder_include.end())
        return false;
    if (sync.folder_exclude.empty())
        return true;
    auto exclude = FolderPattern::compile(sync.folder_exclude); // checked at load
    return !exclude || !exclude.value().search(new_name);
}

} // namespace imapmig
