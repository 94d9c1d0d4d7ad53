#include "mail_corpus.hpp"

#include "imap_client.hpp"

#include <cstdio>
#include <stdexcept>

namespace testsupport {

namespace {

const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
const char *const zones[] = {"+0100", "-0500", "+0000", "+0530", "+0200"};

std::string date_of(int i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%02d-%s-%d %02d:%02d:%02d %s", 1 + i % 28, months[i % 12],
                  2015 + i % 9, (i * 7) % 24, (i * 13) % 60, (i * 17) % 60, zones[i % 5]);
    return buf;
}

std::string header_date_of(int i) {
    char buf[60];
    std::snprintf(buf, sizeof buf, "Mon, %d %s %d %02d:%02d:%02d %s", 1 + i % 28, months[i % 12],
                  2015 + i % 9, (i * 7) % 24, (i * 13) % 60, (i * 17) % 60, zones[i % 5]);
    return buf;
}

std::string headers(const std::string &address, const std::string &id, const std::string &subject,
                    const std::string &date, const std::string &content_type,
                    const std::string &encoding) {
    return "From: Sender " + id + " <sender" + id + "@example.org>\r\nTo: " + address +
           "\r\nSubject: " + subject + "\r\nDate: " + date + "\r\nMessage-ID: <" + id +
           "@corpus.example>\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type +
           "\r\nContent-Transfer-Encoding: " + encoding + "\r\n\r\n";
}

// Flags vary with i; keywords on some, as a mail client leaves them.
std::string flags_of(int i) {
    std::string f;
    auto add = [&f](const char *flag) { f += (f.empty() ? "" : " ") + std::string(flag); };
    if (i % 2 == 0)
        add("\\Seen");
    if (i % 3 == 0)
        add("\\Flagged");
    if (i % 4 == 1)
        add("\\Answered");
    if (i % 5 == 0)
        add("$Forwarded");
    if (i % 7 == 3)
        add("$Label1");
    if (i % 11 == 4)
        add("$Junk");
    if (i % 6 == 1)
        add("NonJunk");
    return f;
}

std::string body_of(int i) {
    switch (i % 4) {
    case 0: // UTF-8, 8 bit
        return "Gr\xc3\xbc\xc3\x9f"
               "e aus K\xc3\xb6ln, message " +
               std::to_string(i) + " \xe2\x80\x94 \xc3\xb1 \xe2\x82\xac\r\n";
    case 1: // ISO-8859-1, 8 bit
        return "Sch\xf6ne Gr\xfc\xdf"
               "e, message " +
               std::to_string(i) + "\r\n";
    default:
        return "Plain text, message " + std::to_string(i) + "\r\n" +
               std::string(100 + (i % 9) * 150, 'x') + "\r\n";
    }
}

CorpusMessage message(const std::string &address, std::vector<std::string> folder, int i) {
    const char *type = i % 4 == 1 ? "text/plain; charset=iso-8859-1" : "text/plain; charset=utf-8";
    const char *encoding = i % 4 < 2 ? "8bit" : "7bit";
    CorpusMessage m;
    m.folder = std::move(folder);
    m.raw = headers(address, "m" + std::to_string(i), "Message " + std::to_string(i),
                    header_date_of(i), type, encoding) +
            body_of(i);
    m.flags = flags_of(i);
    m.internaldate = date_of(i);
    return m;
}

} // namespace

Corpus provider_corpus(const std::string &address, const std::string &sent_name) {
    Corpus c;
    c.folders = {{{sent_name}, "\\Sent"},
                 {{"Drafts"}, "\\Drafts"},
                 {{"Trash"}, "\\Trash"},
                 {{"Spam"}, "\\Junk"},
                 {{"Archive"}, "\\Archive"},
                 {{"Archive", "2023"}, ""},
                 {{"K&APY-ln"}, ""},                 // "Köln"
                 {{"Projekte", "&AMk-t&AOk-"}, ""}}; // "Projekte/Été"
    int i = 0;
    for (; i < 50; ++i)
        c.messages.push_back(message(address, {}, i));
    const std::vector<std::pair<std::vector<std::string>, int>> spread = {
        {{sent_name}, 12}, {{"Drafts"}, 4},
        {{"Trash"}, 5},    {{"Spam"}, 5},
        {{"Archive"}, 6},  {{"Archive", "2023"}, 10},
        {{"K&APY-ln"}, 5}, {{"Projekte", "&AMk-t&AOk-"}, 3}};
    for (const auto &[folder, n] : spread)
        for (int k = 0; k < n; ++k, ++i) {
            auto m = message(address, folder, i);
            if (folder[0] == "Drafts")
                m.flags += m.flags.empty() ? "\\Draft" : " \\Draft";
            if (folder[0] == "Trash" && k == 0)
                m.flags += m.flags.empty() ? "\\Deleted" : " \\Deleted";
            c.messages.push_back(m);
        }
    // Byte-identical headers, different bodies (a resent message, a list duplicate...).
    const std::string same = headers(address, "twin", "Same headers", header_date_of(3),
                                     "text/plain; charset=utf-8", "7bit");
    c.messages.push_back({{}, same + "The first body.\r\n", "\\Seen", date_of(3)});
    c.messages.push_back({{}, same + "The second, different body.\r\n", "", date_of(4)});
    // 2 MB.
    std::string big = headers(address, "big", "A 2 MB message", header_date_of(9),
                              "text/plain; charset=us-ascii", "7bit");
    const std::string line = std::string(76, 'B') + "\r\n";
    while (big.size() < 2 * 1024 * 1024)
        big += line;
    c.messages.push_back({{}, big, "\\Seen $Label1", date_of(9)});
    return c;
}

std::string server_folder_name(const OldImapServer &server, const std::vector<std::string> &path) {
    if (path.empty())
        return "INBOX";
    std::string name = server.personal_prefix();
    for (std::size_t i = 0; i < path.size(); ++i)
        name += (i ? std::string(1, server.separator()) : "") + path[i];
    return name;
}

void seed_corpus(const OldImapServer &server, const std::string &user, const std::string &password,
                 const Corpus &corpus) {
    ImapClient client("127.0.0.1", server.port(), 60000);
    auto login = client.login(user, password);
    if (!login.ok())
        throw std::runtime_error("seed: login as " + user + " refused: " + login.text);
    for (const auto &f : corpus.folders) {
        std::string cmd = "CREATE " + imap_astring(server_folder_name(server, f.path));
        if (!f.special_use.empty() && server.marks_special_use())
            cmd += " (USE (" + f.special_use + "))";
        auto r = client.command(cmd);
        if (!r.ok())
            throw std::runtime_error("seed: " + cmd + ": " + r.status + " " + r.text);
    }
    for (const auto &m : corpus.messages) {
        const std::string folder = server_folder_name(server, m.folder);
        auto r = client.append(imap_astring(folder), m.flags, m.internaldate, m.raw);
        if (!r.ok())
            throw std::runtime_error("seed: APPEND to " + folder + ": " + r.status + " " + r.text);
    }
    client.logout();
}

} // namespace testsupport
