#include "sync/verification.hpp"

#include "sync/imap_query.hpp"
#include "sync/imap_session.hpp"
#include "sync/keyword_pass.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

namespace imapmig {

namespace {

bool is_inbox(std::string_view name) {
    return name.size() == 5 && std::equal(name.begin(), name.end(), "INBOX", [](char a, char b) {
               return std::toupper(static_cast<unsigned char>(a)) == b;
           });
}

// A number after `* ` that starts a line, followed by `word`: `* 12 EXISTS`, `* 3 FETCH (`.
std::vector<std::pair<long long, std::string>> numbered_lines(std::string_view text,
                                                              std::string_view word) {
    std::vector<std::pair<long long, std::string>> out;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("* ", 0) != 0)
            continue;
        char *end = nullptr;
        const long long n = std::strtoll(line.c_str() + 2, &end, 10);
        if (end == line.c_str() + 2 || *end != ' ')
            continue;
        std::string_view rest(end + 1);
        if (rest.size() >= word.size() &&
            std::equal(word.begin(), word.end(), rest.begin(), [](char a, char b) {
                return std::toupper(static_cast<unsigned char>(a)) ==
                       std::toupper(static_cast<unsigned char>(b));
            }))
            out.emplace_back(n, std::string(rest.substr(word.size())));
    }
    return out;
}

} // namespace

Result<std::vector<FolderListing>> read_listing(const ProviderConfig &server,
                                                std::string_view login,
                                                const SecretString &password, bool with_keywords) {
    auto session = ImapSession::open(server, login, password);
    if (!session)
        return session.error();
    auto listed = session.value().run("LIST \"\" \"*\"");
    if (!listed)
        return listed.error();
    if (!listed.value())
        return temporary_error("the server refused LIST");
    std::vector<FolderListing> folders;
    for (const auto &f : parse_list_reply(*listed.value())) {
        if (f.has_flag("\\Noselect") || f.has_flag("\\NonExistent"))
            continue;
        auto quoted = imap_quoted(f.name);
        if (!quoted)
            return temporary_error("a folder name that cannot be sent back to the server: " +
                                   f.name.substr(0, 40));
        FolderListing folder{f.name, f.separator, 0, {}};
        auto examine = session.value().run("EXAMINE " + *quoted);
        if (!examine)
            return examine.error();
        if (!examine.value())
            return temporary_error("the server refused EXAMINE " + f.name);
        const long long exists = parse_exists(*examine.value());
        folder.uidvalidity = parse_uidvalidity(*examine.value());
        if (exists > 0) {
            auto fetch = session.value().run(
                with_keywords ? "FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
                                "(MESSAGE-ID)])"
                              : "FETCH 1:* (UID RFC822.SIZE)");
            if (!fetch)
                return fetch.error();
            if (!fetch.value())
                return temporary_error("the server refused FETCH in " + f.name);
            folder.messages = parse_fetch_messages(*fetch.value());
        }
        // A FETCH that lost lines (or a server that answers oddly) must not pass as "fewer
        // messages": the run is not verified.
        if (static_cast<long long>(folder.messages.size()) < exists)
            return temporary_error(f.name + ": EXAMINE says " + std::to_string(exists) +
                                   " messages, FETCH listed " +
                                   std::to_string(folder.messages.size()));
        folders.push_back(std::move(folder));
    }
    (void)session.value().run("LOGOUT");
    return folders;
}

long long Verification::missing() const {
    long long n = 0;
    for (const auto &f : folders)
        n += f.missing;
    return n;
}

std::vector<std::string> Verification::differing() const {
    std::vector<std::string> out;
    for (const auto &f : folders)
        if (f.missing > 0)
            out.push_back(f.old_name);
    return out;
}

std::string Verification::summary() const {
    std::string out;
    for (const auto &f : folders) {
        if (f.missing == 0)
            continue;
        out += out.empty() ? "" : ", ";
        out += f.old_name;
        if (f.new_messages < 0)
            out += " (not on the new server, " + std::to_string(f.old_messages) + " message(s))";
        else
            out += " (" + std::to_string(f.missing) + " of " + std::to_string(f.old_messages) +
                   " missing in " + f.new_name + ")";
    }
    return out;
}

std::string new_folder_name(const std::string &old_name, char old_separator, char new_separator,
                            const FolderPlan &plan) {
    if (is_inbox(old_name))
        return "INBOX";
    if (auto rename = plan.renames.find(old_name); rename != plan.renames.end())
        return rename->second;
    std::string name = old_name;
    const std::string &prefix = plan.old_namespace.prefix;
    if (!prefix.empty() && name.size() > prefix.size() &&
        name.compare(0, prefix.size(), prefix) == 0)
        name.erase(0, prefix.size());
    if (old_separator && new_separator && old_separator != new_separator)
        std::replace(name.begin(), name.end(), old_separator, new_separator);
    return name;
}

Verification compare_folders(const std::vector<FolderListing> &old_side,
                             const std::vector<FolderListing> &new_side, const FolderPlan &plan,
                             const SyncConfig &sync, const std::vector<VerifiedMark> &marks,
                             bool baseline) {
    // The new folders' sizes, as pools the old messages draw on: two old messages of one size
    // need two new ones, and two old folders landing in one new folder cannot share them.
    std::map<std::string, std::multiset<long long>> pools;
    std::map<std::string, long long> new_counts;
    char new_separator = 0;
    for (const auto &f : new_side) {
        const std::string name = is_inbox(f.name) ? "INBOX" : f.name;
        for (const auto &m : f.messages)
            pools[name].insert(m.size);
        new_counts[name] = static_cast<long long>(f.messages.size());
        new_separator = new_separator ? new_separator : f.separator;
    }
    Verification v;
    for (const auto &f : old_side) {
        const std::string target = new_folder_name(f.name, f.separator, new_separator, plan);
        if (plan.excludes(f.name) || !folder_wanted(sync, target))
            continue;
        FolderCheck check{f.name,        target, static_cast<long long>(f.messages.size()), -1, 0,
                          f.uidvalidity, 0};
        long long from_uid = 0; // verified before
        for (const auto &mark : marks)
            if (mark.old_name == f.name && mark.uidvalidity == f.uidvalidity)
                from_uid = mark.verified_uid;
        auto counted = new_counts.find(target);
        if (counted != new_counts.end())
            check.new_messages = counted->second;
        std::multiset<long long> &pool = pools[target];
        std::vector<ListedMessage> unverified;
        for (const auto &m : f.messages)
            if (m.uid > from_uid || m.uid == 0)
                unverified.push_back(m);
        std::sort(unverified.begin(), unverified.end(),
                  [](const ListedMessage &a, const ListedMessage &b) { return a.uid < b.uid; });
        long long first_missing = 0, highest = from_uid;
        for (const auto &m : unverified) {
            highest = std::max(highest, m.uid);
            if (auto at = pool.find(m.size); at != pool.end()) {
                pool.erase(at);
                continue;
            }
            ++check.missing;
            if (first_missing == 0)
                first_missing = m.uid;
        }
        check.verified_uid = check.missing > 0 ? std::max(from_uid, first_missing - 1) : highest;
        if (baseline)
            check.verified_uid = highest;
        v.folders.push_back(std::move(check));
    }
    if (baseline) {
        v.accepted = v.summary();
        for (auto &f : v.folders)
            f.missing = 0;
    }
    return v;
}

std::vector<ListedMessage> parse_fetch_messages(std::string_view text) {
    return parse_fetch_responses(text);
}

long long parse_uidvalidity(std::string_view text) {
    const size_t at = text.find("[UIDVALIDITY ");
    if (at == std::string_view::npos)
        return 0;
    return std::strtoll(std::string(text.substr(at + 13, 20)).c_str(), nullptr, 10);
}

long long parse_exists(std::string_view text) {
    long long exists = 0;
    for (const auto &[n, rest] : numbered_lines(text, "EXISTS"))
        exists = n; // the last one counts (a new message may arrive during EXAMINE)
    return exists;
}

std::optional<std::string> imap_quoted(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u == 0 || c == '\r' || c == '\n' || u >= 0x80)
            return std::nullopt;
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

void attach_verification(const SyncRequest &rq, const FolderPlan &plan, SyncReport &report,
                         bool copy_keywords) {
    if (report.outcome != SyncOutcome::synced)
        return;
    auto checked = verify_sync(rq, plan, copy_keywords);
    if (checked)
        report.verification = std::move(checked).value();
    else
        report.verification_error = checked.error().message;
}

Result<Verification> verify_sync(const SyncRequest &rq, const FolderPlan &plan,
                                 bool copy_keywords) {
    if (!rq.config.local_imap)
        return config_error("verification needs the local_imap section");
    auto old_side = read_listing(rq.provider, rq.task.old_login, rq.old_password, copy_keywords);
    if (!old_side)
        return temporary_error("reading the old mailbox: " + old_side.error().message);
    const LocalImapConfig &local = *rq.config.local_imap;
    const std::string master_login = rq.task.local_user + "*" + local.master_user;
    auto new_side =
        read_listing(local_imap_endpoint(local), master_login, rq.master_password, copy_keywords);
    if (!new_side)
        return temporary_error("reading the new mailbox: " + new_side.error().message);
    long long keywords_set = 0;
    if (copy_keywords) {
        const auto plans = plan_keywords(old_side.value(), new_side.value(), plan, rq.config.sync);
        auto set =
            apply_keywords(local_imap_endpoint(local), master_login, rq.master_password, plans);
        if (!set)
            return temporary_error("copying keywords: " + set.error().message);
        keywords_set = set.value();
    }
    Verification v = compare_folders(old_side.value(), new_side.value(), plan, rq.config.sync,
                                     rq.task.verified, rq.task.verification_baseline);
    v.keywords_set = keywords_set;
    return v;
}

} // namespace imapmig
