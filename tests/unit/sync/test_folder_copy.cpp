// The folder copy pass (folders dsync cannot rename): which old messages it copies, and the
// APPEND it sends for one.
#include "sync/dsync/dsync_config.hpp"
#include "sync/folder_copy.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

ListedMessage msg(long long uid, long long size, std::string id) {
    ListedMessage m;
    m.uid = uid;
    m.size = size;
    m.message_id = std::move(id);
    return m;
}

} // namespace

TEST_CASE("copy pass: messages already in the target are not copied again", "[unit]") {
    FolderListing sent{"INBOX.Sent Items",
                       '.',
                       9,
                       {msg(1, 100, "<a@x>"), msg(2, 200, "<b@x>"), msg(3, 300, "<c@x>")}};
    SECTION("an empty target takes all, in UID order") {
        CopyPool pool;
        CHECK(uids_to_copy(sent, pool, {}) == std::vector<long long>{1, 2, 3});
    }
    SECTION("a run killed half-way: the copies it made are found by Message-ID and size") {
        CopyPool pool = copy_pool({msg(50, 100, "<a@x>"), msg(51, 200, "<b@x>")});
        CHECK(uids_to_copy(sent, pool, {}) == std::vector<long long>{3});
        CHECK(pool.empty());
    }
    SECTION("a message with the same Message-ID but another size is another message") {
        CopyPool pool = copy_pool({msg(50, 101, "<a@x>")});
        CHECK(uids_to_copy(sent, pool, {}) == std::vector<long long>{1, 2, 3});
    }
    SECTION("verified earlier: what the user deleted in the new mailbox stays deleted") {
        CopyPool pool; // the user deleted everything
        CHECK(uids_to_copy(sent, pool, {{"INBOX.Sent Items", 9, 2, "Sent"}}) ==
              std::vector<long long>{3});
        // The marks of another folder or UIDVALIDITY do not count.
        CHECK(uids_to_copy(sent, pool, {{"INBOX.Sent Items", 8, 3, "Sent"}}).size() == 3);
        CHECK(uids_to_copy(sent, pool, {{"INBOX.Drafts", 9, 3, "Drafts"}}).size() == 3);
    }
}

TEST_CASE("copy pass: alike old messages need as many copies", "[unit]") {
    // Two messages with the same Message-ID and size (a resent duplicate) and one copy: one
    // more is copied. Without Message-IDs, size alone pairs them.
    FolderListing f{"Sent",
                    '/',
                    1,
                    {msg(1, 100, "<a@x>"), msg(2, 100, "<a@x>"), msg(3, 70, ""), msg(4, 70, "")}};
    CopyPool pool = copy_pool({msg(9, 100, "<a@x>"), msg(10, 70, "")});
    CHECK(uids_to_copy(f, pool, {}) == std::vector<long long>{2, 4});
    // Two old folders going to one new folder cannot both count one copy.
    FolderListing other{"Gesendet", '/', 1, {msg(1, 100, "<a@x>")}};
    CopyPool shared = copy_pool({msg(9, 100, "<a@x>")});
    CHECK(uids_to_copy(f, shared, {}).size() == 3);
    CHECK(uids_to_copy(other, shared, {}) == std::vector<long long>{1});
}

TEST_CASE("copy pass: APPEND carries flags, keywords, the internal date and the text", "[unit]") {
    const std::string reply = "* 3 FETCH (UID 17 RFC822.SIZE 11 FLAGS (\\Seen \\Recent $Forwarded "
                              "\\Flagged) INTERNALDATE \"01-Feb-2024 09:30:00 +0100\" "
                              "BODY[] {11}\r\nSubject: x\n)\r\n";
    auto messages = parse_fetch_responses(reply);
    REQUIRE(messages.size() == 1);
    const auto &m = messages[0];
    CHECK(m.uid == 17);
    CHECK(m.system_flags == std::vector<std::string>{"\\Seen", "\\Flagged"});
    CHECK(m.keywords == std::vector<std::string>{"$Forwarded"});
    CHECK(m.internal_date == "01-Feb-2024 09:30:00 +0100");
    REQUIRE(m.body.has_value());
    CHECK(*m.body == "Subject: x\n");
    CHECK(append_command("\"Sent\"", m) ==
          "APPEND \"Sent\" (\\Seen \\Flagged $Forwarded) \"01-Feb-2024 09:30:00 +0100\" "
          "{11+}\r\nSubject: x\n");
    ListedMessage bare;
    bare.body = "";
    CHECK(append_command("\"Sent\"", bare) == "APPEND \"Sent\" () {0+}\r\n");
}

TEST_CASE("dsync leaves the renamed folders out, named as it names them", "[unit]") {
    FolderPlan plan;
    plan.old_namespace = OldNamespace{"INBOX.", '.'};
    plan.new_separator = '/';
    plan.renames = {{"INBOX.Sent Items", "Sent"},
                    {"INBOX.Entw&APw-rfe", "Drafts"},
                    {"INBOX.Alt.Gesendet", "Sent"}};
    auto excluded = renamed_folder_exclusions(plan);
    std::sort(excluded.begin(), excluded.end());
    CHECK(excluded == std::vector<std::string>{"Alt/Gesendet", "Entw\xc3\xbcrfe", "Sent Items"});
    plan.renames.clear();
    CHECK(renamed_folder_exclusions(plan).empty());
}

TEST_CASE("folder plan: a folder keeps going where earlier runs put it", "[unit]") {
    auto listed = [](std::string name) {
        ListedFolder f;
        f.name = std::move(name);
        f.separator = '.';
        return f;
    };
    const std::vector<ListedFolder> old_folders = {listed("INBOX"), listed("INBOX.Sent Items"),
                                                   listed("INBOX.Work")};
    auto fresh_plan = [] {
        FolderPlan plan;
        plan.old_namespace = OldNamespace{"INBOX.", '.'};
        plan.new_separator = '/';
        plan.renames = {{"INBOX.Sent Items", "Sent"}};
        return plan;
    };
    SECTION("a new migration: the special-use mapping holds") {
        FolderPlan plan = fresh_plan();
        keep_earlier_destinations(plan, old_folders, {"INBOX"}, {});
        CHECK(plan.renames == std::map<std::string, std::string>{{"INBOX.Sent Items", "Sent"}});
    }
    SECTION("begun before the mapping: the folder already arrived under its own name") {
        FolderPlan plan = fresh_plan();
        keep_earlier_destinations(plan, old_folders, {"INBOX", "Sent Items", "Work"}, {});
        CHECK(plan.renames.empty());
    }
    SECTION("the recorded destination wins, also over a folder the user made since") {
        FolderPlan plan = fresh_plan();
        keep_earlier_destinations(plan, old_folders, {"INBOX", "Sent", "Sent Items"},
                                  {{"INBOX.Sent Items", 5, 40, "Sent"}});
        CHECK(plan.renames == std::map<std::string, std::string>{{"INBOX.Sent Items", "Sent"}});
        plan = fresh_plan();
        keep_earlier_destinations(
            plan, old_folders, {"INBOX"},
            {{"INBOX.Sent Items", 5, 40, "Sent Items"}, {"INBOX.Work", 5, 3, "INBOX/Work"}});
        CHECK(plan.renames == std::map<std::string, std::string>{{"INBOX.Work", "INBOX/Work"}});
    }
}

namespace {

std::vector<ListedFolder> courier_folders(const std::vector<std::string> &names) {
    std::vector<ListedFolder> out;
    for (const auto &n : names) {
        ListedFolder f;
        f.name = n;
        f.separator = '.';
        out.push_back(f);
    }
    return out;
}

FolderPlan courier_plan(const std::vector<std::string> &names) {
    FolderPlan plan;
    plan.old_namespace = OldNamespace{"INBOX.", '.'};
    plan.new_separator = '/';
    plan.old_folders = courier_folders(names);
    return plan;
}

FolderMapEntry by_name(std::string old_name, std::string new_name) {
    return {std::move(old_name), "", std::move(new_name)};
}

FolderMapEntry by_pattern(std::string pattern, std::string new_name) {
    return {"", std::move(pattern), std::move(new_name)};
}

} // namespace

TEST_CASE("folder_map: names (subfolders follow), patterns, first match wins", "[unit]") {
    FolderPlan plan =
        courier_plan({"INBOX", "INBOX.Gesendete Objekte", "INBOX.Archiv", "INBOX.Archiv.2023",
                      "INBOX.Spam", "INBOX.Werbung", "INBOX.Gel&APY-scht", "INBOX.Work"});
    plan.renames = {{"INBOX.Gesendete Objekte", "Sent"}, {"INBOX.Spam", "Junk"}};
    apply_folder_map(plan, {by_name("INBOX.Gesendete Objekte", "Sent/Old"), // full old name
                            by_name("Archiv", "Archive"),                   // as it arrives
                            by_pattern("^(Spam|Werbung)$", "M\xc3\xbcll"),  // "Müll": a merge
                            by_name("Gel\xc3\xb6scht", "Trash"),            // UTF-8 name
                            by_pattern("^Work$", "Work")});                 // where it goes anyway
    CHECK(plan.renames ==
          std::map<std::string, std::string>{{"INBOX.Gesendete Objekte", "Sent/Old"},
                                             {"INBOX.Archiv", "Archive"},
                                             {"INBOX.Archiv.2023", "Archive/2023"},
                                             {"INBOX.Spam", "M&APw-ll"},
                                             {"INBOX.Werbung", "M&APw-ll"},
                                             {"INBOX.Gel&APY-scht", "Trash"}});
    // Two old folders in one new folder: one stays with offlineimap, the other is copied.
    CHECK(merged_folders(plan) == std::vector<std::string>{"INBOX.Werbung"});
}

TEST_CASE("folder_map: a merge into a folder another old folder arrives in", "[unit]") {
    FolderPlan plan = courier_plan({"INBOX", "INBOX.Sent", "INBOX.Sent Items", "INBOX.Trash"});
    apply_folder_map(plan, {by_name("Sent Items", "Sent")});
    CHECK(plan.renames == std::map<std::string, std::string>{{"INBOX.Sent Items", "Sent"}});
    // "INBOX.Sent" arrives as Sent by its name and stays with the engine.
    CHECK(merged_folders(plan) == std::vector<std::string>{"INBOX.Sent Items"});
    plan.excluded = {"INBOX.Sent"};
    CHECK(merged_folders(plan).empty());
    // INBOX never moves, whatever a pattern matches.
    FolderPlan inbox = courier_plan({"INBOX", "INBOX.Drafts"});
    apply_folder_map(inbox, {by_pattern(".*", "All")});
    CHECK(inbox.renames == std::map<std::string, std::string>{{"INBOX.Drafts", "All"}});
}
