// What differs between Dovecot 2.3 and 2.4, checked against the Dovecot this tree was built for:
// the shipped snippets pass Dovecot's own config check, `dovecot-sql-conf` prints a form that
// Dovecot reads, bad passdb settings are refused with a clear message, and one process holds
// one plugin state however many auth instances Dovecot makes.
#include "dovecot_conf24.hpp"
#include "migration_env.hpp"
#include "process.hpp"

#include "catch_compat.hpp"

#include <string>

using namespace testsupport;

namespace {

size_t occurrences(const std::string &text, const std::string &needle) {
    size_t n = 0;
    for (size_t pos = 0; (pos = text.find(needle, pos)) != std::string::npos; pos += needle.size())
        ++n;
    return n;
}

// doveconf's view of a config file: exit 0 and the effective settings, or the refusal.
RunResult doveconf(const std::string &config) {
    return run({"doveconf", "-n", "-c", config});
}

} // namespace

TEST_CASE("the shipped snippets pass this Dovecot's config check", "[integration][dovecot]") {
    MigrationEnv env;
    env.start_new_dovecot();
    const RunResult checked = doveconf(env.new_dovecot().config_path());
    INFO(checked.err);
    REQUIRE(checked.exit_code == 0);
    if (dovecot_24()) {
        CHECK_THAT(checked.out, Catch::Contains("passdb imapmigration {"));
        CHECK_THAT(checked.out, Catch::Contains("imapmigration_config_file = " + env.config_path));
        CHECK_THAT(checked.out, Catch::Contains("passdb sql {"));
    } else {
        CHECK_THAT(checked.out, Catch::Contains("driver = imapmigration"));
    }
    CHECK(env.imap_login(alice, alice_pw).status == "OK");
}

TEST_CASE("dovecot-sql-conf prints what this Dovecot reads", "[integration][dovecot]") {
    MigrationEnv env;
    env.start_new_dovecot();
    const RunResult printed = env.migrator({"dovecot-sql-conf", "--with-connect"});
    REQUIRE(printed.exit_code == 0);
    if (!dovecot_24()) {
        // 2.3 reads it as the sql driver's own file, not as dovecot.conf.
        CHECK_THAT(printed.out, Catch::Contains("\nconnect = " + env.db + "\n"));
        CHECK_THAT(printed.out, Catch::Contains("WHERE a.username = '%u'"));
        return;
    }
    CHECK_THAT(printed.out, Catch::Contains("passdb sql {"));
    CHECK_THAT(printed.out, Catch::Contains("WHERE a.username = '%{user}'"));
    // accounts.password_scheme of the YAML (the harness's: SHA512-CRYPT)
    CHECK_THAT(printed.out, Catch::Contains("default_password_scheme = SHA512-CRYPT"));
    // The printed file replaces the test's own one: the next login is answered by it.
    write_file(env.dir.file("dovecot-sql-imapmigration.conf.ext"), printed.out, 0640);
    const RunResult checked = doveconf(env.new_dovecot().config_path());
    INFO(checked.err);
    REQUIRE(checked.exit_code == 0);
    env.new_dovecot().stop();
    env.new_dovecot().start();
    CHECK(env.imap_login(alice, alice_pw).status == "OK");     // created by our passdb
    CHECK(env.imap_login(alice_new, alice_pw).status == "OK"); // then found by passdb sql
    CHECK(env.imap_login(alice_new, "wrong").status == "NO");

    const RunResult without = env.migrator({"dovecot-sql-conf"});
    REQUIRE(without.exit_code == 0);
    CHECK(without.out.find(env.db) == std::string::npos);
    CHECK_THAT(without.out, Catch::Contains("printed only with --with-connect"));
}

TEST_CASE("bad passdb settings are refused with a clear message", "[integration][dovecot]") {
    // 2.4: Dovecot's own config check refuses them before anything starts. 2.3: the auth
    // process stops at preinit (test_login_modes.cpp has those cases).
    if (!dovecot_24())
        return;
    const std::pair<std::string, std::string> cases[] = {
        {"threads=0", "imapmigration_hash_threads = 0: expected a number 1-999"},
        {"connections=1000", "imapmigration_sql_connections = 1000: expected a number 1-999"},
        {"threads=many", "imapmigration_hash_threads"},
        {"blocking=maybe", "use_worker"},
        {"pool=4", "pool"},
        {"relative.yaml", "imapmigration_config_file = relative.yaml: expected an absolute path"},
    };
    for (const auto &[bad, message] : cases) {
        INFO(bad);
        MigrationEnvOptions o;
        o.passdb_settings = bad;
        MigrationEnv env(o);
        CHECK_THROWS_WITH(env.start_new_dovecot(), Catch::Contains(message));
        CHECK(env.provider_attempts(bob) == 0);
    }
}

TEST_CASE("one plugin state per process, however many auth instances Dovecot makes",
          "[integration][dovecot]") {
    // 2.4 runs preinit for the default auth instance and once per protocol block; 2.3 merges
    // identical passdbs. Either way the config is loaded once and one set of connections and
    // hashing threads serves every protocol.
    MigrationEnvOptions o;
    o.new_dovecot_config = "protocol imap {\n  mail_max_userip_connections = 20\n}\n"
                           "protocol pop3 {\n  mail_max_userip_connections = 5\n}\n";
    MigrationEnv env(o);
    env.start_new_dovecot();
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.imap_login(alice, alice_pw).status == "OK");
    const std::string log = env.new_log();
    CHECK(occurrences(log, "imapmigration: version ") == 1);
    CHECK(env.count("accounts") == 2);
}
