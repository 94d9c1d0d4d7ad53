#include "sync/folder_plan.hpp"

#include "base/supervisor.hpp"
#include "sync/imap_query.hpp"
#include "sync/special_use.hpp"
#include "sync/verification.hpp"

#include "config/folder_pattern.hpp"

#include <algorithm>

namespace imapmig {

namespace {

// Best effort: a worker that cannot read the configuration maps onto existing folders only.
std::map<std::string, std::string> configured_special_folders(const Config &config) {
    ProgramSpec conf;
    conf.argv = {config.dovecot_bin_dir + "/doveconf", "-c", config.sync.dovecot_config,
                 "namespace"};
    conf.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8"};
    auto listed = run_captured(conf, std::chrono::seconds(60));
    if (!listed || !listed.value().exited_ok())
        return {};
    return special_folders_from_doveconf(listed.value().out);
}

} // namespace

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
    if (!with_special_use)
        return plan;
    std::vector<ListedFolder> old_folders;
    for (size_t i = 1; i < replies.size() && old_folders.empty(); ++i)
        if (replies[i])
            old_folders = parse_list_reply(*replies[i]);
    for (const auto &use : rq.config.sync.folder_exclude_special_use)
        for (auto &name : old_folders_of_use(old_folders, plan.old_namespace, use))
            if (std::find(plan.excluded.begin(), plan.excluded.end(), name) == plan.excluded.end())
                plan.excluded.push_back(std::move(name));
    if (!rq.config.local_imap)
        return plan;
    const LocalImapConfig &local = *rq.config.local_imap;
    auto fresh =
        imap_query(local_imap_endpoint(local), rq.task.local_user + "*" + local.master_user,
                   rq.master_password, {"LIST \"\" \"*\" RETURN (SPECIAL-USE)"});
    if (!fresh)
        return temporary_error("reading the new server's special-use folders: " +
                               fresh.error().message);
    if (!fresh.value()[0])
        return plan; // no SPECIAL-USE on the new server: nothing to map onto
    const auto new_listed = parse_list_reply(*fresh.value()[0]);
    std::vector<std::string> new_names;
    for (const auto &f : new_listed) {
        new_names.push_back(f.name);
        plan.new_separator = plan.new_separator ? plan.new_separator : f.separator;
    }
    auto targets = special_folders(new_listed);
    // Folders of a use that do not exist yet are only in the server's configuration.
    if (targets.size() < special_uses().size())
        for (auto &[use, name] : configured_special_folders(rq.config))
            targets.emplace(use, name);
    plan.renames = special_use_map(old_folders, plan.old_namespace, targets);
    keep_earlier_destinations(plan, old_folders, new_names, rq.task.verified);
    for (const auto &name : plan.excluded)
        plan.renames.erase(name);
    return plan;
}

void keep_earlier_destinations(FolderPlan &plan, const std::vector<ListedFolder> &old_folders,
                               const std::vector<std::string> &new_folders,
                               const std::vector<VerifiedMark> &marks) {
    FolderPlan plain = plan; // where a folder goes by its name alone
    plain.renames.clear();
    for (const auto &f : old_folders) {
        const std::string natural = new_folder_name(f.name, f.separator, plan.new_separator, plain);
        const std::string planned = new_folder_name(f.name, f.separator, plan.new_separator, plan);
        std::string recorded;
        for (const auto &mark : marks)
            if (mark.old_name == f.name && !mark.new_name.empty())
                recorded = mark.new_name;
        std::string destination = planned;
        if (!recorded.empty())
            destination = recorded;
        else if (planned != natural &&
                 std::find(new_folders.begin(), new_folders.end(), natural) != new_folders.end())
            destination = natural;
        if (destination == natural)
            plan.renames.erase(f.name);
        else
            plan.renames[f.name] = destination;
    }
}

bool FolderPlan::excludes(const std::string &old_name) const {
    return std::find(excluded.begin(), excluded.end(), old_name) != excluded.end();
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
