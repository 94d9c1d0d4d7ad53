// Verification after a sync: which old messages have no counterpart in the folder the engine
// meant for them.
#include "sync/verification.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

// Old messages get UIDs 1, 2, ... in the order of their sizes.
FolderListing folder(std::string name, char sep, std::vector<long long> sizes,
                     long long uidvalidity = 7) {
    FolderListing f{std::move(name), sep, uidvalidity, {}};
    long long uid = 0;
    for (long long size : sizes) {
        f.messages.emplace_back();
        f.messages.back().uid = ++uid;
        f.messages.back().size = size;
    }
    return f;
}

} // namespace

TEST_CASE("FETCH and EXAMINE answers", "[unit]") {
    const auto messages = parse_fetch_messages("* 1 FETCH (UID 4 RFC822.SIZE 120)\r\n"
                                               "* 2 FETCH (RFC822.SIZE 4500 UID 9)\r\n"
                                               "* 3 EXPUNGE\r\n"
                                               "* 3 fetch (FLAGS (\\Seen) RFC822.SIZE 9)\r\n"
                                               "A5 OK done\r\n");
    REQUIRE(messages.size() == 3);
    CHECK(messages[0].uid == 4);
    CHECK(messages[0].size == 120);
    CHECK(messages[1].uid == 9);
    CHECK(messages[1].size == 4500);
    CHECK(messages[2].uid == 0);
    CHECK(messages[2].size == 9);
    const char *examine = "* FLAGS (\\Seen)\r\n* 12 EXISTS\r\n* 0 RECENT\r\n"
                          "* OK [UIDVALIDITY 1733480000] UIDs valid\r\n";
    CHECK(parse_exists(examine) == 12);
    CHECK(parse_uidvalidity(examine) == 1733480000);
    CHECK(parse_exists("* 12 EXISTS\r\n* 13 EXISTS\r\n") == 13);
    CHECK(parse_exists("* OK [UIDVALIDITY 1]\r\n") == 0);
    CHECK(parse_uidvalidity("* 3 EXISTS\r\n") == 0);
}

TEST_CASE("folder names are quoted for IMAP or refused", "[unit]") {
    CHECK(imap_quoted("Sent Items") == "\"Sent Items\"");
    CHECK(imap_quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(imap_quoted("Entw&APw-rfe") == "\"Entw&APw-rfe\"");
    CHECK_FALSE(imap_quoted("bad\r\nA1 DELETE INBOX").has_value());
    CHECK_FALSE(imap_quoted("Gel\xc3\xb6scht").has_value());
}

TEST_CASE("old folder names become the new ones as the engines name them", "[unit]") {
    FolderPlan plan;
    plan.old_namespace = OldNamespace{"INBOX.", '.'};
    plan.renames = {{"INBOX.Gesendet", "Sent"}};
    CHECK(new_folder_name("INBOX", '.', '/', plan) == "INBOX");
    CHECK(new_folder_name("inbox", '.', '/', plan) == "INBOX");
    CHECK(new_folder_name("INBOX.Gesendet", '.', '/', plan) == "Sent");
    CHECK(new_folder_name("INBOX.Work.2024", '.', '/', plan) == "Work/2024");
    CHECK(new_folder_name("INBOX.Work.2024", '.', '.', plan) == "Work.2024");
    CHECK(new_folder_name("Shared", '.', 0, plan) == "Shared");
}

TEST_CASE("a complete copy verifies, whatever else the new side holds", "[unit]") {
    const std::vector<FolderListing> old_side = {folder("INBOX", '/', {100, 200, 200}),
                                                 folder("Work/2024", '/', {5})};
    const std::vector<FolderListing> new_side = {folder("INBOX", '.', {200, 100, 200, 999}),
                                                 folder("Work.2024", '.', {5}),
                                                 folder("Sent", '.', {})};
    const Verification v = compare_folders(old_side, new_side, FolderPlan{}, SyncConfig{}, {});
    REQUIRE(v.folders.size() == 2);
    CHECK(v.complete());
    CHECK(v.summary().empty());
    CHECK(v.folders[0].old_messages == 3);
    CHECK(v.folders[0].new_messages == 4);
    CHECK(v.folders[0].uidvalidity == 7);
    CHECK(v.folders[0].verified_uid == 3);
    CHECK(v.folders[1].new_name == "Work.2024");
}

TEST_CASE("missing, replaced and misplaced messages are found", "[unit]") {
    FolderPlan plan;
    plan.old_namespace = OldNamespace{"INBOX.", '.'};
    plan.renames = {{"INBOX.Sent Items", "Sent"}};
    const std::vector<FolderListing> old_side = {
        folder("INBOX", '.', {100, 200, 200}),   // one of the two 200s is gone
        folder("INBOX.Sent Items", '.', {7, 8}), // landed beside Sent instead of in it
        folder("INBOX.Drafts", '.', {1}),        // not on the new server at all
        folder("INBOX.Same", '.', {50})};        // replaced by another message of another size
    const std::vector<FolderListing> new_side = {
        folder("INBOX", '/', {100, 200}), folder("Sent", '/', {}),
        folder("Sent Items", '/', {7, 8}), folder("Same", '/', {51})};
    const Verification v = compare_folders(old_side, new_side, plan, SyncConfig{}, {});
    REQUIRE(v.folders.size() == 4);
    CHECK(v.folders[0].missing == 1);
    CHECK(v.folders[0].verified_uid == 2); // UIDs 1 and 2 are there, 3 is not
    CHECK(v.folders[1].new_name == "Sent");
    CHECK(v.folders[1].missing == 2);
    CHECK(v.folders[1].verified_uid == 0);
    CHECK(v.folders[2].new_messages == -1);
    CHECK(v.folders[2].missing == 1);
    CHECK(v.folders[3].missing == 1);
    CHECK_FALSE(v.complete());
    CHECK(v.missing() == 5);
    CHECK(v.differing() ==
          std::vector<std::string>{"INBOX", "INBOX.Sent Items", "INBOX.Drafts", "INBOX.Same"});
    CHECK(v.summary() == "INBOX (1 of 3 missing in INBOX), INBOX.Sent Items (2 of 2 missing in "
                         "Sent), INBOX.Drafts (not on the new server, 1 message(s)), INBOX.Same "
                         "(1 of 1 missing in Same)");
}

TEST_CASE("two old folders landing in one new folder cannot share its messages", "[unit]") {
    const std::vector<FolderListing> old_side = {folder("A.B", '.', {10, 20}),
                                                 folder("A/B", '/', {10})};
    const std::vector<FolderListing> new_side = {folder("A/B", '/', {10, 20})};
    const Verification v = compare_folders(old_side, new_side, FolderPlan{}, SyncConfig{}, {});
    REQUIRE(v.folders.size() == 2);
    CHECK(v.folders[0].missing == 0);
    CHECK(v.folders[1].missing == 1);
}

TEST_CASE("what was verified once stays verified; new old mail is checked", "[unit]") {
    // The first run saw all three; then the user deleted two in the new mailbox, and a fourth
    // message arrived at the old server.
    const std::vector<VerifiedMark> marks = {{"INBOX", 7, 3, "INBOX"}};
    std::vector<FolderListing> old_side = {folder("INBOX", '/', {100, 200, 300, 400})};
    Verification v = compare_folders(old_side, {folder("INBOX", '/', {300, 400})}, FolderPlan{},
                                     SyncConfig{}, marks);
    REQUIRE(v.folders.size() == 1);
    CHECK(v.complete());
    CHECK(v.folders[0].verified_uid == 4);
    // The fourth did not arrive.
    v = compare_folders(old_side, {folder("INBOX", '/', {300})}, FolderPlan{}, SyncConfig{}, marks);
    CHECK(v.folders[0].missing == 1);
    CHECK(v.folders[0].verified_uid == 3);
    // A new UIDVALIDITY at the old server: every message is checked again.
    old_side[0].uidvalidity = 8;
    v = compare_folders(old_side, {folder("INBOX", '/', {300, 400})}, FolderPlan{}, SyncConfig{},
                        marks);
    CHECK(v.folders[0].missing == 2);
    CHECK(v.folders[0].uidvalidity == 8);
    CHECK(v.folders[0].verified_uid == 0);
}

TEST_CASE("excluded folders are not checked", "[unit]") {
    SyncConfig sync;
    sync.folder_exclude = "^Trash$";
    const std::vector<FolderListing> old_side = {folder("INBOX", '/', {1}),
                                                 folder("Trash", '/', {2, 3})};
    const std::vector<FolderListing> new_side = {folder("INBOX", '/', {1})};
    Verification v = compare_folders(old_side, new_side, FolderPlan{}, sync, {});
    REQUIRE(v.folders.size() == 1);
    CHECK(v.complete());
    sync.folder_exclude.clear();
    sync.folder_include = {"Trash"};
    v = compare_folders(old_side, new_side, FolderPlan{}, sync, {});
    REQUIRE(v.folders.size() == 1);
    CHECK(v.folders[0].old_name == "Trash");
    CHECK(v.folders[0].missing == 2);
}

TEST_CASE("folders left out for their special use are not checked", "[unit]") {
    const std::vector<FolderListing> old_side = {folder("INBOX", '/', {1}),
                                                 folder("Spam", '/', {2, 3})};
    const std::vector<FolderListing> new_side = {folder("INBOX", '/', {1})};
    FolderPlan plan;
    plan.excluded = {"Spam"};
    Verification v = compare_folders(old_side, new_side, plan, SyncConfig{}, {});
    REQUIRE(v.folders.size() == 1);
    CHECK(v.folders[0].old_name == "INBOX");
    CHECK(v.complete());
    v = compare_folders(old_side, new_side, FolderPlan{}, SyncConfig{}, {});
    CHECK(v.missing() == 2);
}
