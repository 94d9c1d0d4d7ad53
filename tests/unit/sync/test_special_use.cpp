// Special-use folders: the old server's LIST answer mapped onto the new server's folders.
#include "sync/special_use.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

const std::map<std::string, std::string> dovecot_new = {
    {"\\Sent", "Sent"}, {"\\Drafts", "Drafts"}, {"\\Trash", "Trash"}, {"\\Junk", "Junk"}};

std::vector<ListedFolder> folders(const std::vector<std::string> &names) {
    std::vector<ListedFolder> out;
    for (const auto &n : names)
        out.push_back({n, {"\\HasNoChildren"}});
    return out;
}

} // namespace

TEST_CASE("LIST and XLIST replies: names, flags, separators", "[unit]") {
    auto listed = parse_list_reply("* LIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n"
                                   "* LIST (\\Noselect \\HasChildren) \"/\" Archive\r\n"
                                   "* XLIST (\\HasNoChildren \\Spam) \"/\" \"[Gmail]/Spam\"\r\n"
                                   "* LIST () NIL Flat\r\n"
                                   "* LIST (\\Marked) \"/\" {5}\r\n"
                                   "A003 OK done\r\n");
    REQUIRE(listed.size() == 4);
    CHECK(listed[0].name == "INBOX.Sent Items");
    CHECK(listed[0].separator == '.');
    CHECK(listed[1].separator == '/');
    CHECK(listed[3].separator == 0);
    CHECK(listed[0].has_flag("\\sent"));
    CHECK(listed[1].name == "Archive");
    CHECK(listed[1].has_flag("\\Noselect"));
    CHECK(listed[2].name == "[Gmail]/Spam");
    CHECK(listed[3].name == "Flat");
    CHECK(special_folders(parse_list_reply("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
                                           "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n")) ==
          std::map<std::string, std::string>{{"\\Sent", "Sent"}, {"\\Trash", "Trash"}});
}

TEST_CASE("special use: marked old folders land in the new server's folder of that use", "[unit]") {
    auto old = parse_list_reply("* LIST (\\HasNoChildren) \".\" INBOX\r\n"
                                "* LIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n"
                                "* LIST (\\HasNoChildren \\Trash) \".\" \"INBOX.Deleted Items\"\r\n"
                                "* LIST (\\HasNoChildren) \".\" \"INBOX.Gesendet\"\r\n");
    const OldNamespace courier{"INBOX.", '.'};
    // Marks decide when there are any: "Gesendet", unmarked, stays what it is.
    CHECK(special_use_map(old, courier, dovecot_new) ==
          std::map<std::string, std::string>{{"INBOX.Sent Items", "Sent"},
                                             {"INBOX.Deleted Items", "Trash"}});
    // Gmail's XLIST names Junk \Spam.
    auto gmail = parse_list_reply("* XLIST (\\HasNoChildren \\Spam) \"/\" \"[Gmail]/Spam\"\r\n");
    CHECK(special_use_map(gmail, {}, dovecot_new) ==
          std::map<std::string, std::string>{{"[Gmail]/Spam", "Junk"}});
}

TEST_CASE("special use: without marks, the names clients give these folders", "[unit]") {
    CHECK(special_use_map(folders({"INBOX", "Gesendete Objekte", "Papierkorb", "Spam",
                                   "Entw&APw-rfe", "Projects"}),
                          {}, dovecot_new) ==
          std::map<std::string, std::string>{{"Gesendete Objekte", "Sent"},
                                             {"Papierkorb", "Trash"},
                                             {"Spam", "Junk"},
                                             {"Entw&APw-rfe", "Drafts"}});
    // An old folder named like the target lands there; nothing else joins it.
    CHECK(special_use_map(folders({"Sent", "Sent Items"}), {}, dovecot_new).empty());
    // No new folder for the use (no Archive here): nothing moves.
    CHECK(special_use_map(folders({"Archive"}), {}, dovecot_new).empty());
    // One old folder per use, the first one listed.
    CHECK(special_use_map(folders({"Sent Items", "Sent Messages"}), {}, dovecot_new) ==
          std::map<std::string, std::string>{{"Sent Items", "Sent"}});
    // With the old namespace prefix stripped first.
    CHECK(special_use_map(folders({"INBOX.Sent Messages", "INBOX.Trash"}), {"INBOX.", '.'},
                          dovecot_new) ==
          std::map<std::string, std::string>{{"INBOX.Sent Messages", "Sent"}});
}

TEST_CASE("special-use folders from the new server's configuration", "[unit]") {
    const std::string doveconf = "namespace inbox {\n"
                                 "  disabled = no\n"
                                 "  inbox = yes\n"
                                 "  mailbox Drafts {\n"
                                 "    auto = no\n"
                                 "    special_use = \\Drafts\n"
                                 "  }\n"
                                 "  mailbox Sent {\n"
                                 "    special_use = \\Sent\n"
                                 "  }\n"
                                 "  mailbox \"Sent Messages\" {\n"
                                 "    special_use = \\Sent\n"
                                 "  }\n"
                                 "  mailbox \"Deleted Items\" {\n"
                                 "    special_use = \\Trash \\Archive\n"
                                 "  }\n"
                                 "  prefix = INBOX.\n"
                                 "  separator = .\n"
                                 "}\n"
                                 "namespace shared {\n"
                                 "  inbox = no\n"
                                 "  mailbox Junk {\n"
                                 "    special_use = \\Junk\n"
                                 "  }\n"
                                 "  prefix = \n"
                                 "}\n";
    const auto found = special_folders_from_doveconf(doveconf);
    CHECK(found == std::map<std::string, std::string>{{"\\Drafts", "INBOX.Drafts"},
                                                      {"\\Sent", "INBOX.Sent"},
                                                      {"\\Trash", "INBOX.Deleted Items"},
                                                      {"\\Archive", "INBOX.Deleted Items"}});
    CHECK(special_folders_from_doveconf("").empty());
}

TEST_CASE("special use: the old folders of one use, for folder_exclude", "[unit]") {
    auto marked = parse_list_reply("* LIST (\\HasNoChildren) \".\" INBOX\r\n"
                                   "* LIST (\\HasNoChildren \\Junk) \".\" \"INBOX.Spam\"\r\n"
                                   "* LIST (\\HasNoChildren \\Junk) \".\" \"INBOX.Bulk\"\r\n"
                                   "* LIST (\\HasNoChildren) \".\" \"INBOX.Junk\"\r\n"
                                   "* LIST (\\Noselect \\Junk) \".\" \"INBOX.Old\"\r\n");
    const OldNamespace courier{"INBOX.", '.'};
    // Marked: every marked one (not the unmarked "Junk", not a \Noselect one).
    CHECK(old_folders_of_use(marked, courier, "\\Junk") ==
          std::vector<std::string>{"INBOX.Spam", "INBOX.Bulk"});
    CHECK(old_folders_of_use(marked, courier, "\\Trash").empty());
    // Gmail's XLIST names.
    auto gmail =
        parse_list_reply("* XLIST (\\HasNoChildren \\AllMail) \"/\" \"[Gmail]/All Mail\"\r\n"
                         "* XLIST (\\HasNoChildren \\Starred) \"/\" \"[Gmail]/Starred\"\r\n");
    CHECK(old_folders_of_use(gmail, {}, "\\All") == std::vector<std::string>{"[Gmail]/All Mail"});
    CHECK(old_folders_of_use(gmail, {}, "\\Flagged") ==
          std::vector<std::string>{"[Gmail]/Starred"});
    // Unmarked: by name, every one of them, the prefix stripped first; INBOX never.
    CHECK(old_folders_of_use(folders({"INBOX", "INBOX.Spam", "INBOX.Junk E-Mail", "INBOX.Work"}),
                             courier, "\\Junk") ==
          std::vector<std::string>{"INBOX.Spam", "INBOX.Junk E-Mail"});
    CHECK(old_folders_of_use(folders({"Spam"}), {}, "\\All").empty());
}
