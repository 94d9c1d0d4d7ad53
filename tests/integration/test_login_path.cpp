// The login path end to end: real PostgreSQL, a real old provider, the new Dovecot loading
// our module from the build tree through the shipped conf.d snippet.
#include "migration_env.hpp"
#include "process.hpp"
#include "silent_server.hpp"

#include "catch_compat.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace testsupport;

namespace {

bool nothing_written(MigrationEnv &env) {
    return env.count("domains") == 0 && env.count("accounts") == 0 &&
           env.count("migrations") == 0 && env.count("migration_events") == 0;
}

// Lines of the log that contain needle, leaving out debug lines.
int info_lines_with(const std::string &log, const std::string &needle) {
    int n = 0;
    size_t start = 0;
    while (start < log.size()) {
        size_t end = log.find('\n', start);
        if (end == std::string::npos)
            end = log.size();
        std::string_view line(log.data() + start, end - start);
        if (line.find(needle) != std::string_view::npos &&
            line.find("Debug:") == std::string_view::npos)
            ++n;
        start = end + 1;
    }
    return n;
}

std::string base64(const std::string &raw) {
    static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < raw.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(raw[i]) << 16;
        if (i + 1 < raw.size())
            v |= static_cast<unsigned char>(raw[i + 1]) << 8;
        if (i + 2 < raw.size())
            v |= static_cast<unsigned char>(raw[i + 2]);
        out += abc[(v >> 18) & 63];
        out += abc[(v >> 12) & 63];
        out += i + 1 < raw.size() ? abc[(v >> 6) & 63] : '=';
        out += i + 2 < raw.size() ? abc[v & 63] : '=';
    }
    return out;
}

bool hash_verifies(const std::string &hash, const std::string &password) {
    return run({"doveadm", "-O", "pw", "-t", hash, "-p", password}).exit_code == 0;
}

} // namespace

TEST_CASE("first login with old credentials creates domain, account and task", "[integration]") {
    MigrationEnvOptions o;
    o.password_scheme = "ARGON2ID"; // the memory-hard scheme, hashed inside the auth process
    MigrationEnv env(o);
    env.start_new_dovecot();

    auto reply = env.imap_login(bob, bob_pw);
    REQUIRE(reply.status == "OK");

    CHECK(env.sql("SELECT name FROM domains") == "other.example");
    CHECK(env.sql(
              "SELECT username || ' ' || address || ' ' || role || ' ' || enabled FROM accounts") ==
          bob + " " + bob + " SimpleUsers true");
    const std::string hash = env.sql("SELECT password FROM accounts");
    CHECK(hash.rfind("{ARGON2ID}$argon2id$", 0) == 0);
    CHECK(hash_verifies(hash, bob_pw));
    CHECK_FALSE(hash_verifies(hash, carol_pw));
    CHECK(env.sql("SELECT provider || ' ' || old_login || ' ' || state FROM migrations") ==
          "oldmail " + bob + " pending");
    // Sealed, not stored in clear: the password bytes are nowhere in the row.
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE secret IS NOT NULL AND "
                  "length(secret) > 40 AND position(convert_to('" +
                  bob_pw + "', 'UTF8') in secret) = 0") == "1");
    const std::string key_id = env.sql("SELECT secret_key_id FROM migrations");
    CHECK(env.migrator({"check-config"}).exit_code == 0);
    CHECK(key_id.size() == 16);
    CHECK(env.sql("SELECT kind FROM migration_events") == "created");
    CHECK(env.new_log().find("created domain other.example, account " + bob) != std::string::npos);

    SECTION("the second login is answered locally, even with the provider down") {
        env.old.stop();
        CHECK(env.imap_login(bob, bob_pw).status == "OK");
        CHECK(env.count("accounts") == 1);
        CHECK(env.count("migrations") == 1);
        CHECK(env.imap_login(bob, carol_pw).status == "NO");
    }
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("a renamed domain: account under the new name, later logins with it", "[integration]") {
    MigrationEnv env;
    env.start_new_dovecot();

    auto test = env.auth_test(alice, alice_pw);
    REQUIRE(test.exit_code == 0);
    // The login continues under the new address (doveadm shows the changed user field).
    CHECK(test.out.find("user=" + alice_new) != std::string::npos);
    CHECK(env.sql("SELECT name FROM domains") == "new.example");
    CHECK(env.sql("SELECT username FROM accounts") == alice_new);
    CHECK(env.sql("SELECT old_login FROM migrations") == alice);

    env.old.stop();
    CHECK(env.imap_login(alice_new, alice_pw).status == "OK");
    // Unlike the reference, clients still configured with the old address keep working: the
    // plugin checks the local hash of the account it created and renames the login.
    auto old_address = env.auth_test(alice, alice_pw);
    CHECK(old_address.exit_code == 0);
    CHECK(old_address.out.find("user=" + alice_new) != std::string::npos);
    CHECK(env.auth_test(alice, bob_pw).exit_code != 0);
    CHECK(env.count("accounts") == 1);
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("wrong password and provider down write nothing", "[integration]") {
    MigrationEnv env;
    env.start_new_dovecot();

    auto wrong = env.imap_login(bob, "not-" + bob_pw);
    CHECK(wrong.status == "NO");
    CHECK(wrong.text.find("UNAVAILABLE") == std::string::npos);
    CHECK(nothing_written(env));
    CHECK(env.new_log().find("rejected the credentials") != std::string::npos);

    env.old.stop();
    auto down = env.imap_login(bob, bob_pw);
    CHECK(down.status == "NO");
    CHECK(down.text.find("[UNAVAILABLE]") != std::string::npos); // temporary: the user may retry
    CHECK(nothing_written(env));

    env.old.start();
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.count("accounts") == 1);
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("auto_create_domains off refuses clearly until the domain exists", "[integration]") {
    MigrationEnvOptions o;
    o.auto_create_domains = false;
    MigrationEnv env(o);
    env.start_new_dovecot();

    CHECK(env.imap_login(bob, bob_pw).status == "NO");
    CHECK(nothing_written(env));
    CHECK(env.new_log().find("domain other.example does not exist here and "
                             "accounts.auto_create_domains is off") != std::string::npos);

    env.sql("INSERT INTO domains (name) VALUES ('other.example') RETURNING id");
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.count("domains") == 1);
    CHECK(env.count("migrations") == 1);
}

TEST_CASE("undeclared domains and malformed input never reach the provider", "[integration]") {
    MigrationEnv env;
    env.start_new_dovecot();

    CHECK(env.imap_login(stranger, stranger_pw).status == "NO");
    CHECK(env.provider_attempts(stranger) == 0);

    // A password with CR LF inside (possible with AUTHENTICATE PLAIN): refused before any check.
    {
        ImapClient client("127.0.0.1", env.new_imap_port);
        const std::string plain =
            std::string("\0", 1) + bob + std::string("\0", 1) + "x\r\nA1 LOGOUT";
        auto r = client.command("AUTHENTICATE PLAIN " + base64(plain));
        CHECK(r.status == "NO");
    }
    const std::string longname = std::string(300, 'a') + "@other.example";
    CHECK(env.imap_login(longname, bob_pw).status == "NO");
    CHECK(env.provider_attempts(bob) == 0);
    CHECK(nothing_written(env));
}

TEST_CASE("certificates are verified and STARTTLS is enforced", "[integration]") {
    SECTION("a certificate from an unknown CA is refused") {
        MigrationEnvOptions o;
        o.trust_provider_ca = false;
        MigrationEnv env(o);
        env.start_new_dovecot();
        auto r = env.imap_login(bob, bob_pw);
        CHECK(r.status == "NO");
        CHECK(r.text.find("[UNAVAILABLE]") != std::string::npos);
        CHECK(env.new_log().find("certificate") != std::string::npos);
        CHECK(nothing_written(env));
    }
    SECTION("STARTTLS works when offered") {
        MigrationEnvOptions o;
        o.security = "starttls";
        o.sync_yaml = "  engine: dsync\n"; // offlineimap's copies cannot enforce STARTTLS
        MigrationEnv env(o);
        env.start_new_dovecot();
        CHECK(env.imap_login(bob, bob_pw).status == "OK");
        CHECK(env.count("migrations") == 1);
    }
    SECTION("a server without STARTTLS is refused under security: starttls") {
        MigrationEnvOptions o;
        o.security = "starttls";
        o.sync_yaml = "  engine: dsync\n";
        o.provider_ssl = false;
        MigrationEnv env(o);
        env.start_new_dovecot();
        auto r = env.imap_login(bob, bob_pw);
        CHECK(r.status == "NO");
        CHECK(env.new_log().find("does not offer STARTTLS") != std::string::npos);
        CHECK(env.provider_attempts(bob) == 0); // the password never crossed in clear
        CHECK(nothing_written(env));
    }
}

TEST_CASE("ten concurrent first logins create one account and one task", "[integration]") {
    MigrationEnv env;
    env.start_new_dovecot();

    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 10; ++i)
        threads.emplace_back([&] {
            try {
                if (env.imap_login(carol, carol_pw).status == "OK")
                    ++ok;
            } catch (const std::exception &) {
            }
        });
    for (auto &t : threads)
        t.join();
    INFO(env.new_log());
    CHECK(ok == 10);
    CHECK(env.count("accounts") == 1);
    CHECK(env.count("migrations") == 1);
    CHECK(env.count("domains") == 1);
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("rejected checks are limited per login and per remote IP", "[integration]") {
    MigrationEnvOptions o;
    o.max_failures_per_user = 2;
    o.max_failures_per_ip = 3;
    MigrationEnv env(o);
    env.start_new_dovecot();

    SECTION("per login") {
        for (int i = 0; i < 2; ++i)
            CHECK(env.auth_test(bob, "wrong-" + std::to_string(i), "127.0.0.21").exit_code != 0);
        int asked = env.provider_attempts(bob);
        CHECK(asked == 2);
        // Refused without asking the provider, even with the right password, from anywhere.
        CHECK(env.auth_test(bob, "wrong-again", "127.0.0.22").exit_code != 0);
        CHECK(env.auth_test(bob, bob_pw, "127.0.0.23").exit_code != 0);
        CHECK(env.provider_attempts(bob) == asked);
        CHECK(nothing_written(env));
        // Logged once at info, not once per attempt (repeats are debug lines).
        CHECK(info_lines_with(env.new_log(), "too many rejected logins for this login") == 1);
        // Another user is unaffected.
        CHECK(env.auth_test(carol, carol_pw, "127.0.0.24").exit_code == 0);
    }
    SECTION("per remote IP") {
        const std::string ip = "127.0.0.31";
        CHECK(env.auth_test(alice, "wrong-1", ip).exit_code != 0);
        CHECK(env.auth_test(bob, "wrong-1", ip).exit_code != 0);
        CHECK(env.auth_test(carol, "wrong-1", ip).exit_code != 0);
        CHECK(env.auth_test(bob, bob_pw, ip).exit_code != 0);
        CHECK(env.provider_attempts(bob) == 1);
        CHECK(env.new_log().find("too many rejected logins for this remote IP") !=
              std::string::npos);
        CHECK(env.auth_test(bob, bob_pw, "127.0.0.32").exit_code == 0);
    }
}

TEST_CASE("concurrent checks per provider are capped by max_connections", "[integration]") {
    SilentServer slow;
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_port_override = slow.port;
    o.max_connections = 1;
    o.slot_wait_seconds = 1;
    o.timeout_seconds = 3;
    MigrationEnv env(o);
    env.start_new_dovecot();

    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (const std::string &user : {alice, bob, carol})
        threads.emplace_back([&, user] {
            if (env.auth_test(user, "whatever", "127.0.0.41").exit_code != 0)
                ++failed;
        });
    for (auto &t : threads)
        t.join();
    CHECK(failed == 3);
    CHECK(slow.peak == 1);
    CHECK(slow.total == 1); // the two others gave up waiting for the slot
    CHECK(env.new_log().find("connections busy (max_connections)") != std::string::npos);
    CHECK(env.new_log().find("timed out") != std::string::npos);
    CHECK(nothing_written(env));
}

TEST_CASE("a bad configuration at start: errors logged, first logins refused", "[integration]") {
    MigrationEnvOptions o;
    o.extra_yaml = "bogus_key: 1\n";
    MigrationEnv env(o);
    env.start_new_dovecot();
    CHECK(env.auth_test(bob, bob_pw).exit_code != 0);
    const std::string log = env.new_log();
    CHECK(log.find("imap-migration.yaml:") != std::string::npos);
    CHECK(log.find("bogus_key") != std::string::npos);
    CHECK(log.find("imapmigration:") != std::string::npos);
    CHECK(env.provider_attempts(bob) == 0);
}
