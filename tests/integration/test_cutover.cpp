// `imap-migrator migrations cutover` against real servers (issue 13 item 7): the final syncs,
// finished with the old password wiped, a migration that cannot complete reported and left
// alone, an interrupted cutover that leaves its migration as it was, and re-runs.
#include "delay_proxy.hpp"
#include "migration_env.hpp"
#include "process.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>

using namespace testsupport;

namespace {

std::string task_of(MigrationEnv &env, const std::string &user) {
    return env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.username = '" +
                   user + "'");
}

std::string state_of(MigrationEnv &env, const std::string &id) {
    return env.sql("SELECT state || ' secret=' || (secret IS NOT NULL) || ' lease=' ||"
                   " (lease_owner IS NOT NULL) FROM migrations WHERE id = " +
                   id);
}

} // namespace

TEST_CASE("migrations cutover: final syncs, then finished; one that cannot complete is reported; "
          "interrupted and re-run",
          "[integration][cutover]") {
    // Plain IMAP to the old provider, so that a proxy can hold its logins back below.
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_ssl = false;
    o.extra_yaml = "    sync:\n      engine: dsync\n";
    o.password_scheme = "SHA512-CRYPT"; // cheap: the hashes are not what this test is about
    MigrationEnv env(o);
    env.seed_mail(bob, "", 6);
    env.seed_mail(bob, "Archive.2023", 2);
    env.seed_mail(carol, "", 3);
    env.seed_mail(alice, "", 4);
    env.start_new_dovecot();
    for (const auto &[user, pw] :
         {std::pair{bob, bob_pw}, std::pair{carol, carol_pw}, std::pair{alice, alice_pw}})
        REQUIRE(env.imap_login(user, pw).status == "OK");
    const std::string bob_id = task_of(env, bob), carol_id = task_of(env, carol),
                      alice_id = task_of(env, alice_new);
    REQUIRE_FALSE(alice_id.empty());
    // carol changed her password at the old provider: her stored one is rejected now.
    env.old.set_password(carol, "Car0l-Elsewhere-Now");

    // Usage errors say what is expected and touch nothing.
    for (const std::vector<std::string> &bad :
         {std::vector<std::string>{}, {"--all", bob_id}, {"--domain"}, {"x1"}, {"--every"}}) {
        std::vector<std::string> args = {"migrations", "cutover"};
        args.insert(args.end(), bad.begin(), bad.end());
        auto r = env.migrator(args);
        CHECK(r.exit_code == 2);
        CHECK(!r.err.empty());
    }
    CHECK(env.migrator({"migrations", "cutover", "999"}).err.find("does not exist") !=
          std::string::npos);
    CHECK(env.migrator({"migrations", "cutover", "--domain", "nowhere.example"})
              .err.find("no migrations in domain nowhere.example") != std::string::npos);

    // Interrupted in the middle of alice's run (the old provider holds its logins 3 s): her
    // migration is handed back as it was, nothing finished, nothing wiped.
    {
        DelayProxy slow(env.old.imap_port(), std::chrono::milliseconds(3000));
        env.options.provider_port_override = slow.port();
        env.write_config();
        SpawnOptions so;
        so.output_path = env.dir.file("cutover-interrupted.log");
        const pid_t pid =
            spawn({migrator_path(), "-c", env.config_path, "migrations", "cutover", alice_id}, so);
        for (int i = 0; i < 100 && slow.delayed_commands() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(slow.delayed_commands() > 0);
        CHECK(state_of(env, alice_id) == "syncing secret=true lease=true");
        ::kill(pid, SIGINT);
        int status = 0;
        for (int i = 0; i < 200 && !child_exited(pid, &status); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 1);
        const std::string out = read_file_or_empty(so.output_path);
        INFO(out);
        CHECK(out.find("migration " + alice_id + " (" + alice_new +
                       "): interrupted, handed back as it was") != std::string::npos);
        CHECK(out.find("cutover interrupted: 0 finished, 0 already finished, 0 failed, 1 left as "
                       "they were") != std::string::npos);
        CHECK(state_of(env, alice_id) == "pending secret=true lease=false");
        env.options.provider_port_override = 0;
        env.write_config();
    }

    // All of them: bob and alice finished with their mail here, carol reported, not finished.
    // alice is under another worker's lease for 3 more seconds: her run is waited for.
    env.sql("UPDATE migrations SET state = 'syncing', lease_owner = 'elsewhere:1',"
            " lease_expires = now() + interval '3 seconds' WHERE id = " +
            alice_id + " RETURNING id");
    const auto t0 = std::chrono::steady_clock::now();
    auto all = env.migrator({"migrations", "cutover", "--all"});
    INFO(all.out + all.err);
    CHECK(all.err.find("migration=" + alice_id + " user=" + alice_new +
                       ": waiting for the worker's run to end") != std::string::npos);
    CHECK(all.exit_code == 1);
    CHECK(all.out.find("cutover: 2 finished, 0 already finished, 1 failed\n") != std::string::npos);
    CHECK(all.out.find("migration " + bob_id + " (" + bob + "): finished, ") != std::string::npos);
    CHECK(all.out.find("failed:\n  migration " + carol_id + " (" + carol +
                       "): the old provider rejected the stored password: ") != std::string::npos);
    CHECK(state_of(env, bob_id) == "finished secret=false lease=false");
    CHECK(state_of(env, alice_id) == "finished secret=false lease=false");
    CHECK(state_of(env, carol_id) == "credentials_rejected secret=true lease=false");
    CHECK(env.sql("SELECT count(*) FROM migrations WHERE finished_at IS NOT NULL AND"
                  " first_synced_at IS NOT NULL AND missing_messages = 0") == "2");
    CHECK(folder_stats(env.new_dovecot(), bob, '/') == folder_stats(env.old.dovecot(), bob, '.'));
    CHECK(folder_stats(env.new_dovecot(), alice_new, '/') ==
          folder_stats(env.old.dovecot(), alice, '.'));
    const std::string finished_at =
        env.sql("SELECT finished_at FROM migrations WHERE id = " + bob_id);
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < std::chrono::seconds(30));

    // Again: the finished ones are skipped and counted, carol reported again.
    auto again = env.migrator({"migrations", "cutover", "--domain", "other.example"});
    CHECK(again.exit_code == 1);
    CHECK(again.out.find("cutover: 0 finished, 1 already finished, 1 failed\n") !=
          std::string::npos);
    auto one = env.migrator({"migrations", "cutover", bob_id});
    CHECK(one.exit_code == 0);
    CHECK(one.out ==
          "migration " + bob_id + " (" + bob +
              "): already finished\ncutover: 0 finished, 1 already finished, 0 failed\n");
    CHECK(env.sql("SELECT finished_at FROM migrations WHERE id = " + bob_id) == finished_at);

    // A stopped migration is not cut over behind the admin's back.
    REQUIRE(env.migrator({"migrations", "stop", carol_id}).exit_code == 0);
    auto stopped = env.migrator({"migrations", "cutover", carol_id});
    CHECK(stopped.exit_code == 1);
    CHECK(stopped.out.find("stopped by an admin") != std::string::npos);
    CHECK(state_of(env, carol_id) == "stopped secret=true lease=false");

    // On a terminal: the same lines, and a progress bar below them that ends full.
    auto tty = run({"script", "-qec",
                    migrator_path() + " -c " + env.config_path + " migrations cutover --all",
                    "/dev/null"});
    INFO(tty.out);
    CHECK(tty.out.find("[##############################] 3/3  finished 2  failed 1  running 0") !=
          std::string::npos);
    CHECK(tty.out.find("\r\033[K") != std::string::npos);
    CHECK(tty.out.find("cutover: 0 finished, 2 already finished, 1 failed") != std::string::npos);

    CHECK(env.logs_free_of_passwords());
    for (const std::string &text : {all.out, all.err, again.out, again.err, tty.out})
        for (const std::string &pw : {bob_pw, carol_pw, alice_pw})
            CHECK(text.find(pw) == std::string::npos);
}
