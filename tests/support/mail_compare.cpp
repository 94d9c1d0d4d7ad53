#include "mail_compare.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace testsupport {

namespace {

const std::vector<std::string> uses = {"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"};

std::string lower(std::string s) {
    for (auto &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool iequals(const std::string &a, const std::string &b) {
    return lower(a) == lower(b);
}

std::string folder_use(const MailFolder &f) {
    for (const auto &a : f.attributes)
        for (const auto &u : uses)
            if (iequals(a, u))
                return u;
    return "";
}

// Names clients and providers commonly give special-use folders (modified UTF-7 where needed).
std::string well_known_use(const std::string &leaf) {
    static const std::map<std::string, std::string> names = {
        {"sent", "\\Sent"},
        {"sent items", "\\Sent"},
        {"sent messages", "\\Sent"},
        {"sent mail", "\\Sent"},
        {"gesendet", "\\Sent"},
        {"gesendete objekte", "\\Sent"},
        {"drafts", "\\Drafts"},
        {"entw&apw-rfe", "\\Drafts"},
        {"trash", "\\Trash"},
        {"deleted items", "\\Trash"},
        {"deleted messages", "\\Trash"},
        {"papierkorb", "\\Trash"},
        {"junk", "\\Junk"},
        {"spam", "\\Junk"},
        {"junk e-mail", "\\Junk"},
        {"archive", "\\Archive"},
        {"archives", "\\Archive"},
        {"archiv", "\\Archive"},
    };
    auto it = names.find(lower(leaf));
    return it == names.end() ? "" : it->second;
}

std::string header_block(const std::string &raw) {
    auto end = raw.find("\r\n\r\n");
    return end == std::string::npos ? raw : raw.substr(0, end + 2);
}

std::string body_of(const std::string &raw) {
    auto end = raw.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

// The unfolded value of the first header called name ("" if none).
std::string header(const std::string &raw, const std::string &name) {
    const std::string headers = header_block(raw);
    std::istringstream lines(headers);
    std::string line, value;
    bool in = false;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (in && !line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            value += line;
            continue;
        }
        if (in)
            break;
        auto colon = line.find(':');
        if (colon != std::string::npos && iequals(line.substr(0, colon), name)) {
            in = true;
            value = line.substr(colon + 1);
        }
    }
    const auto b = value.find_first_not_of(" \t");
    return b == std::string::npos ? "" : value.substr(b);
}

std::string identity(const MailMessage &m) {
    std::string id = header(m.raw, "Message-ID");
    return id.empty() ? "headers:" + header_block(m.raw) : id;
}

std::set<std::string> system_flags(const MailMessage &m) {
    std::set<std::string> out;
    for (const auto &f : m.flags)
        if (!f.empty() && f[0] == '\\' && !iequals(f, "\\Recent"))
            out.insert(lower(f));
    return out;
}

std::set<std::string> keywords(const MailMessage &m) {
    std::set<std::string> out;
    for (const auto &f : m.flags)
        if (!f.empty() && f[0] != '\\')
            out.insert(lower(f));
    return out;
}

// Names of the new server compared as IMAP does: INBOX in any case is INBOX.
std::string canonical(const std::string &name) {
    return iequals(name, "inbox") ? "INBOX" : name;
}

std::vector<std::string> differences(const MailMessage &o, const std::string &expected,
                                     const MailMessage &n) {
    std::vector<std::string> d;
    if (canonical(n.folder) != canonical(expected))
        d.push_back("folder");
    if (header_block(o.raw) != header_block(n.raw))
        d.push_back("headers");
    if (body_of(o.raw) != body_of(n.raw))
        d.push_back("body");
    if (system_flags(o) != system_flags(n))
        d.push_back("flags");
    if (keywords(o) != keywords(n))
        d.push_back("keywords");
    if (parse_internaldate(o.internaldate) != parse_internaldate(n.internaldate))
        d.push_back("date");
    return d;
}

} // namespace

std::string special_use_of(const Mailbox &old, const MailFolder &folder) {
    if (std::string u = folder_use(folder); !u.empty())
        return u;
    const bool server_marks =
        std::any_of(old.folders.begin(), old.folders.end(),
                    [](const MailFolder &f) { return !folder_use(f).empty(); });
    if (server_marks)
        return "";
    std::string name = folder.name;
    if (!old.personal_prefix.empty() && name.rfind(old.personal_prefix, 0) == 0)
        name = name.substr(old.personal_prefix.size());
    if (name.find(old.separator) != std::string::npos)
        return ""; // only top-level folders are the special ones
    return well_known_use(name);
}

std::string expected_folder(const Mailbox &old, const MailFolder &folder, char new_separator,
                            const std::map<std::string, std::string> &targets) {
    if (iequals(folder.name, "INBOX"))
        return "INBOX";
    if (auto it = targets.find(special_use_of(old, folder)); it != targets.end())
        return it->second;
    std::string name = folder.name;
    if (!old.personal_prefix.empty() && name.rfind(old.personal_prefix, 0) == 0)
        name = name.substr(old.personal_prefix.size());
    std::replace(name.begin(), name.end(), old.separator, new_separator);
    return name;
}

std::map<std::string, std::string> special_use_targets(const Mailbox &fresh) {
    std::map<std::string, std::string> out;
    for (const auto &f : fresh.folders)
        if (std::string u = folder_use(f); !u.empty())
            out.emplace(u, f.name);
    return out;
}

long long parse_internaldate(const std::string &text) {
    static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    int day = 0, year = 0, h = 0, m = 0, s = 0, zone = 0;
    char mon[4] = {0}, sign = 0;
    if (std::sscanf(text.c_str(), " %d-%3c-%d %d:%d:%d %c%d", &day, mon, &year, &h, &m, &s, &sign,
                    &zone) != 8)
        return -1;
    int month = -1;
    for (int i = 0; i < 12; ++i)
        if (lower(mon) == months[i])
            month = i;
    if (month < 0 || (sign != '+' && sign != '-'))
        return -1;
    std::tm tm{};
    tm.tm_mday = day;
    tm.tm_mon = month;
    tm.tm_year = year - 1900;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    const long long offset = (zone / 100) * 3600LL + (zone % 100) * 60LL;
    return static_cast<long long>(timegm(&tm)) - (sign == '+' ? offset : -offset);
}

std::string MessageReport::outcome() const {
    if (copies == 0)
        return "missing";
    if (exact())
        return "exact";
    std::string out;
    if (copies > 1)
        out = "duplicated(" + std::to_string(copies) + ")";
    if (!differences.empty()) {
        out += out.empty() ? "differs(" : " differs(";
        for (std::size_t i = 0; i < differences.size(); ++i)
            out += (i ? "," : "") + differences[i];
        out += ")";
    }
    return out;
}

bool MessageReport::differs_in(const std::string &what) const {
    return std::find(differences.begin(), differences.end(), what) != differences.end();
}

int CompareReport::exact() const {
    return static_cast<int>(std::count_if(messages.begin(), messages.end(),
                                          [](const MessageReport &m) { return m.exact(); }));
}

int CompareReport::missing() const {
    return static_cast<int>(std::count_if(messages.begin(), messages.end(),
                                          [](const MessageReport &m) { return m.copies == 0; }));
}

int CompareReport::duplicated() const {
    return static_cast<int>(std::count_if(messages.begin(), messages.end(),
                                          [](const MessageReport &m) { return m.copies > 1; }));
}

int CompareReport::differing_in(const std::string &what) const {
    return static_cast<int>(std::count_if(messages.begin(), messages.end(),
                                          [&](const auto &m) { return m.differs_in(what); }));
}

double CompareReport::exact_percent() const {
    return messages.empty() ? 100.0 : 100.0 * exact() / static_cast<double>(messages.size());
}

std::string CompareReport::summary() const {
    std::ostringstream s;
    s << total() << " messages: " << exact() << " exact (" << std::fixed << std::setprecision(1)
      << exact_percent() << "%), " << missing() << " missing, " << duplicated() << " duplicated";
    std::string diffs;
    for (const char *what : {"folder", "headers", "body", "flags", "keywords", "date"})
        if (int n = differing_in(what); n > 0)
            diffs += std::string(diffs.empty() ? "" : ", ") + what + " " + std::to_string(n);
    if (!diffs.empty())
        s << "; differ in: " << diffs;
    s << "; " << extra_on_new << " other messages on the new side";
    return s.str();
}

std::string CompareReport::details(std::size_t max_lines) const {
    std::ostringstream s;
    std::size_t n = 0;
    for (const auto &m : messages) {
        if (m.exact())
            continue;
        if (++n > max_lines) {
            s << "...\n";
            break;
        }
        s << m.old_folder << " " << m.label << ": " << m.outcome() << " (expected in "
          << m.expected_folder << (m.found_folder.empty() ? "" : ", found in " + m.found_folder)
          << ")\n";
    }
    return s.str();
}

CompareReport compare_mailboxes(const Mailbox &old, const Mailbox &fresh,
                                const std::map<std::string, std::string> &given_targets) {
    auto targets = special_use_targets(fresh);
    for (const auto &[use, name] : given_targets)
        targets[use] = name;
    std::map<std::string, std::string> expected_of; // old folder -> new folder
    for (const auto &f : old.folders)
        expected_of[f.name] = expected_folder(old, f, fresh.separator, targets);

    std::multimap<std::string, std::size_t> by_identity; // new messages
    for (std::size_t i = 0; i < fresh.messages.size(); ++i)
        by_identity.emplace(identity(fresh.messages[i]), i);
    std::vector<int> claimed_by(fresh.messages.size(), -1);

    CompareReport report;
    report.messages.resize(old.messages.size());
    for (std::size_t i = 0; i < old.messages.size(); ++i) {
        const auto &o = old.messages[i];
        auto &r = report.messages[i];
        r.old_folder = o.folder;
        r.expected_folder = expected_of.count(o.folder) ? expected_of[o.folder] : o.folder;
        r.label = header(o.raw, "Message-ID");
        if (r.label.empty())
            r.label = "\"" + header(o.raw, "Subject") + "\"";
    }
    // Pass 1: exact copies where expected. Pass 2: the closest unclaimed copy anywhere.
    for (int pass = 1; pass <= 2; ++pass) {
        for (std::size_t i = 0; i < old.messages.size(); ++i) {
            auto &r = report.messages[i];
            if (r.copies > 0)
                continue;
            auto [b, e] = by_identity.equal_range(identity(old.messages[i]));
            std::size_t best = 0;
            std::vector<std::string> best_diff;
            bool found = false;
            for (auto it = b; it != e; ++it) {
                if (claimed_by[it->second] >= 0)
                    continue;
                auto d =
                    differences(old.messages[i], r.expected_folder, fresh.messages[it->second]);
                if (pass == 1 && !d.empty())
                    continue;
                if (!found || d.size() < best_diff.size()) {
                    found = true;
                    best = it->second;
                    best_diff = d;
                }
            }
            if (!found)
                continue;
            claimed_by[best] = static_cast<int>(i);
            r.copies = 1;
            r.differences = best_diff;
            r.found_folder = fresh.messages[best].folder;
        }
    }
    // Pass 3: what is left over is a duplicate of an old message it matches, or extra.
    for (std::size_t n = 0; n < fresh.messages.size(); ++n) {
        if (claimed_by[n] >= 0)
            continue;
        const std::string id = identity(fresh.messages[n]);
        int owner = -1;
        for (std::size_t i = 0; i < old.messages.size() && owner < 0; ++i)
            if (report.messages[i].copies > 0 && identity(old.messages[i]) == id)
                owner = static_cast<int>(i);
        if (owner < 0) {
            ++report.extra_on_new;
            continue;
        }
        ++report.messages[static_cast<std::size_t>(owner)].copies;
    }
    return report;
}

} // namespace testsupport
