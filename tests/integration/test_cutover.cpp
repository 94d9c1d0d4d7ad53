// `imap-migrator migrations cutover` against real servers (issue 13 item 7): the final syncs,
// finished with the old password wiped, a migration that cannot complete reported and left
// alone, an interrupted cutover that leaves its migration as it was, re-runs, and the runs
// repeated while dsync reports changes (exit 2).
#include "delay_proxy.hpp"
#include "mailbox_reader.hpp"
#include "migration_env.hpp"
#include "process.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
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

// The real doveadm (the default dovecot_bin_dir, which every other test runs) behind a wrapper
// that turns a sync's exit 0 into 2 for the first `force` syncs, as when mail keeps
// arriving at the old provider during each run. The real one runs as a child with every fd
// (the lock, the old password's pipe): nothing of what it gets is looked at or written down.
// A message staged for sync N is delivered to the old provider just before that sync starts,
// after the verification of the run before it.
class ChangingDoveadm {
public:
    explicit ChangingDoveadm(MigrationEnv &env)
        : bin_(env.dir.file("changing-bin")), ctl_(env.dir.file("changing-ctl")) {
        make_dir(bin_);
        make_dir(ctl_);
        std::filesystem::create_symlink("/usr/bin/doveconf", bin_ + "/doveconf");
        const std::string script = "#!/bin/sh\nreal=/usr/bin/doveadm\nctl=" + ctl_ +
                                   "\nold_conf=" + env.old.dovecot().config_path() + "\n";
        write_file(bin_ + "/doveadm", script + R"sh(sub= skip=
for a in "$@"; do
    if [ -n "$skip" ]; then skip=; continue; fi
    case $a in -c | -o) skip=1 ;; -*) ;; *) sub=$a; break ;; esac
done
[ "$sub" = sync ] || exec "$real" "$@"
n=$(($(cat "$ctl/runs") + 1))
echo $n >"$ctl/runs"
if [ -f "$ctl/arrive-$n" ]; then
    { read -r to; "$real" -c "$old_conf" save -u "$to" -m INBOX 3<&- 4<&- 5<&- >&2; } <"$ctl/arrive-$n"
    rm "$ctl/arrive-$n"
fi
"$real" "$@"
rc=$?
[ $rc -eq 0 ] && [ $n -le "$(cat "$ctl/force")" ] && exit 2
exit $rc
)sh",
                   0755);
        force(0);
    }

    // The next syncs count from 1; the first n of them end with exit 2.
    void force(int n) const {
        write_file(ctl_ + "/runs", "0\n");
        write_file(ctl_ + "/force", std::to_string(n) + "\n");
    }
    // Delivered to user's INBOX at the old provider just before sync `run` starts.
    void arrive(int run, const std::string &user, const std::string &rfc822) const {
        write_file(ctl_ + "/arrive-" + std::to_string(run), user + "\n" + rfc822);
    }
    int runs() const { return std::stoi(read_file(ctl_ + "/runs")); }
    const std::string &dir() const { return bin_; }

private:
    std::string bin_, ctl_;
};

std::string message(const std::string &user, const std::string &id) {
    return "From: sender@example.org\r\nTo: " + user + "\r\nSubject: arrived during the cutover (" +
           id + ")\r\nDate: Tue, 3 Jan 2023 10:00:00 +0000\r\nMessage-ID: <" + id +
           "@arrived.example>\r\n\r\nNew mail.\r\n";
}

// Every old message on the new server once, in its folder, as it was.
void check_same_mail(MigrationEnv &env, const std::string &user, const std::string &pw,
                     int messages) {
    const Mailbox old = read_mailbox("127.0.0.1", env.old.imap_port(), user, pw);
    const CompareReport same = compare_mailboxes(
        old, read_mailbox("127.0.0.1", env.new_imap_port, user + "*" + master_user, master_pw));
    INFO(same.summary() + "\n" + same.details());
    CHECK(same.total() == messages);
    CHECK(same.exact() == messages);
    CHECK(same.extra_on_new == 0);
}

size_t count_of(const std::string &text, const std::string &what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++n;
    return n;
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

TEST_CASE("migrations cutover: runs again while dsync reports changes, up to 5 runs",
          "[integration][cutover]") {
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_ssl = false;
    o.extra_yaml = "    sync:\n      engine: dsync\n";
    o.password_scheme = "SHA512-CRYPT";
    o.auth_debug = false;
    MigrationEnv env(o);
    env.seed_mail(bob, "", 3);
    env.seed_mail(carol, "", 2);
    env.start_new_dovecot();
    for (const auto &[user, pw] : {std::pair{bob, bob_pw}, std::pair{carol, carol_pw}})
        REQUIRE(env.imap_login(user, pw).status == "OK");
    const std::string bob_id = task_of(env, bob), carol_id = task_of(env, carol);
    ChangingDoveadm doveadm(env);
    const std::string real_bin_yaml = env.options.extra_yaml;
    env.options.extra_yaml += "dovecot_bin_dir: " + doveadm.dir() + "\n";
    env.write_config();

    // bob: the first run reports changes, a message arrives before the second, which is
    // complete. Both runs' mail is here, each message once, and the old password is gone.
    doveadm.force(1);
    doveadm.arrive(2, bob, message(bob, "bob-between-runs"));
    auto repeated = env.migrator({"migrations", "cutover", bob_id});
    INFO(repeated.out + repeated.err);
    CHECK(repeated.exit_code == 0);
    CHECK(repeated.out == "migration " + bob_id + " (" + bob +
                              "): finished, 2 run(s), 4 message(s) copied\n"
                              "cutover: 1 finished, 0 already finished, 0 failed\n");
    CHECK(doveadm.runs() == 2);
    CHECK(count_of(repeated.err, "migration=" + bob_id + " user=" + bob +
                                     " provider=oldmail: "
                                     "sync started (dsync)") == 2);
    CHECK(state_of(env, bob_id) == "finished secret=false lease=false");
    CHECK(env.sql("SELECT messages_copied || ' ' || missing_messages FROM migrations WHERE id = " +
                  bob_id) == "4 0");
    check_same_mail(env, bob, bob_pw, 4);

    // carol: every run reports changes. After the fifth the cutover gives up on her: reported,
    // not finished, her old password kept, and handed back to the worker as a synced migration.
    doveadm.force(1000);
    auto changing = env.migrator({"migrations", "cutover", carol_id});
    INFO(changing.out + changing.err);
    CHECK(changing.exit_code == 1);
    const std::string carol_line = "migration " + carol_id + " (" + carol + "): ",
                      why = "mail still changing at the old provider after 5 runs (dsync exit 2 "
                            "each time)\n";
    CHECK(changing.out == carol_line + "FAILED: " + why +
                              "cutover: 0 finished, 0 already finished, 1 failed\nfailed:\n  " +
                              carol_line + why);
    CHECK(doveadm.runs() == 5);
    CHECK(count_of(changing.err, "sync started (dsync)") == 5);
    CHECK(state_of(env, carol_id) == "synced secret=true lease=false");
    CHECK(env.sql("SELECT string_agg(message, '|') FROM migration_events WHERE kind = "
                  "'cutover_failed' AND migration_id = " +
                  carol_id) == "cutover not finished: mail still changing at the old provider "
                               "after 5 runs (dsync exit 2 each time)");
    CHECK(env.sql("SELECT finished_at IS NULL AND next_sync_at > now() FROM migrations"
                  " WHERE id = " +
                  carol_id) == "t");

    // With dsync's exit 0 again, the next cutover finishes her, mail arrived meanwhile included.
    env.old.deliver(carol, "INBOX", message(carol, "carol-after-the-failed-cutover"));
    env.options.extra_yaml = real_bin_yaml;
    env.write_config();
    auto settled = env.migrator({"migrations", "cutover", carol_id});
    INFO(settled.out + settled.err);
    CHECK(settled.exit_code == 0);
    CHECK(settled.out == carol_line + "finished, 1 run(s), 1 message(s) copied\n"
                                      "cutover: 1 finished, 0 already finished, 0 failed\n");
    CHECK(doveadm.runs() == 5);
    CHECK(state_of(env, carol_id) == "finished secret=false lease=false");
    check_same_mail(env, carol, carol_pw, 3);

    CHECK(env.logs_free_of_passwords());
    for (const std::string &text :
         {repeated.out, repeated.err, changing.out, changing.err, settled.out, settled.err})
        for (const std::string &pw : {bob_pw, carol_pw})
            CHECK(text.find(pw) == std::string::npos);
}
