// Smoke tests of the integration-test fixtures themselves (tests/support).
#include "catch_compat.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "dovecot_conf24.hpp"
#include "dovecot_instance.hpp"
#include "imap_client.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

using namespace testsupport;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::set<std::string> listing(const std::string &dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(dir, ec))
        names.insert(entry.path().filename().string());
    return names;
}

bool any_alive(const std::vector<pid_t> &pids) {
    return std::any_of(pids.begin(), pids.end(), [](pid_t p) { return pid_alive(p); });
}

RunResult verify_tls(int port, const std::string &ca_file, const std::string &hostname) {
    return run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile",
                ca_file, "-verify_return_error", "-verify_hostname", hostname},
               "", {}, 10000);
}

} // namespace

TEST_CASE("PgCluster: start, create_database, queries, clean stop", "[integration][support]") {
    std::vector<pid_t> pids;
    std::string dir;
    {
        PgCluster pg;
        REQUIRE(pg.running());
        pids = descendants(pg.pid());
        pids.push_back(pg.pid());
        dir = fs::path(pg.data_dir()).parent_path().string();

        const std::string db = pg.create_database("smoke");
        CHECK(db == pg.conninfo("smoke"));
        CHECK_THAT(db, Contains("host=" + pg.socket_dir()));
        pg_query(db, "CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, NULL)");
        const PgRows rows = pg_query(db, "SELECT a, b FROM t ORDER BY a");
        REQUIRE(rows.size() == 2);
        CHECK(rows[0] == std::vector<std::string>{"1", "x"});
        CHECK(rows[1] == std::vector<std::string>{"2", ""});
        CHECK(pg_scalar(db, "SELECT count(*) FROM t") == "2");
        CHECK(pg_scalar(db, "SELECT a FROM t WHERE false").empty());
        CHECK(pg_query_params(db, "SELECT b FROM t WHERE a = $1", {"1"}).at(0).at(0) == "x");
        CHECK_THROWS_WITH(pg_query(db, "SELECT no_such_column FROM t"), Contains("no_such_column"));
        CHECK(pg_scalar(pg.tcp_conninfo("smoke"), "SELECT current_user") == "postgres");

        pg.restart();
        CHECK(pg_scalar(db, "SELECT count(*) FROM t") == "2");
        pids.push_back(pg.pid());
    }
    CHECK_FALSE(any_alive(pids));
    CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("OldProvider with TLS: IMAP login, STARTTLS, imaps verified by the test CA",
          "[integration][support]") {
    const auto var_lib_before = listing("/var/lib/dovecot");
    const bool run_dovecot_before = fs::exists("/run/dovecot");
    TempDir tmp("imapmig-smoke");
    TestCA ca(tmp.path());
    OldProvider old("old", {true, &ca, "localhost", ""});
    old.add_user("alice@old.example", "right \"pass\\word\"");
    old.start();
    std::vector<pid_t> pids = old.dovecot().processes();
    REQUIRE_FALSE(pids.empty());

    { // LOGIN with the right and a wrong password; a password change while running
        ImapClient ok("127.0.0.1", old.imap_port());
        CHECK(ok.has_capability("STARTTLS"));
        CHECK(ok.login("alice@old.example", "right \"pass\\word\"").status == "OK");
        ok.logout();

        ImapClient bad("127.0.0.1", old.imap_port());
        CHECK(bad.login("alice@old.example", "wrong").status == "NO");
        CHECK(bad.login("nobody@old.example", "x").status == "NO");

        old.set_password("alice@old.example", "changed");
        CHECK(bad.login("alice@old.example", "right \"pass\\word\"").status == "NO");
        CHECK(bad.login("alice@old.example", "changed").status == "OK");

        CHECK(old.dovecot().auth_test("alice@old.example", "changed").exit_code == 0);
        CHECK(old.dovecot().auth_test("alice@old.example", "nope", "192.0.2.7").exit_code == 77);
        CHECK_THAT(old.dovecot().log(), !Contains("changed"));
    }

    { // imaps and STARTTLS verify against the test CA only
        RunResult imaps = verify_tls(old.imaps_port(), ca.ca_cert(), "localhost");
        CHECK(imaps.exit_code == 0);
        INFO(imaps.err);
        RunResult starttls =
            run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(old.imap_port()),
                 "-starttls", "imap", "-CAfile", ca.ca_cert(), "-verify_return_error",
                 "-verify_hostname", "localhost"},
                "", {}, 10000);
        CHECK(starttls.exit_code == 0);

        TempDir other_dir("imapmig-smoke");
        TestCA other(other_dir.path(), "Some Other CA");
        CHECK(verify_tls(old.imaps_port(), other.ca_cert(), "localhost").exit_code != 0);
        CHECK(verify_tls(old.imaps_port(), ca.ca_cert(), "wrong.example").exit_code != 0);
    }

    { // deliver() stores mail a client can see
        old.deliver("alice@old.example", "Archive.2023",
                    "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n");
        old.deliver("alice@old.example", "INBOX", "Subject: one\r\n\r\n1\r\n");
        ImapClient c("127.0.0.1", old.imap_port());
        REQUIRE(c.login("alice@old.example", "changed").ok());
        auto sel = c.command("SELECT \"Archive.2023\"");
        REQUIRE(sel.ok());
        CHECK(std::find(sel.untagged.begin(), sel.untagged.end(), "* 1 EXISTS") !=
              sel.untagged.end());
        auto fetch = c.command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
        REQUIRE(fetch.ok());
        REQUIRE(fetch.untagged.size() == 1);
        CHECK_THAT(fetch.untagged[0], Contains("Subject: hi"));
        c.logout();
    }

    old.stop();
    CHECK_FALSE(old.dovecot().running());
    CHECK_FALSE(any_alive(pids));
    CHECK(listing("/var/lib/dovecot") == var_lib_before);
    CHECK(fs::exists("/run/dovecot") == run_dovecot_before);
}

TEST_CASE("OldProvider without TLS offers no STARTTLS; two instances side by side",
          "[integration][support]") {
    OldProvider plain("plain", {false, nullptr, "localhost", ""});
    OldProvider tls("tls", {true, nullptr, "localhost", ""}); // its own private CA
    plain.add_user("bob@old.example", "pw");
    tls.add_user("bob@old.example", "pw2");
    plain.start();
    tls.start();
    CHECK(plain.imaps_port() == 0);

    ImapClient a("127.0.0.1", plain.imap_port());
    CHECK_FALSE(a.has_capability("STARTTLS"));
    CHECK(a.login("bob@old.example", "pw").ok());
    ImapClient b("127.0.0.1", tls.imap_port());
    CHECK(b.has_capability("STARTTLS"));
    CHECK(b.login("bob@old.example", "pw").status == "NO");
    CHECK(verify_tls(tls.imaps_port(), tls.ca_cert(), "localhost").exit_code == 0);

    std::vector<pid_t> pids = plain.dovecot().processes();
    for (pid_t p : tls.dovecot().processes())
        pids.push_back(p);
    plain.stop();
    tls.stop();
    CHECK_FALSE(any_alive(pids));
}

TEST_CASE("DovecotInstance with module_dir_override: private mount, real dir untouched",
          "[integration][support]") {
    const std::string real_dir = dovecot_auth_module_dir();
    const auto real_before = listing(real_dir);

    PgCluster pg;
    const std::string db = pg.create_database("accounts");
    pg_query_params(db, "CREATE TABLE users (username text PRIMARY KEY, password text)", {});
    pg_query_params(db, "INSERT INTO users VALUES ($1, $2)",
                    {"carol@new.example", sha512_crypt("sqlpass")});

    TempDir override_dir("imapmig-smoke");
    write_file(override_dir.file("libsmoke_dummy_marker.so"), "not a module\n");

    DovecotOptions opts;
    opts.name = "new";
    opts.module_dir_override = override_dir.path();
    const int port = free_tcp_port();
    opts.config_body = "passdb {\n"
                       "  driver = sql\n"
                       "  args = {BASE}/sql.conf.ext\n"
                       "}\n"
                       "userdb {\n"
                       "  driver = static\n"
                       "  args = uid=nobody gid=nogroup home={BASE}/home/%d/%n\n"
                       "}\n";
    if (dovecot_24()) // no separate SQL file: the connection and the query are settings
        opts.config_body = "sql_driver = pgsql\n"
                           "pgsql localhost {\n  parameters {\n" +
                           pgsql_parameters_24(db) +
                           "  }\n}\n"
                           "passdb sql {\n"
                           "  query = SELECT username AS user, password FROM users "
                           "WHERE username = '%{user}'\n"
                           "}\n"
                           "userdb static {\n"
                           "  fields {\n"
                           "    uid = nobody\n"
                           "    gid = nogroup\n"
                           "    home = {BASE}/home/%{user | domain}/%{user | username}\n"
                           "  }\n"
                           "}\n";
    opts.config_body += "service imap-login {\n"
                        "  inet_listener imap {\n"
                        "    port = " +
                        std::to_string(port) + "\n  }\n}\n";
    DovecotInstance dc(opts);
    write_file(dc.base() + "/sql.conf.ext",
               "driver = pgsql\n"
               "connect = " +
                   db +
                   "\n"
                   "password_query = SELECT username AS user, password FROM users "
                   "WHERE username = '%u'\n");
    dc.start();
    std::vector<pid_t> pids = dc.processes();

    // The sql passdb (libdriver_pgsql.so from the copied module dir) answers.
    CHECK(dc.auth_test("carol@new.example", "sqlpass").exit_code == 0);
    CHECK(dc.auth_test("carol@new.example", "wrong").exit_code == 77);
    ImapClient c("127.0.0.1", port);
    CHECK(c.login("carol@new.example", "sqlpass").ok());
    c.logout();

    // Dovecot sees the override file; the machine's directory does not change.
    RunResult inside =
        run({"nsenter", "-t", std::to_string(dc.pid()), "-m", "-r", "--", "ls", real_dir});
    REQUIRE(inside.exit_code == 0);
    CHECK_THAT(inside.out, Contains("libsmoke_dummy_marker.so"));
    CHECK_THAT(inside.out, Contains("libdriver_pgsql.so"));
    CHECK(listing(real_dir) == real_before);
    CHECK(fs::read_symlink("/proc/self/ns/mnt") !=
          fs::read_symlink("/proc/" + std::to_string(dc.pid()) + "/ns/mnt"));

    // A restart re-copies the modules and works the same.
    dc.stop();
    CHECK_FALSE(any_alive(pids));
    dc.start();
    CHECK(dc.auth_test("carol@new.example", "sqlpass").exit_code == 0);
    pids = dc.processes();
    dc.stop();
    CHECK_FALSE(any_alive(pids));
    CHECK(listing(real_dir) == real_before);
}

TEST_CASE("run() and DovecotInstance failures are reported", "[integration][support]") {
    RunResult echo = run({"sh", "-c", "cat; echo err >&2; exit 3"}, "in", {{"X", "1"}});
    CHECK(echo.exit_code == 3);
    CHECK(echo.out == "in");
    CHECK(echo.err == "err\n");
    CHECK(run({"sh", "-c", "kill -9 $$"}).exit_code == 128 + 9);
    CHECK(run({"sh", "-c", "echo $X"}, "", {{"X", "v"}}).out == "v\n");
    CHECK_THROWS(run({"no-such-program-imapmig"}));
    CHECK(run({"sleep", "5"}, "", {}, 200).exit_code == 128 + 9);

    DovecotOptions opts;
    opts.name = "broken";
    opts.config_body = "no_such_setting = 1\n";
    DovecotInstance dc(opts);
    CHECK_THROWS_WITH(dc.start(), Contains("no_such_setting"));
    CHECK_FALSE(dc.running());
}
