#include "mailbox_reader.hpp"

#include "imap_response.hpp"

#include <cctype>
#include <stdexcept>

namespace testsupport {

namespace {

bool is_untagged(const std::vector<ImapValue> &v, const char *what, std::size_t at = 1) {
    if (v.size() <= at || v[0].text != "*")
        return false;
    std::string word = v[at].text;
    for (auto &c : word)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return word == what;
}

ImapClient::Reply checked(ImapClient &client, const std::string &cmd) {
    auto r = client.command(cmd);
    if (!r.ok())
        throw std::runtime_error("IMAP " + cmd.substr(0, cmd.find(' ')) + " failed: " + r.status +
                                 " " + r.text);
    return r;
}

void read_namespace(ImapClient &client, Mailbox &box) {
    for (const auto &line : checked(client, "NAMESPACE").untagged) {
        auto v = parse_imap_line(line);
        if (!is_untagged(v, "NAMESPACE") || v.size() < 3 || !v[2].is_list() || v[2].items.empty() ||
            v[2].items[0].items.size() < 2)
            continue;
        const auto &personal = v[2].items[0].items;
        box.personal_prefix = personal[0].text;
        if (!personal[1].text.empty())
            box.separator = personal[1].text[0];
    }
}

void read_folders(ImapClient &client, Mailbox &box) {
    for (const auto &line : checked(client, "LIST \"\" \"*\"").untagged) {
        auto v = parse_imap_line(line);
        if (!is_untagged(v, "LIST") || v.size() < 5)
            continue;
        MailFolder f;
        f.name = v[4].text;
        for (const auto &a : v[2].items) {
            f.attributes.push_back(a.text);
            std::string upper = a.text;
            for (auto &c : upper)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            if (upper == "\\NOSELECT" || upper == "\\NONEXISTENT")
                f.selectable = false;
        }
        box.folders.push_back(f);
    }
}

void read_messages(ImapClient &client, Mailbox &box, const MailFolder &folder) {
    long exists = 0;
    for (const auto &line : checked(client, "EXAMINE " + imap_astring(folder.name)).untagged) {
        auto v = parse_imap_line(line);
        if (is_untagged(v, "EXISTS", 2))
            exists = std::stol(v[1].text);
    }
    if (exists == 0)
        return;
    for (const auto &line :
         checked(client, "FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])").untagged) {
        auto v = parse_imap_line(line);
        if (!is_untagged(v, "FETCH", 2) || v.size() < 4 || !v[3].is_list())
            continue;
        const auto &items = v[3].items;
        const ImapValue *flags = fetch_item(items, "FLAGS");
        const ImapValue *date = fetch_item(items, "INTERNALDATE");
        const ImapValue *body = fetch_item(items, "BODY[]");
        if (flags == nullptr || date == nullptr || body == nullptr)
            throw std::runtime_error("FETCH answer without FLAGS, INTERNALDATE or BODY[] in " +
                                     folder.name);
        MailMessage m;
        m.folder = folder.name;
        m.raw = body->text;
        m.internaldate = date->text;
        for (const auto &f : flags->items)
            m.flags.insert(f.text);
        box.messages.push_back(std::move(m));
    }
}

} // namespace

Mailbox read_mailbox(ImapClient &client) {
    Mailbox box;
    read_namespace(client, box);
    read_folders(client, box);
    for (const auto &f : box.folders)
        if (f.selectable)
            read_messages(client, box, f);
    return box;
}

Mailbox read_mailbox(const std::string &host, int port, const std::string &user,
                     const std::string &password) {
    ImapClient client(host, port, 60000);
    auto r = client.login(user, password);
    if (!r.ok())
        throw std::runtime_error("IMAP login as " + user + " failed: " + r.status + " " + r.text);
    Mailbox box = read_mailbox(client);
    client.logout();
    return box;
}

} // namespace testsupport
