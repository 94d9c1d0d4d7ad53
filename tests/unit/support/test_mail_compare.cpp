// The exactness checker of the provider tests (tests/support/mail_compare.*) and the IMAP
// answer parser it reads mailboxes with: their logic, without servers.
#include "../../support/imap_response.hpp"
#include "../../support/mail_compare.hpp"

#include "catch_compat.hpp"

using namespace testsupport;
#ifdef IMAPMIG_CATCH_V3
using Catch::Approx; // v2 has it in the global namespace too
#endif

namespace {

MailMessage msg(const std::string &folder, const std::string &id, const std::string &body,
                std::set<std::string> flags = {},
                const std::string &date = "01-Jan-2020 10:00:00 +0100") {
    return {folder, "From: a@example.org\r\nSubject: s\r\nMessage-ID: <" + id + ">\r\n\r\n" + body,
            std::move(flags), date};
}

Mailbox old_under_inbox() {
    Mailbox b;
    b.personal_prefix = "INBOX.";
    b.separator = '.';
    b.folders = {{"INBOX", {}}, {"INBOX.Sent", {}}, {"INBOX.Archive.2023", {}}};
    return b;
}

Mailbox fresh_slash() {
    Mailbox b;
    b.separator = '/';
    b.folders = {{"INBOX", {}}, {"Sent", {"\\Sent"}}, {"Archive/2023", {}}};
    return b;
}

} // namespace

TEST_CASE("imap_response: FETCH with a literal body, flags and a bracketed item", "[unit]") {
    auto v = parse_imap_line("* 3 FETCH (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "
                             "\"01-Jan-2020 09:00:00 +0000\" BODY[] {7}\r\nab)\r\n(c)");
    REQUIRE(v.size() == 4);
    CHECK(v[1].text == "3");
    const auto *body = fetch_item(v[3].items, "body[]");
    REQUIRE(body != nullptr);
    CHECK(body->text == "ab)\r\n(c");
    const auto *flags = fetch_item(v[3].items, "FLAGS");
    REQUIRE(flags != nullptr);
    REQUIRE(flags->items.size() == 2);
    CHECK(flags->items[1].text == "$Forwarded");
    CHECK(fetch_item(v[3].items, "INTERNALDATE")->text == "01-Jan-2020 09:00:00 +0000");
}

TEST_CASE("imap_response: LIST, NAMESPACE with NIL, quoted escapes", "[unit]") {
    auto list = parse_imap_line("* LIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent \\\"x\\\"\"");
    REQUIRE(list.size() == 5);
    CHECK(list[2].items.at(1).text == "\\Sent");
    CHECK(list[4].text == "INBOX.Sent \"x\"");
    auto ns = parse_imap_line("* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\"))");
    REQUIRE(ns.size() == 5);
    CHECK(ns[2].items.at(0).items.at(0).text == "INBOX.");
    CHECK(ns[3].kind == ImapValue::Kind::nil);
    CHECK_THROWS(parse_imap_line("* LIST (\\Noselect"));
}

TEST_CASE("mail_compare: INTERNALDATE compares instants, not spellings", "[unit]") {
    CHECK(parse_internaldate("01-Jan-2020 10:00:00 +0100") ==
          parse_internaldate(" 1-Jan-2020 09:00:00 +0000"));
    CHECK(parse_internaldate("01-Jan-2020 10:00:00 -0530") ==
          parse_internaldate("01-Jan-2020 15:30:00 +0000"));
    CHECK(parse_internaldate("garbage") == -1);
}

TEST_CASE("mail_compare: the folder a user expects", "[unit]") {
    const auto old = old_under_inbox();
    const std::map<std::string, std::string> none;
    CHECK(expected_folder(old, {"INBOX", {}}, '/', none) == "INBOX");
    CHECK(expected_folder(old, {"INBOX.Archive.2023", {}}, '/', none) == "Archive/2023");
    // Nothing marked at the old server: the well-known name makes it the \Sent folder.
    CHECK(special_use_of(old, {"INBOX.Sent", {}}) == "\\Sent");
    CHECK(expected_folder(old, {"INBOX.Sent", {}}, '/', {{"\\Sent", "Sent Messages"}}) ==
          "Sent Messages");
    CHECK(special_use_of(old, {"INBOX.Archive.2023", {}}).empty());

    // A server that marks: its marks count, names do not.
    Mailbox cyrus;
    cyrus.separator = '/';
    cyrus.folders = {{"Gesendet", {"\\Sent"}}, {"Sent", {}}};
    CHECK(special_use_of(cyrus, cyrus.folders[0]) == "\\Sent");
    CHECK(special_use_of(cyrus, cyrus.folders[1]).empty());
    CHECK(expected_folder(cyrus, cyrus.folders[0], '.', {{"\\Sent", "Sent"}}) == "Sent");
    CHECK(expected_folder(cyrus, cyrus.folders[1], '.', {}) == "Sent");
    CHECK(special_use_targets(fresh_slash()) ==
          std::map<std::string, std::string>{{"\\Sent", "Sent"}});
}

TEST_CASE("mail_compare: exact, missing, duplicated, misplaced and differing messages", "[unit]") {
    Mailbox old = old_under_inbox();
    old.messages = {
        msg("INBOX", "1", "one", {"\\Seen", "$Forwarded"}),  msg("INBOX", "2", "two"),
        msg("INBOX.Sent", "3", "three", {"\\Seen"}),         msg("INBOX.Archive.2023", "4", "four"),
        msg("INBOX", "5", "five", {"\\Flagged", "NonJunk"}), msg("INBOX", "6", "six")};
    Mailbox fresh = fresh_slash();
    fresh.messages = {
        msg("INBOX", "1", "one", {"\\Seen", "\\Recent", "$forwarded"}), // exact (case, \Recent)
        // 2 missing
        msg("INBOX/Sent", "3", "three", {"\\Seen"}),                // under INBOX: folder differs
        msg("Archive/2023", "4", "four"),                           // exact
        msg("Archive/2023", "4", "four"),                           // a second copy: duplicated
        msg("INBOX", "5", "five", {"\\Flagged"}),                   // keyword lost
        msg("INBOX", "6", "six", {}, "02-Jan-2020 10:00:00 +0100"), // date differs
        msg("INBOX", "7", "new mail"),                              // not from the old side
    };
    const auto r = compare_mailboxes(old, fresh);
    REQUIRE(r.total() == 6);
    CHECK(r.messages[0].outcome() == "exact");
    CHECK(r.messages[1].outcome() == "missing");
    CHECK(r.messages[2].outcome() == "differs(folder)");
    CHECK(r.messages[2].expected_folder == "Sent");
    CHECK(r.messages[2].found_folder == "INBOX/Sent");
    CHECK(r.messages[3].outcome() == "duplicated(2)");
    CHECK(r.messages[4].outcome() == "differs(keywords)");
    CHECK(r.messages[5].outcome() == "differs(date)");
    CHECK(r.exact() == 1);
    CHECK(r.missing() == 1);
    CHECK(r.duplicated() == 1);
    CHECK(r.differing_in("folder") == 1);
    CHECK(r.extra_on_new == 1);
    CHECK(r.exact_percent() == Approx(100.0 / 6));
    CHECK(r.summary().find("6 messages: 1 exact (16.7%), 1 missing, 1 duplicated") == 0);
    CHECK(r.details().find("<2>: missing") != std::string::npos);
}

TEST_CASE("mail_compare: two messages with identical headers, one body delivered twice", "[unit]") {
    Mailbox old = old_under_inbox();
    old.messages = {msg("INBOX", "twin", "first"), msg("INBOX", "twin", "second")};
    Mailbox fresh = fresh_slash();
    SECTION("both arrived") {
        fresh.messages = {msg("INBOX", "twin", "second"), msg("INBOX", "twin", "first")};
        CHECK(compare_mailboxes(old, fresh).exact() == 2);
    }
    SECTION("the first body twice: the second message differs in its body, nothing is missing") {
        fresh.messages = {msg("INBOX", "twin", "first"), msg("INBOX", "twin", "first")};
        const auto r = compare_mailboxes(old, fresh);
        CHECK(r.messages[0].outcome() == "exact");
        CHECK(r.messages[1].outcome() == "differs(body)");
        CHECK(r.missing() == 0);
    }
    SECTION("one of them only") {
        fresh.messages = {msg("INBOX", "twin", "second")};
        const auto r = compare_mailboxes(old, fresh);
        CHECK(r.messages[0].outcome() == "missing");
        CHECK(r.messages[1].outcome() == "exact");
    }
}
