// The migrator worker against real servers: old provider with mail, new Dovecot with the
// module and a master user, PostgreSQL, offlineimap.
#include "migration_env.hpp"
#include "process.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

using namespace testsupport;

namespace {

// offlineimap processes working for this test's migrations (their rc is in its runtime dir).
int offlineimap_processes(const MigrationEnv &env) {
    auto r = run({"pgrep", "-c", "-f", "offlineimap -c " + env.runtime_dir});
    return r.out.empty() ? 0 : std::stoi(r.out);
}

void seed_bob(MigrationEnv &env) {
    env.seed_mail(bob, "", 300);
    env.seed_mail(bob, "Archive.2023", 100);
    env.seed_mail(bob, "Archive.2023.Q1", 20);
    env.seed_mail(bob, "Sent Items", 60);
    env.seed_mail(bob, "Entw&APw-rfe", 40); // "Entwürfe" in modified UTF-7
}

} // namespace

TEST_CASE("first login, then the worker copies every folder with its flags",
          "[integration][worker]") {
    MigrationEnv env;
    seed_bob(env);
    env.start_new_dovecot();
    WorkerProcess worker(env, "worker");

    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = env.sql("SELECT id FROM migrations");
    const std::string state = wait_for_state(env, id, {"synced", "failed", "credentials_rejected"});
    INFO(worker.output());
    INFO(env.sql("SELECT coalesce(last_error, '') FROM migrations"));
    REQUIRE(state == "synced");

    auto old_stats = folder_stats(env.old.dovecot(), bob, '.');
    auto new_stats = folder_stats(env.new_dovecot(), bob, '/');
    CHECK(old_stats.size() == 5);
    CHECK(old_stats.count("Entwürfe") == 1);
    CHECK(old_stats["INBOX"].messages == 300);
    CHECK(new_stats == old_stats);
    CAPTURE(old_stats, new_stats);
    CHECK(env.sql("SELECT messages_copied FROM migrations") == "520");
    // The size measured after the run is what Dovecot itself reports for the new mailbox.
    auto vsize = env.new_dovecot().doveadm({"mailbox", "status", "-u", bob, "vsize", "*"});
    long long expected_bytes = 0;
    for (size_t at = vsize.out.find("vsize="); at != std::string::npos;
         at = vsize.out.find("vsize=", at + 6))
        expected_bytes += std::stoll(vsize.out.substr(at + 6));
    CHECK(expected_bytes > 520 * 200);
    CHECK(env.sql("SELECT bytes_copied FROM migrations") == std::to_string(expected_bytes));
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'synced'") == "1");
    CHECK(env.sql("SELECT last_sync_at IS NOT NULL AND next_sync_at > now() + interval '50 min' "
                  "FROM migrations") == "t");
    // Nothing of the run is left in the runtime dir; the sync state stays.
    CHECK(run({"find", env.runtime_dir, "-type", "f"}).out.empty());
    struct stat st {};
    REQUIRE(stat((env.state_dir + "/migration" + id).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    // One mailbox of 520 messages serves both steps (a SECTION each would seed and sync it
    // twice): new mail at the old provider arrives with the next sync, nothing twice; then
    // finish: one more sync, then done and the old password wiped.
    {
        env.seed_mail(bob, "", 7, 1000);
        REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
        REQUIRE(wait_for_state(env, id, {"syncing"}, 10) == "syncing");
        REQUIRE(wait_for_state(env, id, {"synced", "failed"}) == "synced");
        CHECK(folder_stats(env.new_dovecot(), bob, '/')["INBOX"].messages == 307);
        REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
        REQUIRE(wait_for_state(env, id, {"syncing"}, 10) == "syncing");
        REQUIRE(wait_for_state(env, id, {"synced", "failed"}) == "synced");
        CHECK(folder_stats(env.new_dovecot(), bob, '/') ==
              folder_stats(env.old.dovecot(), bob, '.'));
        CHECK(env.sql("SELECT messages_copied FROM migrations") == "527");
    }
    {
        REQUIRE(env.migrator({"migrations", "finish", id}).exit_code == 0);
        REQUIRE(wait_for_state(env, id, {"finished", "failed"}) == "finished");
        CHECK(env.sql("SELECT secret IS NULL AND secret_key_id IS NULL FROM migrations") == "t");
        auto show = env.migrator({"migrations", "show", id});
        CHECK(show.out.find("old password:     wiped") != std::string::npos);
    }
    CHECK(worker.stop() == 0);
    CHECK(worker.output().find(bob_pw) == std::string::npos);
    CHECK(worker.output().find(master_pw) == std::string::npos);
    CHECK(offlineimap_processes(env) == 0);
}

TEST_CASE("provider down, then a changed old password: states, errors, retries",
          "[integration][worker]") {
    MigrationEnv env;
    env.seed_mail(bob, "", 10);
    env.seed_mail(carol, "", 12);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    REQUIRE(env.imap_login(carol, carol_pw).status == "OK");
    const std::string bob_id = env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = "
                                       "m.account_id WHERE a.username = '" +
                                       bob + "'");
    const std::string carol_id = env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = "
                                         "m.account_id WHERE a.username = '" +
                                         carol + "'");

    env.old.stop();
    auto down = env.migrator({"worker", "--once"});
    CHECK(down.exit_code == 0);
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE state = 'failed' AND attempts = 1"
                  " AND last_error <> '' AND next_sync_at > now() + interval '30 s'") == "2");
    auto failed = env.migrator({"migrations", "list", "--state", "failed"});
    CHECK(failed.out.find(bob) != std::string::npos);
    CHECK(failed.out.find(carol) != std::string::npos);

    env.old.start();
    env.old.set_password(bob, "a-new-0ld-password");
    for (const auto &id : {bob_id, carol_id})
        REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
    auto again = env.migrator({"worker", "--once"});
    INFO(again.err);
    CHECK(env.sql("SELECT state FROM migrations WHERE id = " + bob_id) == "credentials_rejected");
    CHECK(env.sql("SELECT last_error FROM migrations WHERE id = " + bob_id)
              .find("AUTHENTICATIONFAILED") != std::string::npos);
    CHECK(env.sql("SELECT state FROM migrations WHERE id = " + carol_id) == "synced");
    CHECK(folder_stats(env.new_dovecot(), carol, '/')["INBOX"].messages == 12);

    auto json = env.migrator({"migrations", "list", "--json", "--state", "credentials_rejected"});
    CHECK(json.exit_code == 0);
    CHECK(json.out.find("\"state\": \"credentials_rejected\"") != std::string::npos);
    CHECK(json.out.find(carol) == std::string::npos);
    // A rejected password is not retried by itself; resume asks for another try.
    CHECK(env.migrator({"migrations", "resync", bob_id}).exit_code == 1);
    CHECK(env.migrator({"migrations", "resume", bob_id}).exit_code == 0);
    CHECK(env.sql("SELECT state FROM migrations WHERE id = " + bob_id) == "pending");
    auto status = env.migrator({"status"});
    CHECK(status.exit_code == 0);
    CHECK(status.out.find("#" + carol_id + " " + carol + " synced") != std::string::npos);
}

TEST_CASE("killed, stopped and interrupted workers lose no task and copy nothing twice",
          "[integration][worker]") {
    MigrationEnv env;
    seed_bob(env);
    env.seed_mail(carol, "", 900); // long enough to be caught in the middle on a quiet machine
    env.start_new_dovecot();

    // SIGKILL in the middle of a sync; a new worker takes over once the lease expires.
    std::string bob_id;
    {
        WorkerProcess first(env, "first");
        REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
        bob_id = env.sql("SELECT id FROM migrations");
        bool copying = false;
        for (int i = 0; i < 240 && !copying; ++i) {
            copying =
                env.sql("SELECT messages_copied > 0 AND state = 'syncing' FROM migrations") == "t";
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        REQUIRE(copying);
        first.stop(SIGKILL);
    }
    // offlineimap gets SIGTERM when its worker dies (parent-death signal): it records the
    // message in hand and exits, so no orphan keeps the sync state locked for long.
    for (int i = 0; i < 240 && offlineimap_processes(env) > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    CHECK(offlineimap_processes(env) == 0);
    CHECK(env.sql("SELECT state FROM migrations") == "syncing"); // still claimed by the dead one
    env.sql("UPDATE migrations SET lease_expires = now() - interval '1 s' RETURNING id");
    auto takeover = env.migrator({"worker", "--once"});
    INFO(takeover.err);
    CHECK(env.sql("SELECT state FROM migrations WHERE id = " + bob_id) == "synced");
    CHECK(folder_stats(env.new_dovecot(), bob, '/') == folder_stats(env.old.dovecot(), bob, '.'));

    // SIGTERM: the running sync is interrupted and the task handed back, ready to go on.
    REQUIRE(env.imap_login(carol, carol_pw).status == "OK");
    const std::string carol_id =
        env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                "WHERE a.username = '" +
                carol + "'");
    {
        WorkerProcess w(env, "terminated");
        REQUIRE(wait_for_state(env, carol_id, {"syncing"}, 30) == "syncing");
        // Stop it while it copies (the first progress arrives with the 2 s heartbeat).
        bool copying = false;
        for (int i = 0; i < 240 && !copying; ++i) {
            copying = env.sql("SELECT messages_copied > 0 AND state = 'syncing' FROM migrations "
                              "WHERE id = " +
                              carol_id) == "t";
            if (!copying)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        REQUIRE(copying);
        auto t0 = std::chrono::steady_clock::now();
        int status = w.stop(SIGTERM);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15));
        CHECK(w.output().find("interrupted, handed back") != std::string::npos);
    }
    CHECK(offlineimap_processes(env) == 0);
    CHECK(env.sql("SELECT state || ' ' || (lease_owner IS NULL) FROM migrations WHERE id = " +
                  carol_id) == "pending true");

    // stop keeps workers away; resume lets them continue; the re-run duplicates nothing.
    REQUIRE(env.migrator({"migrations", "stop", carol_id}).exit_code == 0);
    CHECK(env.migrator({"worker", "--once"}).exit_code == 0);
    CHECK(env.sql("SELECT state FROM migrations WHERE id = " + carol_id) == "stopped");
    REQUIRE(env.migrator({"migrations", "resume", carol_id}).exit_code == 0);

    // Two workers at once: every due task is synced by exactly one of them.
    REQUIRE(env.migrator({"migrations", "resync", bob_id}).exit_code == 0);
    const std::string events_before =
        env.sql("SELECT count(*) FROM migration_events WHERE kind = 'sync_started'");
    {
        WorkerProcess a(env, "a", true), b(env, "b", true);
        for (int i = 0; i < 480 && (child_exited(a.pid) + child_exited(b.pid)) < 2; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        a.pid = b.pid = 0;
    }
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE state = 'synced'") == "2");
    CHECK(std::stoi(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'sync_started'")) -
              std::stoi(events_before) ==
          2);
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'failed'") == "0");
    CHECK(folder_stats(env.new_dovecot(), carol, '/') ==
          folder_stats(env.old.dovecot(), carol, '.'));
    CHECK(folder_stats(env.new_dovecot(), bob, '/') == folder_stats(env.old.dovecot(), bob, '.'));

    // delete: the task and its state go, the account and its mail stay.
    REQUIRE(env.migrator({"migrations", "delete", carol_id}).exit_code == 0);
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE id = " + carol_id) == "0");
    CHECK(env.sql("SELECT count(*) FROM accounts WHERE username = '" + carol + "'") == "1");
    CHECK(folder_stats(env.new_dovecot(), carol, '/')["INBOX"].messages == 900);
    struct stat st {};
    CHECK(stat((env.state_dir + "/migration" + carol_id).c_str(), &st) != 0);
    CHECK(env.migrator({"migrations", "show", carol_id}).exit_code == 1);
}

TEST_CASE("generate-offlineimap-config: the cron-style way, without passwords in files",
          "[integration][worker]") {
    MigrationEnv env;
    env.seed_mail(bob, "", 15);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string rc = env.dir.file("offlineimaprc");
    write_file(rc, "old content\n", 0644);
    auto gen = env.migrator({"generate-offlineimap-config", "--output", rc});
    INFO(gen.err);
    REQUIRE(gen.exit_code == 0);
    struct stat st {};
    REQUIRE(stat(rc.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat((rc + ".py").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const std::string text = read_file(rc) + read_file(rc + ".py");
    CHECK(text.find(bob_pw) == std::string::npos);
    CHECK(text.find(master_pw) == std::string::npos);

    auto sync = run({"offlineimap", "-c", rc, "-u", "basic"}, {}, {}, 120000);
    INFO(sync.out + sync.err);
    CHECK(sync.exit_code == 0);
    CHECK(folder_stats(env.new_dovecot(), bob, '/')["INBOX"].messages == 15);
    // The secret helper refuses terminals; through a pipe it answers.
    CHECK(env.migrator({"migrations", "secret", "1", "old"}).out == bob_pw + "\n");
}

TEST_CASE("sync options: NOTIFY wake-up, connection cap, folder exclude, two-way, reload",
          "[integration][worker]") {
    MigrationEnvOptions o;
    o.max_connections = 1;    // shared by logins and syncs: one sync at a time for this provider
    o.slot_wait_seconds = 30; // so a first login waits for the running sync's connection
    o.sync_yaml = "  folder_exclude: '^Junk$'\n  direction: both\n  max_parallel_accounts: 4\n";
    MigrationEnv env(o);
    env.seed_mail(bob, "", 5);
    env.seed_mail(bob, "Junk", 3);
    env.seed_mail(carol, "", 150);
    env.seed_mail(alice, "", 150);
    env.start_new_dovecot();
    WorkerProcess worker(env, "worker");
    std::this_thread::sleep_for(std::chrono::seconds(1)); // idle: only a NOTIFY wakes it early

    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    REQUIRE(wait_for_state(env, "1", {"syncing", "synced"}, 20) != "pending");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));
    REQUIRE(env.imap_login(carol, carol_pw).status == "OK");
    REQUIRE(env.imap_login(alice, alice_pw).status == "OK");

    int most_at_once = 0;
    for (int i = 0; i < 1200; ++i) {
        most_at_once =
            std::max(most_at_once,
                     std::stoi(env.sql("SELECT count(*) FROM migrations WHERE state = 'syncing'")));
        if (env.sql("SELECT count(*) FROM migrations WHERE state = 'synced'") == "3")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(worker.output());
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE state = 'synced'") == "3");
    CHECK(most_at_once == 1);

    auto bob_new = folder_stats(env.new_dovecot(), bob, '/');
    CHECK(bob_new["INBOX"].messages == 5);
    CHECK(bob_new.count("Junk") == 0);

    // Two-way: what the user files on the new server reaches the old one too.
    auto saved = env.new_dovecot().doveadm(
        {"save", "-u", bob, "-m", "INBOX"},
        "From: bob@other.example\r\nSubject: written on the new server\r\n\r\nhello\r\n");
    REQUIRE(saved.exit_code == 0);
    REQUIRE(env.migrator({"migrations", "resync", "1"}).exit_code == 0);
    REQUIRE(wait_for_state(env, "1", {"syncing"}, 10) == "syncing");
    REQUIRE(wait_for_state(env, "1", {"synced", "failed"}) == "synced");
    CHECK(folder_stats(env.old.dovecot(), bob, '.')["INBOX"].messages == 6);

    // SIGHUP reloads the configuration; a broken one is refused and the old one kept.
    auto logged = [&](const std::string &text) {
        for (int i = 0; i < 100; ++i) {
            if (worker.output().find(text) != std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    };
    ::kill(worker.pid, SIGHUP);
    CHECK(logged("worker: configuration reloaded"));
    write_file(env.config_path, read_file(env.config_path) + "bogus: 1\n", 0640);
    ::kill(worker.pid, SIGHUP);
    CHECK(logged("configuration not reloaded, keeping the old one"));
    CHECK(worker.stop() == 0);
}

TEST_CASE("the worker waits for db upgrade after a package upgrade", "[integration][worker]") {
    MigrationEnv env;
    // As if a newer package was installed and `db upgrade` not yet run.
    env.sql("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version) "
            "RETURNING version");
    auto once = env.migrator({"worker", "--once"});
    CHECK(once.exit_code == 1);
    CHECK(once.err.find("run `imap-migrator db upgrade`") != std::string::npos);
}

TEST_CASE("syncs leave one provider connection to first logins", "[integration][worker]") {
    MigrationEnvOptions o;
    o.max_connections = 2;
    o.slot_wait_seconds = 1; // a login finding no free connection fails fast
    o.sync_yaml = "  max_parallel_accounts: 4\n";
    MigrationEnv env(o);
    env.seed_mail(carol, "", 300);
    env.seed_mail(alice, "", 300);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(carol, carol_pw).status == "OK");
    REQUIRE(env.imap_login(alice, alice_pw).status == "OK");
    WorkerProcess worker(env, "worker");
    REQUIRE(wait_for_state(env, "1", {"syncing"}, 20) == "syncing");

    int most_at_once = 0;
    bool login_during_sync = false;
    for (int i = 0; i < 1200; ++i) {
        const int syncing =
            std::stoi(env.sql("SELECT count(*) FROM migrations WHERE state = 'syncing'"));
        most_at_once = std::max(most_at_once, syncing);
        if (syncing > 0 && !login_during_sync) {
            CHECK(env.imap_login(bob, bob_pw).status == "OK");
            login_during_sync = true;
        }
        if (env.sql("SELECT count(*) FROM migrations WHERE state = 'synced'") == "3")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(worker.output());
    CHECK(login_during_sync);
    CHECK(most_at_once == 1); // max_connections 2: one for syncs, one kept for logins
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE state = 'synced'") == "3");
}

namespace {

// Message-IDs in a folder, sorted (a duplicate shows up twice).
std::vector<std::string> folder_message_ids(const DovecotInstance &d, const std::string &user,
                                            const std::string &folder) {
    auto r = d.doveadm({"fetch", "-u", user, "hdr.message-id", "mailbox", folder, "all"});
    std::vector<std::string> ids;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("hdr.message-id: ", 0) == 0)
            ids.push_back(line.substr(16));
    std::sort(ids.begin(), ids.end());
    return ids;
}

} // namespace

TEST_CASE("offlineimap engine: an old server with every folder under INBOX. hands them over "
          "beside INBOX",
          "[integration][worker]") {
    MigrationEnvOptions o;
    o.old_provider_config =
        "namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n}\n";
    MigrationEnv env(o);
    env.seed_mail(bob, "", 4);
    env.seed_mail(bob, "Sent", 3);         // INBOX.Sent there
    env.seed_mail(bob, "Archive.2023", 2); // INBOX.Archive.2023 there
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = env.sql("SELECT id FROM migrations");
    auto r = env.migrator({"worker", "--once"});
    INFO(r.out + r.err);
    INFO(env.sql("SELECT coalesce(last_error, '') FROM migrations"));
    REQUIRE(env.sql("SELECT state FROM migrations") == "synced");
    DovecotInstance &fresh = env.new_dovecot();
    CHECK(folder_message_ids(fresh, bob, "INBOX") ==
          folder_message_ids(env.old.dovecot(), bob, "INBOX"));
    CHECK(folder_message_ids(fresh, bob, "Sent").size() == 3);
    CHECK(folder_message_ids(fresh, bob, "Sent") ==
          folder_message_ids(env.old.dovecot(), bob, "INBOX.Sent"));
    CHECK(folder_message_ids(fresh, bob, "Archive/2023") ==
          folder_message_ids(env.old.dovecot(), bob, "INBOX.Archive.2023"));
    const std::string folders = fresh.doveadm({"mailbox", "list", "-u", bob}).out;
    INFO(folders);
    CHECK(folders.find("INBOX/") == std::string::npos);
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("offlineimap engine: a migration that gets a reused ID (database restored or "
          "reinstalled) never trusts the state the ID's earlier migration left",
          "[integration][worker]") {
    MigrationEnv env;
    env.seed_mail(bob, "", 40);
    env.seed_mail(carol, "", 30);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = env.sql("SELECT id FROM migrations");
    REQUIRE(env.migrator({"worker", "--once"}).exit_code == 0);
    REQUIRE(env.sql("SELECT state FROM migrations") == "synced");
    // The database forgets its migrations (a restore, a fresh install); the state dir stays.
    env.sql("TRUNCATE migrations RESTART IDENTITY CASCADE");
    REQUIRE(env.imap_login(carol, carol_pw).status == "OK");
    REQUIRE(env.sql("SELECT id FROM migrations") == id); // bob's old ID, carol's migration
    auto r = env.migrator({"worker", "--once"});
    INFO(r.out + r.err);
    INFO(env.sql("SELECT coalesce(last_error, '') FROM migrations"));
    REQUIRE(env.sql("SELECT state FROM migrations") == "synced");
    // With bob's state, offlineimap skipped carol's messages whose UIDs bob's state knew.
    CHECK(folder_message_ids(env.new_dovecot(), carol, "INBOX") ==
          folder_message_ids(env.old.dovecot(), carol, "INBOX"));
    CHECK(folder_message_ids(env.new_dovecot(), carol, "INBOX").size() == 30);
    // Bob's state is kept aside, not deleted.
    auto aside =
        run({"find", env.state_dir, "-maxdepth", "1", "-name", "migration" + id + ".other-*"});
    CHECK(!aside.out.empty());
}

TEST_CASE("offlineimap engine: an old password beyond ASCII syncs (AUTHENTICATE PLAIN, UTF-8)",
          "[integration][worker]") {
    const std::string dora = "dora@other.example";
    const std::string dora_pw = "Pässwört-Grüße-€1";
    MigrationEnvOptions o;
    o.old_users = {{dora, dora_pw}};
    MigrationEnv env(o);
    env.seed_mail(dora, "", 12);
    env.seed_mail(dora, "Archive", 3);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(dora, dora_pw).status == "OK");
    auto r = env.migrator({"worker", "--once"});
    INFO(r.out + r.err);
    // Failed before with "'ascii' codec can't encode character".
    CHECK(env.sql("SELECT coalesce(last_error, '') FROM migrations") == "");
    REQUIRE(env.sql("SELECT state FROM migrations") == "synced");
    CHECK(folder_message_ids(env.new_dovecot(), dora, "INBOX") ==
          folder_message_ids(env.old.dovecot(), dora, "INBOX"));
    CHECK(folder_message_ids(env.new_dovecot(), dora, "Archive").size() == 3);
    CHECK((r.out + r.err).find(dora_pw) == std::string::npos);
    CHECK(env.new_log().find(dora_pw) == std::string::npos);
}

TEST_CASE("offlineimap engine: the old Sent Items and Papierkorb land in the new server's \\Sent "
          "and \\Trash folders",
          "[integration][worker]") {
    MigrationEnvOptions o;
    o.new_dovecot_config =
        "namespace inbox {\n"
        "  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n"
        "  mailbox Trash {\n    special_use = \\Trash\n    auto = subscribe\n  }\n"
        "}\n";
    MigrationEnv env(o);
    env.seed_mail(bob, "", 5);
    env.seed_mail(bob, "Sent Items", 4); // no marks on the old server: the name tells
    env.seed_mail(bob, "Papierkorb", 2);
    env.seed_mail(bob, "Projects", 1);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    auto r = env.migrator({"worker", "--once"});
    INFO(r.out + r.err);
    INFO(env.sql("SELECT coalesce(last_error, '') FROM migrations"));
    REQUIRE(env.sql("SELECT state FROM migrations") == "synced");
    DovecotInstance &fresh = env.new_dovecot();
    CHECK(folder_message_ids(fresh, bob, "Sent") ==
          folder_message_ids(env.old.dovecot(), bob, "Sent Items"));
    CHECK(folder_message_ids(fresh, bob, "Sent").size() == 4);
    CHECK(folder_message_ids(fresh, bob, "Trash") ==
          folder_message_ids(env.old.dovecot(), bob, "Papierkorb"));
    CHECK(folder_message_ids(fresh, bob, "Projects").size() == 1);
    const std::string listed = fresh.doveadm({"mailbox", "list", "-u", bob}).out;
    INFO(listed);
    CHECK(listed.find("Sent Items") == std::string::npos);
    CHECK(listed.find("Papierkorb") == std::string::npos);
    // A re-sync keeps it that way, nothing twice.
    env.seed_mail(bob, "Sent Items", 1, 100);
    REQUIRE(
        env.migrator({"migrations", "resync", env.sql("SELECT id FROM migrations")}).exit_code ==
        0);
    REQUIRE(env.migrator({"worker", "--once"}).exit_code == 0);
    CHECK(folder_message_ids(fresh, bob, "Sent") ==
          folder_message_ids(env.old.dovecot(), bob, "Sent Items"));
}
