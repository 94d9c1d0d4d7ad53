// The pure parts of import-postfixadmin and postfix-maps: hash and quota conversion, the
// mapping of postfixadmin rows, and how Postfix reaches the database.
#include "admin/postfix_maps.hpp"
#include "import/postfixadmin_import.hpp"

#include "catch_compat.hpp"

#include <algorithm>

using namespace imapmig;

TEST_CASE("postfixadmin hashes become hashes Dovecot verifies", "[unit][postfixadmin]") {
    CHECK(convert_password_hash("$1$c9809462$CJlGOsYlAf6LBeiX6aNNj0", "").value() ==
          "{MD5-CRYPT}$1$c9809462$CJlGOsYlAf6LBeiX6aNNj0");
    CHECK(convert_password_hash("$6$salt$hash", "").value() == "{SHA512-CRYPT}$6$salt$hash");
    CHECK(convert_password_hash("$5$salt$hash", "").value() == "{SHA256-CRYPT}$5$salt$hash");
    CHECK(convert_password_hash("$2y$10$abc", "").value() == "{BLF-CRYPT}$2y$10$abc");
    CHECK(convert_password_hash("$argon2id$v=19$x", "").value() == "{ARGON2ID}$argon2id$v=19$x");
    CHECK(convert_password_hash("{SHA512-CRYPT}$6$s$h", "").value() == "{SHA512-CRYPT}$6$s$h");
    CHECK(convert_password_hash("{SHA512-CRYPT.B64}JDYk", "").value() == "{SHA512-CRYPT.B64}JDYk");
    CHECK(convert_password_hash("$1$s$h", "crypt").value() == "{CRYPT}$1$s$h");
    CHECK(convert_password_hash("0123456789abcdef0123456789abcdef", "PLAIN-MD5").value() ==
          "{PLAIN-MD5}0123456789abcdef0123456789abcdef");
    CHECK_FALSE(convert_password_hash("0123456789abcdef0123456789abcdef", "").ok());
    CHECK_FALSE(convert_password_hash("{NOPE}abc", "").ok());
    CHECK_FALSE(convert_password_hash("", "").ok());
    auto bad = convert_password_hash("Secret-Clear-Text", "");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("Secret-Clear-Text") == std::string::npos);
}

TEST_CASE("mailbox quotas in bytes become MB, never below the old limit", "[unit][postfixadmin]") {
    CHECK(quota_bytes_to_mb(0) == 0);
    CHECK(quota_bytes_to_mb(-1) == 0);
    CHECK(quota_bytes_to_mb(102400000) == 100); // postfixadmin's 100 MB (quota_multiplier)
    CHECK(quota_bytes_to_mb(104857600) == 100); // 100 MiB
    CHECK(quota_bytes_to_mb(131072000) == 125); // both: exactly 125 MiB
    CHECK(quota_bytes_to_mb(1) == 1);
    CHECK(quota_bytes_to_mb(1048577) == 2);
}

namespace {

PostfixadminData sample() {
    PostfixadminData d;
    d.domains = {{"all", 0, 0, 0, 0, "", false, true},
                 {"a.example", 0, 0, 500, 100, "virtual", false, true},
                 {"alias.example", 0, 0, 0, 0, "virtual", false, true},
                 {"mx.example", 0, 0, 0, 0, "relay:[x]", true, true}};
    d.alias_domains = {{"alias.example", "a.example", true}};
    d.mailboxes.push_back(
        {"ann@a.example", SecretString("$1$s$h"), "Ann", 0, "a.example", "ann", true, false});
    d.mailboxes.push_back(
        {"mo@mx.example", SecretString("$1$s$h"), "", 0, "mx.example", "mo", true, false});
    d.aliases = {{"ann@a.example", "ann@a.example", "a.example", true},
                 {"x@a.example", "y@a.example", "a.example", true},
                 {"y@a.example", "x@a.example,ann@a.example", "a.example", true},
                 {"z@a.example", "ghost@a.example, ann@a.example", "a.example", false}};
    d.admins.push_back({"old@admins.example", SecretString("$1$s$h"), false, false});
    d.domain_admins = {{"old@admins.example", "a.example", true}};
    return d;
}

} // namespace

TEST_CASE("postfixadmin rows map onto import records", "[unit][postfixadmin]") {
    PostfixadminData d = sample();
    PostfixadminConversion c = convert_postfixadmin(d, {});
    std::vector<std::string> sources = c.sources;
    CHECK(sources == std::vector<std::string>{"domain a.example", "alias domain alias.example",
                                              "mailbox ann@a.example", "alias z@a.example",
                                              "alias x@a.example", "alias y@a.example"});
    const auto &dom = std::get<DomainRecord>(c.records.lines[0].record);
    CHECK(dom.quota_mb == 100);
    CHECK(dom.default_mailbox_quota_mb == 100); // maxquota 500 > quota 100: lowered, reported
    CHECK(c.self_aliases == 1);
    // x and y reference each other: one of them gets the other once both exist.
    REQUIRE(c.deferred_recipients.size() == 1);
    CHECK(c.deferred_recipients[0] ==
          std::pair<std::string, std::string>{"x@a.example", "y@a.example"});
    const auto &z = std::get<AliasRecord>(c.records.lines[3].record);
    CHECK(z.recipients == std::vector<std::string>{"ann@a.example"}); // ghost dropped, trimmed
    CHECK_FALSE(z.enabled);
    std::vector<std::string> what;
    for (const auto &item : c.report)
        what.push_back(item.what);
    CHECK(what == std::vector<std::string>{
                      "mailbox quota maxima above the domain quota", "backup MX domains",
                      "inactive administrators", "passwords in schemes Dovecot 2.4 calls weak",
                      "mailboxes of unconverted domains",
                      "alias recipients in our domains that are neither mailbox nor alias"});

    ImportCatalog catalog;
    PostfixadminPlan plan = plan_postfixadmin(c, catalog, false);
    CHECK(plan.errors.empty());
    CHECK(plan.plan.steps.size() == c.records.lines.size() + 1); // + the deferred recipient
}

TEST_CASE("postfixadmin accounts with hashes Dovecot 2.4 calls weak are reported",
          "[unit][postfixadmin]") {
    PostfixadminData d;
    d.domains = {{"a.example", 0, 0, 0, 0, "virtual", false, true}};
    auto mailbox = [&](const std::string &local, const std::string &hash, bool active) {
        d.mailboxes.push_back(
            {local + "@a.example", SecretString(hash), "", 0, "a.example", local, active, false});
    };
    mailbox("ann", "$1$s$h", true);
    mailbox("bob", "$6$s$h", true);
    mailbox("cat", "{PLAIN-MD5}0123456789abcdef0123456789abcdef", true);
    mailbox("dan", "$1$s$h", false);                          // inactive: listed all the same
    mailbox("eve", "0123456789abcdef0123456789abcdef", true); // unusable: disabled, not listed
    mailbox("fin", "{CRYPT}ab01234567890", true);
    mailbox("gus", "{CRYPT}$2y$10$abc", true);
    d.admins.push_back({"root@admins.example", SecretString("$1$s$h"), true, true});

    auto weak_item = [](const PostfixadminConversion &c) {
        auto it = std::find_if(c.report.begin(), c.report.end(),
                               [](const ReportItem &i) { return i.what == weak_passwords_what; });
        REQUIRE(it != c.report.end());
        return *it;
    };
    PostfixadminConversion c = convert_postfixadmin(d, {});
    ReportItem weak = weak_item(c);
    CHECK(weak.count == 5);
    CHECK(weak.examples == std::vector<std::string>{"ann@a.example", "cat@a.example",
                                                    "dan@a.example", "fin@a.example",
                                                    "root@admins.example"});
    CHECK(weak.note == weak_passwords_note);
    CHECK(c.disabled_logins == 1);
    // The hashes stay as they were: the users keep their passwords.
    CHECK(std::get<AccountRecord>(c.records.lines[1].record).password.reveal() ==
          "{MD5-CRYPT}$1$s$h");

    // A scheme forced for bare hashes counts as well.
    d.mailboxes.resize(1);
    d.admins.clear();
    PostfixadminConversion forced = convert_postfixadmin(d, {"CRYPT"});
    CHECK(weak_item(forced).examples == std::vector<std::string>{"ann@a.example"});
    d.mailboxes[0].password = SecretString("$6$s$h");
    for (const auto &item : convert_postfixadmin(d, {}).report)
        CHECK(item.what != weak_passwords_what);
}

TEST_CASE("postfix-maps: how Postfix reaches the database", "[unit][postfix]") {
    auto tcp = postfix_pgsql_target("host=db.example port=5433 dbname=mail user=pf password=s3");
    REQUIRE(tcp.ok());
    CHECK(tcp.value().hosts == "inet:db.example:5433");
    CHECK(tcp.value().user == "pf");
    CHECK(tcp.value().dbname == "mail");
    auto sock = postfix_pgsql_target("host=/run/postgresql dbname=mail user=pf");
    CHECK(sock.value().hosts == "unix:/run/postgresql");
    auto odd = postfix_pgsql_target("host='/tmp/s d' port=6000 dbname=mail user=pf password=p@ss");
    CHECK(odd.value().hosts == "postgresql://pf:p%40ss@/mail?host=%2Ftmp%2Fs%20d&port=6000");
    CHECK(postfix_pgsql_target("dbname=mail").value().hosts == "unix:/var/run/postgresql");
    CHECK(postfix_pgsql_target("host=a,b port=1,2 dbname=m").value().hosts == "inet:a:1 inet:b:2");
    CHECK_FALSE(postfix_pgsql_target("host=x user=pf").ok());
    auto bad = postfix_pgsql_target("host=x password=Leak-Me dbname=");
    CHECK_FALSE(bad.ok());
    auto broken = postfix_pgsql_target("password='Leak-Me");
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().message.find("Leak-Me") == std::string::npos);
    const std::string file = render_postfix_map(tcp.value(), postfix_maps()[0]);
    CHECK(file.find("hosts = inet:db.example:5433\nuser = pf\npassword = s3\ndbname = mail\n"
                    "query = SELECT name FROM domains WHERE name = '%s' AND enabled\n") !=
          std::string::npos);
}
