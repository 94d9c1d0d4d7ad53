// Passwords kept current while migrating (issue 13 item 5), against a real old Dovecot, the new
// Dovecot with the module and PostgreSQL: until a migration is finished the old provider is the
// authority for the user's password; afterwards only the local one counts.
#include "migration_env.hpp"
#include "process.hpp"

#include "catch_compat.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <string>

using namespace testsupport;

namespace {

const std::string bob_new_pw = "B0b-Changed-At-0ld!";
const std::string bob_third_pw = "B0b-Third-0ne?";

std::string task_of(MigrationEnv &env, const std::string &user) {
    return env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.username = '" +
                   user + "'");
}

// One worker pass over what is due; the task's state afterwards. Its output is kept for the
// password check.
std::string sync_once(MigrationEnv &env, const std::string &id, std::string &output) {
    auto r = env.migrator({"worker", "--once"});
    output += r.out + r.err;
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return env.sql("SELECT state FROM migrations WHERE id = " + id);
}

// Messages in INBOX as the client sees it after logging in to the new server.
long inbox_messages(MigrationEnv &env, const std::string &user, const std::string &password) {
    ImapClient c("127.0.0.1", env.new_imap_port);
    auto login = c.login(user, password);
    INFO(login.status + " " + login.text);
    REQUIRE(login.ok());
    auto sel = c.command("EXAMINE INBOX");
    REQUIRE(sel.ok());
    long exists = -1;
    for (const auto &line : sel.untagged)
        if (line.size() > 9 && line.compare(line.size() - 7, 7, " EXISTS") == 0)
            exists = std::stol(line.substr(2));
    c.logout();
    return exists;
}

struct PgConnCloser {
    void operator()(PGconn *c) const { PQfinish(c); }
};

// LISTENs to the channel first logins and admin actions wake the worker on.
class WakeUps {
public:
    explicit WakeUps(const std::string &conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
        REQUIRE(PQstatus(conn_.get()) == CONNECTION_OK);
        PGresult *r = PQexec(conn_.get(), "LISTEN imap_migration");
        REQUIRE(PQresultStatus(r) == PGRES_COMMAND_OK);
        PQclear(r);
    }
    // The payloads delivered so far (migration IDs).
    std::vector<std::string> received() {
        PQconsumeInput(conn_.get());
        while (PGnotify *n = PQnotifies(conn_.get())) {
            got_.emplace_back(n->extra);
            PQfreemem(n);
        }
        return got_;
    }

private:
    std::unique_ptr<PGconn, PgConnCloser> conn_;
    std::vector<std::string> got_;
};

} // namespace

TEST_CASE("a password changed at the old provider mid-migration: the new one logs in (proxied, "
          "then here), hash and secret follow, the rejected task resumes; after finished only "
          "the local password counts",
          "[integration][password]") {
    MigrationEnvOptions o;
    o.extra_yaml = "    sync:\n      engine: dsync\n    cutover: proxy\n";
    o.password_scheme = "SHA512-CRYPT"; // cheap: the hashes are not what this test is about
    // The proxy's host field is the provider's host, and Dovecot 2.4's login process connects
    // to the first address of a name only (::1 for "localhost" in the Debian 13 root), while
    // the old provider listens on 127.0.0.1 only.
    o.provider_host = "127.0.0.1";
    o.sync_yaml += "  engine: dsync\n"; // offlineimap refuses an IP host with TLS
    MigrationEnv env(o);
    env.seed_mail(bob, "", 5);
    env.trust_old_provider_in_proxies();
    env.start_new_dovecot();
    std::string output;

    // The first login creates the migration; it proxies until the first complete sync.
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    REQUIRE_FALSE(id.empty());
    const std::string account = "FROM accounts WHERE username = '" + bob + "'";
    const std::string hash_before = env.sql("SELECT password " + account);
    const std::string secret_before =
        env.sql("SELECT encode(secret, 'hex') FROM migrations WHERE id = " + id);

    // The user changes the password at the old provider: the worker's next run is rejected.
    env.old.set_password(bob, bob_new_pw);
    REQUIRE(sync_once(env, id, output) == "credentials_rejected");

    // The new password: the local hash rejects it, the old provider accepts it. Still in the
    // proxy window, so the session runs at the old provider and sees the old mailbox.
    WakeUps wakeups(env.db);
    const int attempts_before = env.provider_attempts(bob);
    CHECK(inbox_messages(env, bob, bob_new_pw) == 5);
    CHECK(env.provider_attempts(bob) == attempts_before + 2); // our check, then the proxy
    CHECK(env.sql("SELECT password <> '" + hash_before + "' " + account) == "t");
    CHECK(env.sql("SELECT encode(secret, 'hex') <> '" + secret_before +
                  "' AND password_changed_at IS NOT NULL FROM migrations WHERE id = " + id) == "t");
    CHECK(env.migrator({"migrations", "show", id})
              .out.find("old password:     stored (sealed), changed at the old provider (taken "
                        "over by a login at ") != std::string::npos);
    auto secret = env.migrator({"migrations", "secret", id, "old"});
    CHECK(secret.out == bob_new_pw + "\n");
    // Resumed: due now, the worker woken, the change in the event log.
    CHECK(env.sql("SELECT state || ' ' || (next_sync_at <= now()) || ' ' || attempts || ' ' ||"
                  " coalesce(last_error, '-') FROM migrations WHERE id = " +
                  id) == "pending true 0 -");
    const auto woken = wakeups.received();
    CHECK(std::count(woken.begin(), woken.end(), id) == 1);
    CHECK(env.sql("SELECT message FROM migration_events WHERE kind = 'password_changed'"
                  " AND migration_id = " +
                  id) == "a login brought the password changed at the old provider; resumed");

    // The old password no longer works: the local hash was replaced, the provider rejects it.
    CHECK(env.imap_login(bob, bob_pw).status == "NO");
    CHECK(env.provider_attempts(bob) == attempts_before + 3);

    // The resumed task syncs with the new password; the proxy window ends, logins are local.
    REQUIRE(sync_once(env, id, output) == "synced");
    const int attempts_synced = env.provider_attempts(bob);
    CHECK(inbox_messages(env, bob, bob_new_pw) == 5);
    CHECK(env.provider_attempts(bob) == attempts_synced); // neither checked nor proxied

    // Finished: the provider is no longer asked; a password only it knows is refused.
    REQUIRE(env.migrator({"migrations", "finish", id}).exit_code == 0);
    REQUIRE(sync_once(env, id, output) == "finished");
    env.old.set_password(bob, bob_third_pw);
    const int attempts_finished = env.provider_attempts(bob);
    CHECK(env.imap_login(bob, bob_third_pw).status == "NO");
    CHECK(env.provider_attempts(bob) == attempts_finished);
    CHECK(
        env.new_dovecot().wait_for_log("migration finished: only the local password counts", 3000));
    CHECK(inbox_messages(env, bob, bob_new_pw) == 5);
    CHECK(env.sql("SELECT password_changed_at IS NOT NULL AND secret IS NULL FROM migrations"
                  " WHERE id = " +
                  id) == "t");

    CHECK(env.logs_free_of_passwords());
    for (const std::string &pw : {bob_new_pw, bob_third_pw}) {
        CHECK(env.new_log().find(pw) == std::string::npos);
        CHECK(output.find(pw) == std::string::npos);
    }
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("blocking=yes takes over a password changed at the old provider in the auth-worker",
          "[integration][password]") {
    MigrationEnvOptions o;
    o.passdb_settings = "blocking=yes";
    o.password_scheme = "SHA512-CRYPT"; // cheap: the hashes are not what this test is about
    MigrationEnv env(o);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    env.old.set_password(bob, bob_new_pw);
    CHECK(env.imap_login(bob, bob_new_pw).status == "OK");
    CHECK(env.imap_login(bob, bob_pw).status == "NO");
    CHECK(env.migrator({"migrations", "secret", id, "old"}).out == bob_new_pw + "\n");
    // Not rejected by the worker yet: the task keeps its state, only the password changed.
    CHECK(env.sql("SELECT state || ' ' || (password_changed_at IS NOT NULL) FROM migrations") ==
          "pending true");
    // Answered in an auth-worker process, as blocking=yes says.
    const std::string log = env.new_log();
    const size_t at = log.find("password changed at provider oldmail");
    REQUIRE(at != std::string::npos);
    const size_t bol = log.rfind('\n', at) + 1; // npos + 1 == 0 on the first line
    CHECK(log.substr(bol, at - bol).find("auth-worker") != std::string::npos);
    CHECK(env.logs_free_of_passwords());
    CHECK(log.find(bob_new_pw) == std::string::npos);
}
