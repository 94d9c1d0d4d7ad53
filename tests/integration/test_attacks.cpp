// The product under attack, end to end: a hostile fake provider, a man in the middle that strips
// STARTTLS (or AUTH=PLAIN), a broken configuration reloaded into a running Dovecot.
#include "hostile_imap_server.hpp"
#include "migration_env.hpp"
#include "process.hpp"
#include "starttls_strip_proxy.hpp"
#include "temp_dir.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <algorithm>
#include <chrono>

#include <sys/stat.h>

using namespace testsupport;

namespace {

bool contains(const std::vector<std::string> &v, const std::string &s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

int lines_of(const std::string &text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// The YAML from env.options, plus the new Dovecot's config for the dsync engine.
void write_dsync_config(MigrationEnv &env) {
    env.write_config();
}

std::string task_of(MigrationEnv &env, const std::string &user) {
    return env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.username = '" +
                   user + "'");
}

} // namespace

TEST_CASE("attack: a hostile provider never creates an account", "[integration][attack]") {
    HostileScript script;
    std::string expect_in_log;
    SECTION("PREAUTH greeting (logged in without a password)") {
        script.greeting = "* PREAUTH [CAPABILITY IMAP4rev1] Logged in";
        expect_in_log = "PREAUTH";
    }
    SECTION("garbage") {
        script.garbage = "\x16\x03\x01 not imap at all\r\nA001 OK LOGIN completed\r\n";
    }
    SECTION("greets, then never answers the LOGIN") {
        script.login_reply = "";
        expect_in_log = "timed out";
    }
    HostileImapServer server(script);
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_port_override = server.port();
    o.timeout_seconds = 2;
    MigrationEnv env(o);
    env.start_new_dovecot();
    auto r = env.imap_login(bob, bob_pw);
    CHECK(r.status == "NO");
    CHECK(r.text.find("[UNAVAILABLE]") != std::string::npos); // temporary, not "wrong password"
    CHECK(server.connections() >= 1);
    CHECK(env.count("accounts") == 0);
    CHECK(env.count("migrations") == 0);
    if (!expect_in_log.empty())
        CHECK(env.new_log().find(expect_in_log) != std::string::npos);
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("attack: an 8-bit password reaches a provider that offers only LOGIN",
          "[integration][attack]") {
    // A real Dovecot answers an 8-bit atom with `BAD 8bit data in atom`; without AUTH=PLAIN in
    // CAPABILITY (stripped here: Dovecot itself cannot hide it and keep LOGIN) curl falls back
    // to exactly that. Both modes send a literal instead: blocking=yes in the auth-worker, the
    // default mode on a work thread.
    const std::string dora = "dora@other.example";
    const std::string dora_pw = "Gr\xC3\xBC\xC3\x9F Gott \xE2\x82\xAC-\xC3\xA4";
    const std::string mode = GENERATE(std::string("blocking=yes"), std::string(""));
    INFO("passdb settings: " << mode);
    MigrationEnvOptions o;
    o.security = "none";
    o.passdb_settings = mode;
    o.old_users = {{dora, dora_pw}};
    MigrationEnv env(o);
    StartTlsStripProxy proxy(env.old.imap_port(), {"AUTH=PLAIN"});
    env.options.provider_port_override = proxy.port();
    env.write_config();
    env.start_new_dovecot();
    auto r = env.imap_login(dora, dora_pw);
    std::string verbs;
    for (const auto &v : proxy.client_verbs())
        verbs += v + " ";
    INFO("proxy connections " << proxy.connections() << ", client verbs: " << verbs);
    CHECK(r.status == "OK");
    CHECK(contains(proxy.client_verbs(), "LOGIN"));
    CHECK_FALSE(contains(proxy.client_verbs(), "AUTHENTICATE"));
    CHECK(env.count("accounts") == 1);
    // A wrong 8-bit password is still a plain rejection.
    auto wrong = env.imap_login(carol, "Gr\xC3\xBC\xC3\x9F-falsch");
    CHECK(wrong.status == "NO");
    CHECK(wrong.text.find("[UNAVAILABLE]") == std::string::npos);
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("attack: a broken configuration reloaded keeps the mail server up",
          "[integration][attack]") {
    MigrationEnv env;
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK"); // bob is migrated now

    const std::string yaml = read_file(env.config_path);
    const int broken_line = lines_of(yaml) + 1;
    write_file(env.config_path, yaml + "bogus_key: 1\n", 0640);
    const size_t offset = env.new_dovecot().log_size();
    env.new_dovecot().reload();
    // The auth process starts again on the next login and reads the file.
    {
        auto migrated = env.imap_login(bob, bob_pw); // migrated user: SQL passdb
        INFO(migrated.text);
        CHECK(migrated.status == "OK");
    }
    REQUIRE(env.new_dovecot().wait_for_log("NOT CONFIGURED", 15000, offset));
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.imap_login(bob + "*" + master_user, master_pw).status == "OK"); // master user

    auto first = env.imap_login(carol, carol_pw); // not migrated: needs the provider
    CHECK(first.status == "NO");
    CHECK(first.text.find("[UNAVAILABLE]") != std::string::npos);
    CHECK(env.provider_attempts(carol) == 0);
    CHECK(task_of(env, carol).empty());
    const std::string log = env.new_dovecot().log_since(offset);
    CHECK(log.find(env.config_path + ":" + std::to_string(broken_line) + ": bogus_key:") !=
          std::string::npos);
    CHECK(log.find("temporary failure for this first login") != std::string::npos);

    // Fixed and reloaded: first logins work again.
    write_file(env.config_path, yaml, 0640);
    env.new_dovecot().reload();
    CHECK(env.imap_login(carol, carol_pw).status == "OK");
}

TEST_CASE("attack: STARTTLS stripped or an untrusted certificate: no copy in clear",
          "[integration][attack]") {
    SECTION("the offlineimap engine with security: starttls is refused up front") {
        MigrationEnv env; // set up (db upgrade) with a valid config, then the attack
        StartTlsStripProxy proxy(env.old.imap_port());
        env.options.security = "starttls";
        env.options.provider_port_override = proxy.port();
        env.write_config();
        auto check = env.migrator({"check-config"});
        CHECK(check.exit_code != 0);
        CHECK(check.err.find("providers[0].security: `starttls` is not safe with the offlineimap "
                             "engine") != std::string::npos);
        CHECK(check.err.find("`security: tls`") != std::string::npos);
        auto worker = env.migrator({"worker", "--once"});
        CHECK(worker.exit_code != 0);
        CHECK(proxy.connections() == 0);
    }

    // dsync: the first login goes straight to the provider (STARTTLS offered, certificate
    // trusted), then the worker's copy meets the attack.
    MigrationEnvOptions o;
    o.security = "starttls";
    o.sync_yaml = "  engine: dsync\n";
    MigrationEnv env(o);
    env.seed_mail(bob, "", 3);
    env.start_new_dovecot();
    write_dsync_config(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    REQUIRE_FALSE(id.empty());

    SECTION("dsync through a proxy that strips STARTTLS") {
        StartTlsStripProxy proxy(env.old.imap_port());
        env.options.provider_port_override = proxy.port();
        write_dsync_config(env);
        auto r = env.migrator({"worker", "--once"});
        INFO(r.out + r.err);
        INFO("exit " << r.exit_code << ", state and error: "
                     << env.sql("SELECT state || ' ' || coalesce(last_error, '') FROM "
                                "migrations WHERE id = " +
                                id));
        CHECK(r.exit_code == 0);
        CHECK(env.sql("SELECT state FROM migrations WHERE id = " + id) != "synced");
        CHECK(proxy.connections() >= 1); // the copy did go through the attacker
        CHECK_FALSE(contains(proxy.client_verbs(), "LOGIN"));
        CHECK_FALSE(contains(proxy.client_verbs(), "AUTHENTICATE"));
        CHECK(proxy.client_bytes().find(bob_pw) == std::string::npos);
        CHECK(env.sql("SELECT count(*) FROM migrations WHERE id = " + id +
                      " AND state = 'synced'") == "0");
    }
    SECTION("dsync with a certificate from a CA it was not told to trust") {
        env.options.trust_provider_ca = false;
        write_dsync_config(env);
        auto r = env.migrator({"worker", "--once"});
        INFO(r.out + r.err);
        CHECK(r.exit_code == 0);
        CHECK(env.sql("SELECT last_error FROM migrations WHERE id = " + id).find("certificate") !=
              std::string::npos);
        CHECK(env.sql("SELECT state FROM migrations WHERE id = " + id) != "synced");
        CHECK(env.provider_attempts(bob) == 1); // only the first login's check logged in
    }
}

TEST_CASE("attack: hostile folder names and a pathological folder_exclude do not hang the worker",
          "[integration][attack]") {
    // `(a*)*b` against a folder of 34 a's spun a worker thread for ten minutes.
    HostileScript script;
    script.folders = {"INBOX",          std::string(34, 'a'), std::string(5000, 'a'),
                      "\"quoted\\name", "../../etc/passwd",   "Entw&APw-rfe"};
    HostileImapServer server(script);
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_port_override = server.port();
    o.sync_yaml = "  folder_exclude: '(a*)*b'\n";
    MigrationEnv env(o);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK"); // the hostile server accepts anyone
    const auto start = std::chrono::steady_clock::now();
    auto r = env.migrator({"worker", "--once"});
    INFO(r.out + r.err);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(90));
    CHECK(contains(server.verbs(), "LIST")); // the folder filter did see the names
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("attack: check-config never blocks on special files nor echoes control characters",
          "[integration][attack]") {
    TempDir dir("imapmig-attack");
    const std::string fifo = dir.file("imap-migration.yaml");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    const auto start = std::chrono::steady_clock::now();
    auto blocked = run({migrator_path(), "-c", fifo, "check-config"}, {}, {}, 20000);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
    CHECK(blocked.exit_code == 1);
    CHECK(blocked.err.find("is a FIFO, not a regular file") != std::string::npos);

    const std::string evil = dir.file("evil.yaml");
    write_file(evil, "database: \"dbname=x\"\n"
                     "sync:\n"
                     "  offlineimap: \"$(id)\"\n"
                     "  runtime_dir: /dev/zero\n"
                     "local_imap:\n"
                     "  master_user: m\n"
                     "  master_password_file: /proc/self/mem\n"
                     "providers:\n"
                     "  - name: \"\\e]0;pwned\\a\\e[2J\"\n"
                     "    host: h.example\n"
                     "    domains: [{name: old.example}]\n");
    auto r = run({migrator_path(), "-c", evil, "check-config"}, {}, {}, 20000);
    CHECK(r.exit_code == 1);
    INFO(r.err);
    CHECK(std::none_of(r.err.begin(), r.err.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\n') || u == 0x7F;
    }));
    CHECK(r.err.find("\\x1B]0;pwned\\x07\\x1B[2J") != std::string::npos);
    CHECK(r.err.find("sync.offlineimap: expected the absolute path of a program") !=
          std::string::npos);
    CHECK(r.err.find("/dev/zero: is under /dev") != std::string::npos);
    CHECK(r.err.find("/proc/self/mem: is in /proc or /sys, not a regular file") !=
          std::string::npos);
}
