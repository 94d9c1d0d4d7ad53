// The keyword pass after offlineimap: FETCH replies with literals, and which copies lack which
// keywords.
#include "sync/fetch_parser.hpp"
#include "sync/keyword_pass.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

TEST_CASE("FETCH replies with flags and a Message-ID literal", "[unit]") {
    const std::string text =
        "* 1 FETCH (UID 7 RFC822.SIZE 120 FLAGS (\\Seen $Forwarded NonJunk) "
        "BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\nMessage-ID: <a@x>\r\n\r\n)\r\n"
        "* 2 FETCH (UID 9 FLAGS () BODY[HEADER.FIELDS (MESSAGE-ID)] {2}\r\n\r\n "
        "RFC822.SIZE 55)\r\n"
        "* 3 FETCH (FLAGS (\\Recent $Label1) UID 10 RFC822.SIZE 9 "
        "BODY[HEADER.FIELDS (MESSAGE-ID)] \"message-id:\r\n <folded@x>\")\r\n"
        "* 4 FETCH (FLAGS (\\Deleted))\r\n"
        "* 5 EXISTS\r\n";
    const auto m = parse_fetch_responses(text);
    REQUIRE(m.size() == 3);
    CHECK(m[0].uid == 7);
    CHECK(m[0].size == 120);
    CHECK(m[0].keywords == std::vector<std::string>{"$Forwarded", "NonJunk"});
    CHECK(m[0].message_id == "<a@x>");
    CHECK(m[1].uid == 9);
    CHECK(m[1].size == 55);
    CHECK(m[1].keywords.empty());
    CHECK(m[1].message_id.empty());
    CHECK(m[2].uid == 10);
    CHECK(m[2].keywords == std::vector<std::string>{"$Label1"});
    CHECK(m[2].message_id == "<folded@x>");
}

TEST_CASE("a literal that looks like a FETCH response is not one", "[unit]") {
    const std::string body = "Message-ID: <b@x>\r\n* 9 FETCH (UID 1 RFC822.SIZE 1)\r\n";
    const std::string text = "* 1 FETCH (UID 2 RFC822.SIZE 30 BODY[HEADER.FIELDS (MESSAGE-ID)] {" +
                             std::to_string(body.size()) + "}\r\n" + body + ")\r\n";
    const auto m = parse_fetch_responses(text);
    REQUIRE(m.size() == 1);
    CHECK(m[0].uid == 2);
    CHECK(m[0].message_id == "<b@x>");
}

namespace {

FetchedMessage msg(long long uid, long long size, std::string id,
                   std::vector<std::string> keywords) {
    FetchedMessage m;
    m.uid = uid;
    m.size = size;
    m.keywords = std::move(keywords);
    m.message_id = std::move(id);
    return m;
}

} // namespace

TEST_CASE("keywords the copies lack are planned per folder and keyword set", "[unit]") {
    FolderPlan plan;
    plan.old_namespace = OldNamespace{"INBOX.", '.'};
    const std::vector<FolderListing> old_side = {
        {"INBOX",
         '.',
         1,
         {msg(1, 100, "<a@x>", {"$Forwarded"}), msg(2, 100, "<a@x>", {"$Label1"}),
          msg(3, 50, "<b@x>", {"$Forwarded", "NonJunk"}), msg(4, 60, "", {"$Junk"}),
          msg(5, 70, "<c@x>", {"$Forwarded"}), msg(6, 80, "<d@x>", {"bad(kw"})}},
        {"INBOX.Work.2024", '.', 1, {msg(1, 10, "<w@x>", {"$Label2"})}},
        {"INBOX.Gone", '.', 1, {msg(1, 10, "<g@x>", {"$Label2"})}}};
    const std::vector<FolderListing> new_side = {
        {"INBOX",
         '/',
         1,
         {msg(11, 100, "<a@x>", {}), msg(12, 100, "<a@x>", {"$Label1"}),
          msg(13, 50, "<b@x>", {"NonJunk"}), msg(14, 60, "", {}), msg(15, 70, "<c@x>", {}),
          msg(16, 80, "<d@x>", {})}},
        {"Work/2024", '/', 1, {msg(3, 10, "<w@x>", {})}}};
    const auto stores = plan_keywords(old_side, new_side, plan, SyncConfig{});
    REQUIRE(stores.size() == 2);
    CHECK(stores[0].folder == "INBOX");
    CHECK(stores[0].keywords == std::vector<std::string>{"$Forwarded"});
    // 11 (first <a@x>), 13 (lacks $Forwarded, has NonJunk), 15; 12 has $Label1 already; the
    // message without a Message-ID and the keyword that is not an atom are left alone.
    CHECK(stores[0].uids == std::vector<long long>{11, 13, 15});
    CHECK(stores[1].folder == "Work/2024");
    CHECK(stores[1].keywords == std::vector<std::string>{"$Label2"});
    CHECK(stores[1].uids == std::vector<long long>{3});
}
