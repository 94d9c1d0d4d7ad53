// imap-migrator import-postfixadmin against a database built by Debian's postfixadmin 3.3 itself
// (its upgrade.php for the schema, its Handler classes for the rows), then logins with the
// postfixadmin passwords on the new Dovecot.
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include "catch_compat.hpp"

#include <sys/stat.h>

using namespace testsupport;

namespace {

const std::string pfa_root = "/usr/share/postfixadmin";
const std::string ann_pw = "Ann-Pfa-Pw-111", bob_pw = "Bob-Pfa-Pw-222", carl_pw = "Carl-Pfa-Pw-333",
                  dora_pw = "Dora-Pfa-Pw-444", fay_pw = "Fay-Pfa-Pw-555";
const std::string source_pw = "Source-Db-Secret-9"; // in --from; trust auth ignores it

std::string mailbox(const std::string &id, const std::string &pw, const std::string &name,
                    int quota, int active) {
    return R"(["MailboxHandler", ")" + id + R"(", {"password": ")" + pw + R"(", "password2": ")" +
           pw + R"(", "name": ")" + name + R"(", "quota": )" + std::to_string(quota) +
           R"(, "active": )" + std::to_string(active) + R"(, "welcome_mail": 0}],)";
}

std::string seed_rows() {
    return R"([
 ["DomainHandler", "a.example", {"description": "A", "aliases": 10, "mailboxes": 10,
   "maxquota": 100, "quota": 1000, "active": 1, "default_aliases": 0, "transport": "virtual",
   "backupmx": 0}],
 ["DomainHandler", "b.example", {"description": "B", "aliases": 0, "mailboxes": 0,
   "maxquota": 50, "quota": 0, "active": 1, "default_aliases": 0, "transport": "virtual",
   "backupmx": 0}],
 ["DomainHandler", "alias.example", {"description": "", "aliases": 0, "mailboxes": 0,
   "maxquota": 0, "quota": 0, "active": 1, "default_aliases": 0, "transport": "virtual",
   "backupmx": 0}],
 ["AliasdomainHandler", "alias.example", {"target_domain": "a.example", "active": 1}],
 ["config", "encrypt", "md5crypt"],
)" + mailbox("ann@a.example", ann_pw, "Ann Marie Smith", 100, 1) +
           mailbox("bob@a.example", bob_pw, "Bob", 20, 1) +
           mailbox("fay@a.example", fay_pw, "Fay Wray", 10, 1) +
           mailbox("dora@b.example", dora_pw, "", 50, 0) + R"(
 ["config", "encrypt", "dovecot:SHA512-CRYPT"],
)" + mailbox("carl@b.example", carl_pw, "Carl Jones", 30, 1) +
           R"(
 ["config", "encrypt", "md5crypt"],
 ["AliasHandler", "info@a.example", {"goto": ["ann@a.example", "bob@a.example",
   "someone@external.example"], "active": 1}],
 ["AliasHandler", "@b.example", {"goto": ["carl@b.example"], "active": 1}],
 ["edit", "AliasHandler", "bob@a.example", {"goto": ["carl@b.example"], "goto_mailbox": 1}],
 ["AdminHandler", "boss@admins.example", {"password": "Boss-Pfa-Pw-666",
   "password2": "Boss-Pfa-Pw-666", "domains": ["a.example", "b.example"], "superadmin": 0,
   "active": 1}],
 ["AdminHandler", "carl@b.example", {"password": "Carl-Admin-Pw-77", "password2": "Carl-Admin-Pw-77",
   "domains": ["b.example"], "superadmin": 0, "active": 1}],
 ["AdminHandler", "root@admins.example", {"password": "Root-Pfa-Pw-888",
   "password2": "Root-Pfa-Pw-888", "domains": [], "superadmin": 1, "active": 1}],
 ["config", "vacation_domain", "autoreply.a.example"],
 ["vacation", "ann@a.example", "Away", "Back on Monday"],
 ["FetchmailHandler", "", {"mailbox": "bob@a.example", "src_server": "pop.old.example",
   "src_auth": "password", "src_user": "bob", "src_password": "Fetch-Secret-9",
   "src_folder": "", "poll_time": 10, "fetchall": 0, "keep": 1, "protocol": "IMAP",
   "usessl": 1, "sslcertck": 1, "active": 1}]
])";
}

// A postfixadmin database in env.pg: schema by its upgrade.php, rows by its Handler classes.
std::string build_postfixadmin(MigrationEnv &env) {
    {
        struct stat st {};
        INFO("postfixadmin is not installed: run scripts/install-deps.sh (postfixadmin "
             "php-pgsql php-cli)");
        REQUIRE(::stat((pfa_root + "/public/upgrade.php").c_str(), &st) == 0);
    }
    const std::string db = env.pg.create_database("postfixadmin");
    const std::string inc = env.dir.file("pfa-inc");
    make_dir(inc);
    write_file(inc + "/dbconfig.inc.php", "<?php\n$dbtype = 'pgsql';\n$dbserver = '" +
                                              env.pg.socket_dir() +
                                              "';\n$dbuser = 'postgres';\n$dbpass = '';\n"
                                              "$dbname = 'postfixadmin';\n");
    const EnvList php_env = {{"PGPORT", std::to_string(env.pg.port())}};
    run_checked({"php", "-d", "include_path=" + inc + ":.", "-r",
                 "define('POSTFIXADMIN_CLI', 1); require '" + pfa_root + "/public/upgrade.php';"},
                {}, php_env);
    REQUIRE(pg_scalar(db, "SELECT value FROM config WHERE name = 'version'") == "1847");
    // setup.php adds this row before the first superadmin (the domain_admins FK needs it).
    pg_query(db, "INSERT INTO domain (domain, description, transport) VALUES ('ALL', '', '')");
    write_file(env.dir.file("rows.json"), seed_rows());
    auto seeded =
        run({"php", "-d", "include_path=" + inc + ":.",
             source_root() + "/tests/integration/postfixadmin_seed.php", env.dir.file("rows.json")},
            {}, php_env);
    INFO(seeded.out + seeded.err);
    REQUIRE(seeded.exit_code == 0);
    // Rows as older postfixadmin versions or hand edits left them: spaces and capitals in goto,
    // a hash in a format Dovecot cannot recognise (postfixadmin's encrypt = md5).
    pg_query(db,
             "UPDATE alias SET goto = 'ann@a.example , Bob@a.example,someone@external.example,' "
             "WHERE address = 'info@a.example';"
             "INSERT INTO mailbox (username, password, name, quota, domain, local_part) VALUES "
             "('eve@b.example', '0123456789abcdef0123456789abcdef', 'Eve', 0, 'b.example', "
             "'eve');"
             "INSERT INTO alias (address, goto, domain) VALUES "
             "('eve@b.example', 'eve@b.example', 'b.example')");
    return db;
}

std::string rows(MigrationEnv &env, const std::string &query) {
    return pg_scalar(env.db, "SELECT coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM (" +
                                 query + ") q(x)");
}

std::string dump(MigrationEnv &env) {
    return rows(env, "SELECT name FROM domains") + rows(env, "SELECT username FROM accounts") +
           rows(env, "SELECT address FROM aliases");
}

} // namespace

TEST_CASE("import-postfixadmin converts a real postfixadmin 3.3 database",
          "[integration][postfixadmin]") {
    MigrationEnv env;
    // postfixadmin's md5crypt hashes are imported as they are; 2.4 refuses them by default (2.3
    // has no such setting).
    if (dovecot_24())
        env.options.new_dovecot_config += "auth_allow_weak_schemes = yes\n";
    env.start_new_dovecot();
    const std::string pfa = build_postfixadmin(env);
    const std::string from = pfa + " password=" + source_pw;

    auto dry = env.migrator({"import-postfixadmin", "--from", from, "--dry-run"});
    INFO(dry.out + dry.err);
    REQUIRE(dry.exit_code == 0);
    CHECK(dry.out.find("summary (dry run: rolled back, nothing written):") != std::string::npos);
    CHECK(dump(env).empty());

    auto r = env.migrator({"import-postfixadmin", "--from", from});
    INFO(r.out + r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("(schema version 1847)") != std::string::npos);
    const std::string summary = "  domains         created 2, skipped 0\n"
                                "  domain aliases  created 1, skipped 0\n"
                                "  accounts        created 8, skipped 0\n"
                                "  aliases         created 3, skipped 0\n"
                                "  self-aliases    5 not needed (Postfix delivers to mailboxes "
                                "directly)\n";
    CHECK(r.out.find("summary:\n" + summary) != std::string::npos);
    CHECK(dry.out.find(summary) != std::string::npos);
    for (const char *line :
         {"  vacation (auto-reply) settings: 1 (ann@a.example) not converted",
          "  fetchmail jobs: 1 (bob@a.example) not converted",
          "  passwords Dovecot cannot verify: 1 (eve@b.example) imported DISABLED",
          "  domain limits (max aliases / mailboxes): 1 (a.example) not converted"})
        CHECK(r.out.find(line) != std::string::npos);
    // Every {MD5-CRYPT} account below (mailboxes by name, then administrators without one: root
    // is the sixth); eve's unusable hash is reported above, not here.
    const std::string weak_line =
        "  passwords in schemes Dovecot 2.4 calls weak: 6 (ann@a.example, bob@a.example, "
        "dora@b.example, fay@a.example, boss@admins.example, ...) imported as they are: Dovecot "
        "2.4 verifies them only with `auth_allow_weak_schemes = yes` (2.3 always): set it until "
        "these users have changed their passwords\n";
    CHECK(r.out.find(weak_line) != std::string::npos);
    CHECK(dry.out.find(weak_line) != std::string::npos);
    for (const std::string &secret : {source_pw, std::string("$1$"), std::string("Fetch-Secret")})
        CHECK((r.out + r.err + dry.out).find(secret) == std::string::npos);

    CHECK(rows(env, "SELECT name || ' ' || quota_mb || ' ' || default_mailbox_quota_mb || ' ' || "
                    "enabled FROM domains") == "a.example 1000 100 true\nb.example 0 50 true");
    CHECK(rows(env,
               "SELECT a.name || '>' || d.name || ' ' || a.enabled FROM domain_aliases a "
               "JOIN domains d ON d.id = a.target_domain_id") == "alias.example>a.example true");
    CHECK(rows(env, "SELECT username || '|' || coalesce(address, '-') || '|' || first_name || '|' "
                    "|| last_name || '|' || enabled || '|' || role || '|' || quota_mb || '|' || "
                    "substr(password, 1, strpos(password, '}')) FROM accounts") ==
          "ann@a.example|ann@a.example|Ann Marie|Smith|true|SimpleUsers|100|{MD5-CRYPT}\n"
          "bob@a.example|bob@a.example|Bob||true|SimpleUsers|20|{MD5-CRYPT}\n"
          "boss@admins.example|-|||true|DomainAdmins|0|{MD5-CRYPT}\n"
          "carl@b.example|carl@b.example|Carl|Jones|true|DomainAdmins|30|{SHA512-CRYPT}\n"
          "dora@b.example|dora@b.example|||false|SimpleUsers|50|{MD5-CRYPT}\n"
          "eve@b.example|eve@b.example|Eve||false|SimpleUsers|0|{CRYPT}\n"
          "fay@a.example|fay@a.example|Fay|Wray|true|SimpleUsers|10|{MD5-CRYPT}\n"
          "root@admins.example|-|||true|SuperAdmins|0|{MD5-CRYPT}");
    CHECK(rows(env,
               "SELECT a.username || ' ' || d.name FROM administered_domains x "
               "JOIN accounts a ON a.id = x.account_id JOIN domains d ON d.id = x.domain_id") ==
          "boss@admins.example a.example\nboss@admins.example b.example\ncarl@b.example b.example");
    CHECK(rows(env, "SELECT a.address || ' ' || a.enabled || ' ' || string_agg(r.recipient, ',' "
                    "ORDER BY r.recipient) FROM aliases a JOIN alias_recipients r ON "
                    "r.alias_id = a.id GROUP BY a.address, a.enabled") ==
          "@b.example true carl@b.example\n"
          "bob@a.example true bob@a.example,carl@b.example\n"
          "info@a.example true ann@a.example,bob@a.example,someone@external.example");

    // Users log in to the new Dovecot with their postfixadmin passwords.
    CHECK(env.imap_login("ann@a.example", ann_pw).status == "OK");   // md5crypt, bare $1$
    CHECK(env.imap_login("carl@b.example", carl_pw).status == "OK"); // {SHA512-CRYPT}
    CHECK(env.imap_login("fay@a.example", fay_pw).status == "OK");
    CHECK(env.imap_login("bob@a.example", ann_pw).status == "NO");
    CHECK(env.imap_login("dora@b.example", dora_pw).status == "NO"); // inactive in postfixadmin

    // A second run names what exists instead of merging silently; nothing changes.
    const std::string before = dump(env);
    auto again = env.migrator({"import-postfixadmin", "--from", pfa});
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("postfixadmin mailbox ann@a.example: field loginname: account "
                         "ann@a.example already exists in the database") != std::string::npos);
    CHECK(again.err.find("error(s); nothing was written") != std::string::npos);
    CHECK(dump(env) == before);
    auto skip = env.migrator({"import-postfixadmin", "--from", pfa, "--continue-if-exists"});
    CHECK(skip.exit_code == 0);
    CHECK(skip.out.find("  accounts        created 0, skipped 8\n") != std::string::npos);
    CHECK(dump(env) == before);
}

TEST_CASE("import-postfixadmin: usage and connection errors", "[integration][postfixadmin]") {
    MigrationEnv env;
    env.start_new_dovecot();
    CHECK(env.migrator({"import-postfixadmin"}).exit_code == 2);
    CHECK(env.migrator({"import-postfixadmin", "--from", "x", "--passwords-scheme", "NOPE"})
              .exit_code == 2);
    auto not_pfa = env.migrator({"import-postfixadmin", "--from", env.db});
    CHECK(not_pfa.exit_code == 1);
    CHECK(not_pfa.err.find("this is not a postfixadmin database") != std::string::npos);
    auto down = env.migrator(
        {"import-postfixadmin", "--from", "host=127.0.0.1 port=1 dbname=x password=" + source_pw});
    CHECK(down.exit_code == 1);
    CHECK(down.err.find(source_pw) == std::string::npos);
}
