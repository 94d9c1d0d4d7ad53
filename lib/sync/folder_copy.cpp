#include "sync/folder_copy.hpp"

#include "base/supervisor.hpp"

#include "sync/imap_query.hpp"
#include "sync/imap_session.hpp"

#include <algorithm>

namespace imapmig {

namespace {

std::string id_of(const ListedMessage &m) {
    return m.message_id;
}

// One folder's messages by UID, Message-ID and size (no bodies), on a session that has
// selected or examined it; exists from that answer.
Result<std::vector<ListedMessage>> list_selected(ImapSession &session, long long exists,
                                                 const std::string &name) {
    if (exists == 0)
        return std::vector<ListedMessage>{};
    auto fetch =
        session.run("UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
    if (!fetch)
        return fetch.error();
    if (!fetch.value())
        return temporary_error("the server refused FETCH in " + name);
    auto messages = parse_fetch_responses(*fetch.value());
    if (static_cast<long long>(messages.size()) < exists)
        return temporary_error(name + ": " + std::to_string(exists) + " messages, FETCH listed " +
                               std::to_string(messages.size()));
    return messages;
}

// Selects the new folder, creating (and subscribing) it when it does not exist yet: Debian's
// stock special-use mailboxes are `auto = no`.
Result<long long> select_target(ImapSession &session, const std::string &name,
                                const std::string &quoted) {
    auto selected = session.run("SELECT " + quoted);
    if (!selected)
        return selected.error();
    if (!selected.value()) {
        auto created = session.run("CREATE " + quoted);
        if (!created)
            return created.error();
        (void)session.run("SUBSCRIBE " + quoted); // a folder the user cannot see is no help
        selected = session.run("SELECT " + quoted);
        if (!selected)
            return selected.error();
        if (!selected.value())
            return temporary_error("the new server refused to create or select " + name);
    }
    return parse_exists(*selected.value());
}

} // namespace

CopyPool copy_pool(const std::vector<ListedMessage> &new_messages) {
    CopyPool pool;
    for (const auto &m : new_messages)
        pool.emplace(id_of(m), m.size);
    return pool;
}

std::vector<long long> uids_to_copy(const FolderListing &old_folder, CopyPool &pool,
                                    const std::vector<VerifiedMark> &marks) {
    long long verified = 0;
    for (const auto &mark : marks)
        if (mark.old_name == old_folder.name && mark.uidvalidity == old_folder.uidvalidity)
            verified = mark.verified_uid;
    std::vector<ListedMessage> messages = old_folder.messages;
    std::sort(messages.begin(), messages.end(),
              [](const ListedMessage &a, const ListedMessage &b) { return a.uid < b.uid; });
    std::vector<long long> out;
    for (const auto &m : messages) {
        if (m.uid <= verified)
            continue;
        if (auto at = pool.find({id_of(m), m.size}); at != pool.end()) {
            pool.erase(at);
            continue;
        }
        out.push_back(m.uid);
    }
    return out;
}

std::string append_command(const std::string &quoted_folder, const ListedMessage &message) {
    std::string flags;
    for (const auto *list : {&message.system_flags, &message.keywords})
        for (const auto &f : *list)
            flags += (flags.empty() ? "" : " ") + f;
    std::string command = "APPEND " + quoted_folder + " (" + flags + ")";
    if (!message.internal_date.empty())
        command += " \"" + message.internal_date + "\"";
    const std::string &body = message.body ? *message.body : std::string();
    command += " {" + std::to_string(body.size()) + "+}\r\n";
    command += body;
    return command;
}

Result<FolderCopyResult> copy_renamed_folders(const SyncRequest &rq, const FolderPlan &plan,
                                              const std::vector<std::string> &sources,
                                              const std::atomic<bool> &cancel) {
    FolderCopyResult result;
    // The folders each new folder receives from this pass, so that they share its pool.
    std::map<std::string, std::vector<std::string>> by_target;
    for (const auto &source : sources)
        if (auto rename = plan.renames.find(source); rename != plan.renames.end())
            by_target[rename->second].push_back(source);
    if (by_target.empty())
        return result;
    if (!rq.config.local_imap)
        return config_error("copying renamed folders needs the local_imap section");

    auto old_session = ImapSession::open(rq.provider, rq.task.old_login, rq.old_password);
    if (!old_session)
        return old_session.error();
    const LocalImapConfig &local = *rq.config.local_imap;
    auto new_session =
        ImapSession::open(local_imap_endpoint(local), rq.task.local_user + "*" + local.master_user,
                          rq.master_password);
    if (!new_session)
        return temporary_error("logging in to the new server: " + new_session.error().message);
    ImapSession &from = old_session.value();
    ImapSession &to = new_session.value();

    for (const auto &[target, targets_sources] : by_target) {
        auto quoted_target = imap_quoted(target);
        if (!quoted_target)
            return temporary_error("a folder name that cannot be sent to the new server: " +
                                   target.substr(0, 40));
        auto exists = select_target(to, target, *quoted_target);
        if (!exists)
            return exists.error();
        auto present = list_selected(to, exists.value(), target);
        if (!present)
            return present.error();
        CopyPool pool = copy_pool(present.value());
        // What the engine brings into this folder from other old folders is theirs.
        for (const auto &f : plan.old_folders) {
            if (std::find(sources.begin(), sources.end(), f.name) != sources.end() ||
                plan.excludes(f.name) || f.has_flag("\\Noselect") || f.has_flag("\\NonExistent") ||
                new_folder_name(f.name, f.separator, plan.new_separator, plan) != target)
                continue;
            auto quoted = imap_quoted(f.name);
            if (!quoted)
                continue;
            auto examined = from.run("EXAMINE " + *quoted);
            if (!examined)
                return examined.error();
            if (!examined.value())
                continue;
            FolderListing folder{f.name, 0, parse_uidvalidity(*examined.value()), {}};
            auto listed = list_selected(from, parse_exists(*examined.value()), f.name);
            if (!listed)
                return listed.error();
            folder.messages = std::move(listed).value();
            (void)uids_to_copy(folder, pool, rq.task.verified); // draws its messages
        }
        for (const auto &source : targets_sources) {
            auto quoted = imap_quoted(source);
            if (!quoted)
                return temporary_error("a folder name that cannot be sent to the old server: " +
                                       source.substr(0, 40));
            auto examined = from.run("EXAMINE " + *quoted);
            if (!examined)
                return examined.error();
            if (!examined.value())
                continue; // gone from the old server since the plan was made
            FolderListing folder{source, 0, parse_uidvalidity(*examined.value()), {}};
            auto listed = list_selected(from, parse_exists(*examined.value()), source);
            if (!listed)
                return listed.error();
            folder.messages = std::move(listed).value();
            for (long long uid : uids_to_copy(folder, pool, rq.task.verified)) {
                if (cancel)
                    return result;
                auto fetched = from.run("UID FETCH " + std::to_string(uid) +
                                        " (UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[])");
                if (!fetched)
                    return fetched.error();
                auto messages = fetched.value() ? parse_fetch_responses(*fetched.value())
                                                : std::vector<ListedMessage>{};
                auto m = std::find_if(messages.begin(), messages.end(),
                                      [&](const ListedMessage &x) { return x.uid == uid; });
                if (m == messages.end())
                    continue; // expunged at the old provider meanwhile
                if (!m->body)
                    return temporary_error(source + ": UID " + std::to_string(uid) +
                                           ": the old server sent no message text");
                auto appended = to.run(append_command(*quoted_target, *m));
                if (!appended)
                    return appended.error();
                if (!appended.value())
                    return temporary_error("the new server refused a message of " + source +
                                           " (UID " + std::to_string(uid) + ") for " + target);
                ++result.copied;
                result.bytes += static_cast<long long>(m->body->size());
            }
        }
    }
    (void)from.run("LOGOUT");
    (void)to.run("LOGOUT");
    return result;
}

void attach_folder_copy(const SyncRequest &rq, const FolderPlan &plan,
                        const std::vector<std::string> &sources, const std::string &what,
                        const std::atomic<bool> &cancel, SyncReport &report) {
    if (report.outcome != SyncOutcome::synced || sources.empty())
        return;
    auto copied = copy_renamed_folders(rq, plan, sources, cancel);
    if (cancel) {
        report.outcome = SyncOutcome::cancelled;
        report.complete = false;
    } else if (!copied) {
        report.outcome = SyncOutcome::failed;
        report.complete = false;
        report.error =
            "copying " + what + ": " +
            scrub(copied.error().message, {rq.old_password.reveal(), rq.master_password.reveal()});
    } else {
        report.progress.messages_copied += copied.value().copied;
    }
}

} // namespace imapmig
