// The old server's NAMESPACE answer and what the engines make of it.
#include "sync/offlineimap/offlineimap_config.hpp"
#include "sync/old_namespace.hpp"

#include "catch_compat.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <unistd.h>

using namespace imapmig;

TEST_CASE("NAMESPACE replies: the first personal namespace", "[unit]") {
    auto courier = parse_namespace_reply(
        "* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\n"
        "A002 OK NAMESPACE completed\r\n");
    REQUIRE(courier);
    CHECK(courier->prefix == "INBOX.");
    CHECK(courier->separator == '.');
    CHECK(courier->list_prefix() == "INBOX");

    auto cyrus_alt = parse_namespace_reply("* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" "
                                           "\"/\")) ((\"Shared Folders/\" \"/\"))\r\n");
    REQUIRE(cyrus_alt);
    CHECK(cyrus_alt->prefix.empty());
    CHECK(cyrus_alt->separator == '/');
    CHECK(cyrus_alt->list_prefix().empty());

    auto escaped = parse_namespace_reply("* NAMESPACE ((\"INBOX\\\\\" \"\\\\\")) NIL NIL\r\n");
    REQUIRE(escaped);
    CHECK(escaped->prefix == "INBOX\\");
    CHECK(escaped->separator == '\\');
    CHECK(escaped->list_prefix() == "INBOX");

    auto flat = parse_namespace_reply("* NAMESPACE ((\"\" NIL)) NIL NIL\r\n");
    REQUIRE(flat);
    CHECK(flat->separator == 0);

    CHECK_FALSE(parse_namespace_reply("* NAMESPACE NIL NIL NIL\r\n"));
    CHECK_FALSE(parse_namespace_reply("A001 BAD unknown command\r\n"));
}

namespace {

// old_to_new / new_to_old of the generated pythonfile, run by python3: "a|b|c" for the names.
std::string translate(const OldNamespace &ns, const std::string &function,
                      const std::vector<std::string> &names,
                      const std::map<std::string, std::string> &renames = {}) {
    auto plan_of = [](const OldNamespace &n, const std::map<std::string, std::string> &r) {
        FolderPlan plan;
        plan.old_namespace = n;
        plan.renames = r;
        return plan;
    };
    char path[] = "/tmp/imapmig-helper-XXXXXX.py";
    int fd = ::mkstemps(path, 3);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(path) << offlineimap_helper_python(SyncConfig{}, "/usr/sbin/imap-migrator",
                                                     "/etc/c.yaml", plan_of(ns, renames));
    std::string args;
    for (const auto &n : names)
        args += "'" + n + "',";
    const std::string cmd = "python3 -c \"import runpy; f = runpy.run_path('" + std::string(path) +
                            "')['" + function + "']; print('|'.join(f(n) for n in [" + args +
                            "]))\"";
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    ::pclose(p);
    ::unlink(path);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

} // namespace

TEST_CASE("offlineimap: the old namespace prefix is stripped and put back", "[unit]") {
    const OldNamespace courier{"INBOX.", '.'};
    CHECK(translate(courier, "old_to_new",
                    {"INBOX", "inbox", "INBOX.Sent", "INBOX.Archive.2023", "Shared.x", "INBOX."}) ==
          "INBOX|INBOX|Sent|Archive.2023|Shared.x|INBOX.");
    // Names on the new side come with its separator; offlineimap turns them into the old one's
    // after this, the prefix's '.' staying as it is.
    CHECK(translate(courier, "new_to_old", {"INBOX", "Sent", "Archive/2023"}) ==
          "INBOX|INBOX.Sent|INBOX.Archive/2023");
    CHECK(translate(OldNamespace{}, "old_to_new", {"INBOX.Sent", "Sent"}) == "INBOX.Sent|Sent");
    CHECK(translate(OldNamespace{}, "new_to_old", {"Sent"}) == "Sent");
}

TEST_CASE("offlineimap: special-use renames apply both ways, after the prefix", "[unit]") {
    const OldNamespace courier{"INBOX.", '.'};
    const std::map<std::string, std::string> renames = {{"INBOX.Sent Items", "Sent"},
                                                        {"INBOX.Gel&APY-scht", "Trash"}};
    CHECK(translate(courier, "old_to_new",
                    {"INBOX.Sent Items", "INBOX.Gel&APY-scht", "INBOX.Drafts"},
                    renames) == "Sent|Trash|Drafts");
    CHECK(translate(courier, "new_to_old", {"Sent", "Trash", "Drafts"}, renames) ==
          "INBOX.Sent Items|INBOX.Gel&APY-scht|INBOX.Drafts");
}
