// The plugin's two modes: non-blocking in the auth process (default) and blocking=yes in
// auth-worker processes; passdb args errors; Dovecot stopping while provider checks are in flight.
#include "delay_proxy.hpp"
#include "migration_env.hpp"
#include "process.hpp"
#include "silent_server.hpp"

#include "catch_compat.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>
#include <vector>

using namespace testsupport;

namespace {

// Lines of the new Dovecot's log from a given process kind, "auth" or "auth-worker": the name
// after the timestamp, then ':' (2.3: "auth: Info: ...") or '(' (2.4 puts the request's user
// and session there: "auth(bob,127.0.0.1,<...>): Info: ...").
bool logged_by(const std::string &log, const std::string &process, const std::string &needle) {
    size_t pos = 0;
    while ((pos = log.find(needle, pos)) != std::string::npos) {
        const size_t bol = log.rfind('\n', pos) + 1; // npos + 1 == 0 on the first line
        const size_t after = bol + 16 + process.size();
        if (log.compare(bol + 16, process.size(), process) == 0 && after < log.size() &&
            (log[after] == ':' || log[after] == '('))
            return true;
        pos += needle.size();
    }
    return false;
}

// A line our passdb logged for `user`: "imapmigration(USER...): ..." (2.3), "auth(USER...)...:
// imapmigration: ..." (2.4 names the passdb after the request).
bool passdb_logged_for(const std::string &log, const std::string &user) {
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        if (line.find("imapmigration(" + user) != std::string::npos ||
            (line.find("auth(" + user) != std::string::npos &&
             line.find(": imapmigration: ") != std::string::npos))
            return true;
    return false;
}

bool wait_for_passdb_log(MigrationEnv &env, const std::string &user, int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!passdb_logged_for(env.new_log(), user)) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

// imap-login's line for a session that started as `user`: "Login: user=<...>" (2.3),
// "Logged in: user=<...>" (2.4).
bool session_started_as(const std::string &log, const std::string &user) {
    return log.find("Login: user=<" + user + ">") != std::string::npos ||
           log.find("Logged in: user=<" + user + ">") != std::string::npos;
}

} // namespace

TEST_CASE("non-blocking mode answers first logins in the auth process", "[integration]") {
    MigrationEnv env;
    env.start_new_dovecot();
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.imap_login(alice, alice_pw).status == "OK");
    CHECK(env.count("accounts") == 2);
    CHECK(env.count("migrations") == 2);
    const std::string log = env.new_log();
    CHECK(log.find("non-blocking, 2 SQL connection(s), 4 hashing thread(s)") != std::string::npos);
    CHECK(logged_by(log, "auth", "created domain other.example, account bob@other.example"));
    CHECK_FALSE(logged_by(log, "auth-worker", "created domain"));
    // The rename travels back from the asynchronous path too: the session runs as the new name.
    CHECK(session_started_as(log, "alice@new.example"));
    CHECK(env.imap_login(alice_new, alice_pw).status == "OK");
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("blocking=yes runs the same login path in auth-worker processes", "[integration]") {
    MigrationEnvOptions o;
    o.passdb_settings = "blocking=yes";
    MigrationEnv env(o);
    env.start_new_dovecot();
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.imap_login(carol, "wrong password").status == "NO");
    CHECK(env.imap_login(alice, alice_pw).status == "OK");
    CHECK(env.count("accounts") == 2);
    CHECK(env.count("migrations") == 2);
    const std::string log = env.new_log();
    CHECK(log.find("blocking (auth-worker)") != std::string::npos);
    CHECK(logged_by(log, "auth-worker", "created domain other.example, account bob@other.example"));
    CHECK(session_started_as(log, "alice@new.example"));
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("bad passdb args stop the auth process with a clear message", "[integration]") {
    // 2.4 has settings instead of args, refused by Dovecot's config check before the auth
    // process starts: test_dovecot_line.cpp, "bad passdb settings are refused ...".
    if (dovecot_24())
        return;
    // One environment; each bad value gets a fresh Dovecot (the database and the old provider
    // stay: no login may reach them).
    MigrationEnv env;
    for (const std::string bad :
         {"threads=0", "threads=many", "connections=0", "blocking=maybe", "pool=4"}) {
        if (env.new_dovecot_started())
            env.new_dovecot().stop(); // the next one listens on the same port
        env.options.passdb_settings = bad;
        env.start_new_dovecot();
        CHECK(env.auth_test(bob, bob_pw).exit_code != 0);
        const std::string log = env.new_log();
        INFO(bad);
        CHECK(log.find("Fatal: imapmigration: passdb args: ") != std::string::npos);
        CHECK(env.provider_attempts(bob) == 0);
    }
}

TEST_CASE("an auth process stopped with provider checks in flight fails them cleanly",
          "[integration]") {
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_ssl = false;
    o.timeout_seconds = 20;
    MigrationEnv env(o);
    // Every LOGIN at the old provider takes 4 s: the checks are still running when we stop.
    DelayProxy proxy(env.old.imap_port(), std::chrono::milliseconds(4000));
    env.options.provider_port_override = proxy.port();
    env.write_config();
    env.start_new_dovecot();

    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (const auto &[user, pw] :
         {std::pair{bob, bob_pw}, std::pair{carol, carol_pw}, std::pair{alice, alice_pw}})
        clients.emplace_back([&, user = user, pw = pw] {
            try {
                ImapClient c("127.0.0.1", env.new_imap_port, 30000);
                if (c.login(user, pw).ok())
                    ++answered;
            } catch (const std::exception &) {
                // the server went away: expected
            }
        });
    for (int i = 0; i < 100 && proxy.delayed_commands() < 3; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(proxy.delayed_commands() == 3);
    // SIGTERM to the auth process alone (Dovecot's log process stays to record its exit; at a
    // full shutdown it stops listening to auth first). The master starts a new one.
    const pid_t auth = env.new_dovecot().auth_processes().auth;
    REQUIRE(auth > 0);
    const auto stop_started = std::chrono::steady_clock::now();
    kill(auth, SIGTERM);
    for (auto &t : clients)
        t.join();
    const auto answers_took = std::chrono::steady_clock::now() - stop_started;

    CHECK(env.new_dovecot().wait_for_log("3 first login(s) in flight", 5000));
    CHECK(env.new_dovecot().wait_for_log("auth process shutting down during the provider check",
                                         5000));
    const std::string log = env.new_log();
    INFO(log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
    CHECK(answered == 0);
    CHECK(log.find("Panic") == std::string::npos);
    CHECK(log.find("Fatal") == std::string::npos);
    CHECK(log.find("killed with signal") == std::string::npos); // Dovecot's words for a crash
    CHECK(answers_took < std::chrono::seconds(3)); // nobody waited for the slow provider
    CHECK(env.count("accounts") == 0);
    CHECK(env.count("migrations") == 0);
    CHECK(env.sanitizer_reports().empty());
    // The provider slots went with the sessions: the new auth process logs users in.
    CHECK(env.imap_login(bob, bob_pw).status == "OK");
    CHECK(env.count("accounts") == 1);
}

TEST_CASE("non-blocking mode keeps max_connections with many logins on one SQL connection",
          "[integration]") {
    // Advisory locks are re-entrant: a session holding slot 0 for one login would be granted
    // it again for the next, were the slots it holds not skipped.
    SilentServer slow;
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_port_override = slow.port;
    o.max_connections = 2;
    o.slot_wait_seconds = 1;
    o.timeout_seconds = 3;
    o.passdb_settings = "connections=1";
    MigrationEnv env(o);
    env.start_new_dovecot();

    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int i = 0; i < 6; ++i)
        threads.emplace_back([&, i] {
            const std::string user = "user" + std::to_string(i) + "@old.example";
            if (env.auth_test(user, "whatever", "127.0.0.5" + std::to_string(i)).exit_code != 0)
                ++failed;
        });
    for (auto &t : threads)
        t.join();
    CHECK(failed == 6);
    CHECK(slow.peak == 2);
    CHECK(slow.total == 2); // the four others gave up waiting for a slot
    const std::string log = env.new_log();
    CHECK(log.find("non-blocking, 1 SQL connection(s)") != std::string::npos);
    CHECK(log.find("connections busy (max_connections)") != std::string::npos);
    CHECK(env.count("accounts") == 0);
    CHECK(env.sanitizer_reports().empty());
}

TEST_CASE("both modes ride out a PostgreSQL restart and outage", "[integration]") {
    MigrationEnvOptions o;
    o.passdb_settings = GENERATE(as<std::string>{}, "", "blocking=yes");
    INFO("passdb args: " << o.passdb_settings);
    MigrationEnv env(o);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK"); // the sessions are connected now

    // The sessions' connections die with the server: the next login's first statement fails
    // on the old connection and is retried once on a new one. (passdb only: Dovecot's own
    // pgsql driver fails its first queries after a restart, whatever we do.)
    env.pg.restart();
    CHECK(env.auth_test(alice, alice_pw).exit_code == 0);
    CHECK(env.count("accounts") == 2);

    // Down: a temporary failure that names the database, not a hang, and nothing else breaks.
    env.pg.stop();
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(env.auth_test(carol, carol_pw).exit_code != 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    CHECK(wait_for_passdb_log(env, "carol@other.example", 5000));
    env.pg.start();
    CHECK(env.auth_test(carol, carol_pw).exit_code == 0);
    CHECK(env.count("accounts") == 3);
    CHECK(env.count("migrations") == 3);
    const std::string log = env.new_log();
    CHECK(log.find("PostgreSQL connection (") != std::string::npos);
    CHECK(log.find("Panic") == std::string::npos);
    CHECK(log.find("Fatal") == std::string::npos);
    CHECK(env.logs_free_of_passwords());
    CHECK(env.sanitizer_reports().empty());
}
