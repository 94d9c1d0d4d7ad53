// `doveconf namespace` output as Dovecot 2.3.19 and 2.4.1 print the same configuration
// (copied from both): the namespaces, their separators and special-use mailboxes read alike.
#include "sync/doveconf_namespaces.hpp"
#include "sync/dsync/namespace_probe.hpp"
#include "sync/special_use.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

const char *const doveconf_23 = "namespace inbox {\n"
                                "  disabled = no\n"
                                "  hidden = no\n"
                                "  ignore_on_failure = no\n"
                                "  inbox = yes\n"
                                "  list = yes\n"
                                "  location = \n"
                                "  mailbox \"Deleted Messages\" {\n"
                                "    auto = no\n"
                                "    autoexpunge = 0\n"
                                "    autoexpunge_max_mails = 0\n"
                                "    comment = \n"
                                "    driver = \n"
                                "    special_use = \\Trash\n"
                                "  }\n"
                                "  mailbox Sent {\n"
                                "    auto = no\n"
                                "    autoexpunge = 0\n"
                                "    autoexpunge_max_mails = 0\n"
                                "    comment = \n"
                                "    driver = \n"
                                "    special_use = \\Sent \\Archive\n"
                                "  }\n"
                                "  order = 0\n"
                                "  prefix = INBOX.\n"
                                "  separator = .\n"
                                "  subscriptions = yes\n"
                                "  type = private\n"
                                "}\n"
                                "namespace nosep {\n"
                                "  disabled = no\n"
                                "  hidden = no\n"
                                "  ignore_on_failure = no\n"
                                "  inbox = no\n"
                                "  list = yes\n"
                                "  location = \n"
                                "  order = 0\n"
                                "  prefix = My N/\n"
                                "  separator = \n"
                                "  subscriptions = yes\n"
                                "  type = private\n"
                                "}\n";

const char *const doveconf_24 = "namespace inbox {\n"
                                "  inbox = yes\n"
                                "  prefix = INBOX.\n"
                                "  separator = .\n"
                                "  mailbox Sent {\n"
                                "    special_use = \"\\\\Sent\" \"\\\\Archive\"\n"
                                "  }\n"
                                "  mailbox \"Deleted Messages\" {\n"
                                "    special_use = \"\\\\Trash\"\n"
                                "  }\n"
                                "}\n"
                                "namespace nosep {\n"
                                "  prefix = My N/\n"
                                "}\n";

} // namespace

TEST_CASE("doveconf namespace output of Dovecot 2.3 and 2.4 reads the same", "[unit]") {
    for (const char *output : {doveconf_23, doveconf_24}) {
        INFO(output);
        const auto namespaces = parse_doveconf_namespaces(output);
        REQUIRE(namespaces.size() == 2);
        const DoveconfNamespace &inbox = namespaces[0];
        CHECK(inbox.name == "inbox");
        CHECK(inbox.inbox);
        CHECK(inbox.prefix == "INBOX.");
        CHECK(inbox.separator == ".");
        REQUIRE(inbox.mailboxes.size() == 2);
        for (const auto &mailbox : inbox.mailboxes) {
            if (mailbox.name == "Sent")
                CHECK(mailbox.special_use == std::vector<std::string>{"\\Sent", "\\Archive"});
            else
                CHECK((mailbox.name == "Deleted Messages" &&
                       mailbox.special_use == std::vector<std::string>{"\\Trash"}));
        }
        CHECK(namespaces[1].name == "nosep");
        CHECK_FALSE(namespaces[1].inbox);
        CHECK(namespaces[1].prefix == "My N/");
        CHECK(namespaces[1].separator.empty());

        CHECK(namespaces_without_separator(output) == std::vector<std::string>{"nosep"});
        CHECK(special_folders_from_doveconf(output) ==
              std::map<std::string, std::string>{{"\\Sent", "INBOX.Sent"},
                                                 {"\\Archive", "INBOX.Sent"},
                                                 {"\\Trash", "INBOX.Deleted Messages"}});
    }
}

TEST_CASE("doveconf list values: bare words (2.3) and quoted strings (2.4)", "[unit]") {
    CHECK(doveconf_list_words("\\Sent \\Archive") ==
          std::vector<std::string>{"\\Sent", "\\Archive"});
    CHECK(doveconf_list_words("\"\\\\Sent\"  \"a \\\"b\\\"\"") ==
          std::vector<std::string>{"\\Sent", "a \"b\""});
    CHECK(doveconf_list_words("").empty());
    CHECK(parse_doveconf_namespaces("namespace inbox {\n  mailbox \"Sent \\\"x\\\"\" {\n  }\n}\n")
              .at(0)
              .mailboxes.at(0)
              .name == "Sent \"x\"");
    CHECK(parse_doveconf_namespaces("").empty());
}
