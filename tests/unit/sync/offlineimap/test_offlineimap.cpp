// offlineimap's machine UI and the configuration we generate for it.
#include "config/folder_pattern.hpp"
#include "sync/mailbox_size.hpp"
#include "sync/offlineimap/offlineimap_config.hpp"
#include "sync/offlineimap/offlineimap_ui.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

// Recorded from offlineimap 8.0.0 (Debian's offlineimap3) syncing a small mailbox.
const char *const good_run[] = {
    "OfflineIMAP 8.0.0",
    "msg:protocol:MainThread:7.2.0",
    "msg:acct:Account+sync+migration7:migration7",
    "msg:connecting:Account+sync+migration7:127.0.0.1%0A40353%0Amigration7-old",
    "msg:connecting:Account+sync+migration7:127.0.0.1%0A56197%0Amigration7-new",
    "msg::Account+sync+migration7:Creating+folder+Archive.2023%5Bmigration7-new%5D",
    "msg:syncingfolder:Folder+Archive.2023+%5Bacc%3A+migration7%5D:IMAP%0AArchive.2023%"
    "0AMappedIMAP%0AArchive.2023%0A",
    "msg:messagelistloaded:Folder+Archive.2023+%5Bacc%3A+migration7%5D:IMAP%0AArchive.2023%0A1",
    "msg:copyingmessage:Folder+Archive.2023+%5Bacc%3A+migration7%5D:1%0AIMAP%0AArchive.2023%"
    "0AMappedIMAP%5BArchive.2023%5D",
    "msg:threadExited:MainThread:Folder+Archive.2023+%5Bacc%3A+migration7%5D",
    "msg:syncingfolder:Folder+INBOX+%5Bacc%3A+migration7%5D:IMAP%0AINBOX%0AMappedIMAP%0AINBOX%0A",
    "msg:messagelistloaded:Folder+INBOX+%5Bacc%3A+migration7%5D:IMAP%0AINBOX%0A5",
    "msg:copyingmessage:Folder+INBOX+%5Bacc%3A+migration7%5D:1%0AIMAP%0AINBOX%0AMappedIMAP%5BINBOX%"
    "5D",
    "msg:copyingmessage:Folder+INBOX+%5Bacc%3A+migration7%5D:2%0AIMAP%0AINBOX%0AMappedIMAP%5BINBOX%"
    "5D",
    "msg:threadExited:MainThread:Copy+message+from+migration7-old%3AINBOX",
    "msg:threadExited:MainThread:Folder+INBOX+%5Bacc%3A+migration7%5D",
    "msg:acctdone:Account+sync+migration7:migration7",
    "msg:terminate:MainThread:0%0A%0A",
};

const char *const rejected_run[] = {
    "msg:connecting:Account+sync+migration7:127.0.0.1%0A40353%0Amigration7-old",
    "warn::Account+sync+migration7:LOGIN+authentication+failed%3A+b%27%5BAUTHENTICATIONFAILED%5D+"
    "Authentication+failed.%27",
    "error::Account+sync+migration7:ERROR%3A+All+authentication+types+failed%3A%0A%09LOGIN%3A+b%27%"
    "5BAUTHENTICATIONFAILED%5D+Authentication+failed.%27",
    "msg:acctdone:Account+sync+migration7:migration7",
    "msg:terminate:MainThread:0%0A%0A",
};

} // namespace

TEST_CASE("machine UI: progress of a successful run", "[unit]") {
    MachineUiParser p("migration7-old");
    for (const char *line : good_run)
        p.feed(line);
    CHECK(p.succeeded());
    CHECK(p.errors().empty());
    CHECK(p.progress().folders_seen == 2);
    CHECK(p.progress().folders_done == 2);
    CHECK(p.progress().messages_total == 6);
    CHECK(p.progress().messages_copied == 3);
}

TEST_CASE("machine UI: exit code 0 but the old login was rejected", "[unit]") {
    MachineUiParser p("migration7-old");
    for (const char *line : rejected_run)
        p.feed(line);
    CHECK(p.terminated());
    CHECK_FALSE(p.succeeded());
    CHECK(p.old_login_rejected());
    REQUIRE(p.errors().size() == 1);
    CHECK(p.errors()[0].find("All authentication types failed") != std::string::npos);
}

TEST_CASE("machine UI: a rejected login on the new side is not the old password's fault",
          "[unit]") {
    MachineUiParser p("migration7-old");
    p.feed("msg:connecting:Account+sync+migration7:127.0.0.1%0A143%0Amigration7-new");
    p.feed("error::Account+sync+migration7:ERROR%3A+All+authentication+types+failed%3A%0A%09PLAIN%"
           "3A+b%27%5BAUTHENTICATIONFAILED%5D%27");
    CHECK_FALSE(p.old_login_rejected());
    CHECK(p.errors().size() == 1);
}

TEST_CASE("machine UI: sync state locked by an earlier run", "[unit]") {
    MachineUiParser p("migration7-old");
    p.feed("error::MainThread:ERROR%3A+Could+not+lock+account+migration7.+Is+another+instance+"
           "using+this+account%3F");
    p.feed("msg:terminate:MainThread:0%0A%0A");
    CHECK(p.account_locked());
    CHECK_FALSE(p.succeeded());
    CHECK_FALSE(p.old_login_rejected());
}

TEST_CASE("machine UI: a run that never terminated is not a success", "[unit]") {
    MachineUiParser p("migration7-old");
    for (size_t i = 0; i + 1 < std::size(good_run); ++i)
        p.feed(good_run[i]);
    CHECK_FALSE(p.succeeded());
    CHECK(url_decode("a+b%3A%zz%4") == "a b:%zz%4");
}

TEST_CASE("generated offlineimap configuration", "[unit]") {
    Config c;
    c.local_imap = LocalImapConfig{"127.0.0.1", 1143, "imap-migrator", "/etc/m.pass"};
    ProviderConfig p;
    p.name = "oldmail";
    p.host = "imap.old.example";
    p.port = 143;
    p.security = TlsMode::starttls;
    p.ca_file = "/etc/ssl/old-ca.pem";
    OfflineImapAccount a{7, &p, "bob@old.example", "bob@new.example"};
    std::string rc = render_offlineimap_rc(c, {a}, "/run/x/helpers.py", "/var/lib/x/metadata");
    CHECK(rc.find("accounts = migration7\n") != std::string::npos);
    CHECK(rc.find("remoteuser = bob@old.example\n") != std::string::npos);
    CHECK(rc.find("remoteuser = bob@new.example*imap-migrator\n") != std::string::npos);
    CHECK(rc.find("starttls = yes\n") != std::string::npos);
    CHECK(rc.find("sslcacertfile = /etc/ssl/old-ca.pem\n") != std::string::npos);
    CHECK(rc.find("readonly = True\n") != std::string::npos); // one-way by default
    CHECK(rc.find("remotepasseval = get_pass(\"migration7-old\")") != std::string::npos);
    CHECK(rc.find("remotepass ") == std::string::npos); // never a password in the file
    CHECK(rc.find("auth_mechanisms = LOGIN\n") != std::string::npos);
    // offlineimap's LOGIN cannot send a password beyond ASCII; its PLAIN sends UTF-8.
    OfflineImapAccount utf8 = a;
    utf8.old_password_ascii = false;
    const std::string rc8 =
        render_offlineimap_rc(c, {utf8}, "/run/x/helpers.py", "/var/lib/x/metadata");
    CHECK(rc8.find("auth_mechanisms = PLAIN\n") != std::string::npos);
    CHECK(rc8.find("auth_mechanisms = LOGIN") == std::string::npos);

    c.sync.direction = SyncDirection::both;
    c.sync.create_folders = false;
    rc = render_offlineimap_rc(c, {a}, "/run/x/helpers.py", "/var/lib/x/metadata");
    CHECK(rc.find("readonly = True") == std::string::npos);
    CHECK(rc.find("createfolders = False\n") != std::string::npos);

    c.sync.folder_exclude = "^(Junk|Spam)$";
    c.sync.folder_include = {"INBOX", "Sent \"Items\""};
    const std::string py =
        offlineimap_helper_python(c.sync, "/usr/sbin/imap-migrator", "/etc/c.yaml");
    // folder_exclude runs as a linear-time program, never through Python's backtracking re.
    CHECK(py.find("EXCLUDE = " + FolderPattern::compile("^(Junk|Spam)$").value().program_json()) !=
          std::string::npos);
    CHECK(py.find("folder_pattern_search(EXCLUDE, name)") != std::string::npos);
    CHECK(py.find("INCLUDE = [\"INBOX\", \"Sent \\\"Items\\\"\"]") != std::string::npos);

    auto doc = offlineimap_secret_document({{"migration7-old", SecretString("p\"w\\1")}});
    CHECK(doc.reveal() == "{\"passwords\": {\"migration7-old\": \"p\\\"w\\\\1\"}}");
}

TEST_CASE("mailbox size: LIST and STATUS (SIZE) replies", "[unit]") {
    const std::string list = "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
                             "* LIST (\\Noselect \\HasChildren) \"/\" \"Archive\"\r\n"
                             "* LIST (\\HasNoChildren) \"/\" \"Archive/2023\"\r\n"
                             "* LIST (\\HasNoChildren) \"/\" \"Sent Items\"\r\n"
                             "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n"
                             "* LIST (\\HasNoChildren) \"/\" \"say \\\"hi\\\"\"\r\n";
    CHECK(parse_list_names(list) == std::vector<std::string>{"INBOX", "Archive/2023", "Sent Items",
                                                             "Entw&APw-rfe", "say \"hi\""});
    CHECK(parse_status_size("* STATUS \"Sent Items\" (SIZE 123456)\r\n") == 123456);
    CHECK(parse_status_size("* STATUS INBOX (MESSAGES 2)\r\n") == 0);
}
