// The dsync engine against real servers: old provider with mail, new Dovecot with the module,
// PostgreSQL; the worker runs `doveadm sync -1 -R ... imapc:` (as root here).
#include "migration_env.hpp"
#include "process.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

using namespace testsupport;

namespace {

// The dsync engine for provider oldmail (the per-provider key; the global default stays
// offlineimap), pointed at the new Dovecot's config once it runs.
MigrationEnvOptions dsync_options() {
    MigrationEnvOptions o;
    o.extra_yaml = "    sync:\n      engine: dsync\n";
    return o;
}

void start_with_dsync(MigrationEnv &env) {
    env.start_new_dovecot();
    std::string yaml = read_file(env.config_path);
    const std::string key = "sync:\n";
    yaml.replace(yaml.find(key), key.size(),
                 key + "  dovecot_config: " + env.new_dovecot().config_path() + "\n");
    write_file(env.config_path, yaml, 0640);
}

std::string task_of(MigrationEnv &env, const std::string &user) {
    return env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.username = '" +
                   user + "'");
}

// One worker pass over what is due; returns the task's state afterwards.
std::string sync_once(MigrationEnv &env, const std::string &id, std::string *output = nullptr) {
    auto r = env.migrator({"worker", "--once"});
    if (output)
        *output += r.out + r.err;
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return env.sql("SELECT state FROM migrations WHERE id = " + id);
}

std::string resync(MigrationEnv &env, const std::string &id, std::string *output = nullptr) {
    REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
    return sync_once(env, id, output);
}

// Message-IDs in a folder, sorted (a duplicate shows up twice).
std::vector<std::string> message_ids(const DovecotInstance &d, const std::string &user,
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

// folder -> "uidvalidity=N uidnext=N messages=N"
std::map<std::string, std::string> uid_status(const DovecotInstance &d, const std::string &user,
                                              char separator) {
    auto r = d.doveadm({"mailbox", "status", "-u", user, "uidvalidity uidnext messages", "*"});
    std::map<std::string, std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        size_t at = line.find(" uidvalidity=");
        if (at == std::string::npos || line.find("messages=0") != std::string::npos)
            continue;
        std::string name = line.substr(0, at);
        std::replace(name.begin(), name.end(), separator, '.');
        out[name] = line.substr(at + 1);
    }
    return out;
}

// "uid flags" per message of a folder, e.g. "1 \Seen $Forwarded".
std::vector<std::string> uids_and_flags(const DovecotInstance &d, const std::string &user,
                                        const std::string &folder) {
    auto r = d.doveadm({"fetch", "-u", user, "uid flags", "mailbox", folder, "all"});
    std::vector<std::string> out;
    std::istringstream lines(r.out);
    std::string uid;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("uid: ", 0) == 0)
            uid = line.substr(5);
        if (line.rfind("flags: ", 0) == 0) {
            std::string flags;
            std::istringstream words(line.substr(7));
            for (std::string w; words >> w;)
                if (w != "\\Recent")
                    flags += " " + w;
            out.push_back(uid + flags);
        }
    }
    return out;
}

std::string rfc822(const std::string &message_id, const std::string &subject) {
    return "From: someone@example.org\r\nTo: bob@other.example\r\nSubject: " + subject +
           "\r\nMessage-ID: " + message_id + "\r\nDate: Tue, 3 Jan 2023 10:00:00 +0000\r\n\r\n" +
           subject + "\r\n";
}

std::vector<std::string> without(std::vector<std::string> ids,
                                 const std::vector<std::string> &gone) {
    for (const auto &g : gone)
        ids.erase(std::remove(ids.begin(), ids.end(), g), ids.end());
    return ids;
}

std::vector<std::string> with(std::vector<std::string> ids, const std::vector<std::string> &more) {
    ids.insert(ids.end(), more.begin(), more.end());
    std::sort(ids.begin(), ids.end());
    return ids;
}

// Watches every process's command line and the runtime dir while the test runs.
class Watcher {
public:
    Watcher(std::string secret, std::string runtime_dir)
        : secret_(std::move(secret)), runtime_dir_(std::move(runtime_dir)),
          thread_([this] { loop(); }) {}
    ~Watcher() { stop(); }
    void stop() {
        done_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    std::atomic<bool> secret_in_cmdline{false};
    std::atomic<int> doveadm_syncs_seen{0};
    std::atomic<int> config_files_seen{0};
    std::atomic<bool> config_file_not_private{false};

private:
    void loop() {
        while (!done_) {
            scan_processes();
            scan_runtime_dir();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    void scan_processes() {
        DIR *proc = ::opendir("/proc");
        if (proc == nullptr)
            return;
        while (dirent *e = ::readdir(proc)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            std::string cmd = read_file_or_empty(std::string("/proc/") + e->d_name + "/cmdline");
            std::replace(cmd.begin(), cmd.end(), '\0', ' ');
            if (cmd.find(secret_) != std::string::npos)
                secret_in_cmdline = true;
            if (cmd.find("doveadm -c " + runtime_dir_) != std::string::npos &&
                cmd.find(" sync -1 -R ") != std::string::npos)
                ++doveadm_syncs_seen;
        }
        ::closedir(proc);
    }
    void scan_runtime_dir() {
        auto r = std::string();
        DIR *dir = ::opendir(runtime_dir_.c_str());
        if (dir == nullptr)
            return;
        while (dirent *e = ::readdir(dir)) {
            if (e->d_name[0] == '.')
                continue;
            const std::string file = runtime_dir_ + "/" + e->d_name + "/doveadm.conf";
            struct stat st {};
            if (::stat(file.c_str(), &st) == 0) {
                ++config_files_seen;
                if ((st.st_mode & 0777) != 0600)
                    config_file_not_private = true;
            }
        }
        ::closedir(dir);
    }
    std::string secret_, runtime_dir_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

void seed_bob(MigrationEnv &env) {
    env.seed_mail(bob, "", 40);
    env.seed_mail(bob, "Archive.2023", 15);
    env.seed_mail(bob, "Sent Items", 5);
    env.seed_mail(bob, "Entw&APw-rfe", 3); // "Entwürfe"
    // Keywords, which offlineimap loses.
    for (const auto &[kw, uids] :
         {std::pair<std::string, std::string>{"$Forwarded", "1:5"}, {"$Label1 NonJunk", "4:9"}})
        REQUIRE(env.old.dovecot()
                    .doveadm({"flags", "add", "-u", bob, kw, "mailbox", "INBOX", "uid", uids})
                    .exit_code == 0);
}

} // namespace

TEST_CASE("dsync engine: every folder with flags, keywords, UIDs and UIDVALIDITY",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    seed_bob(env);
    start_with_dsync(env);
    Watcher watcher(bob_pw, env.runtime_dir);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    std::string output;
    REQUIRE(sync_once(env, id, &output) == "synced");
    watcher.stop();
    INFO(output);
    CHECK(output.find("sync started (dsync)") != std::string::npos);

    auto old_stats = folder_stats(env.old.dovecot(), bob, '.');
    CHECK(old_stats.size() == 4);
    CHECK(folder_stats(env.new_dovecot(), bob, '/') == old_stats);
    // Untouched new mailbox: the very same UIDs and UIDVALIDITY, keywords included.
    CHECK(uid_status(env.new_dovecot(), bob, '/') == uid_status(env.old.dovecot(), bob, '.'));
    const auto new_inbox = uids_and_flags(env.new_dovecot(), bob, "INBOX");
    CHECK(new_inbox == uids_and_flags(env.old.dovecot(), bob, "INBOX"));
    CHECK(std::count_if(new_inbox.begin(), new_inbox.end(), [](const std::string &m) {
              return m.find("$Forwarded") != std::string::npos;
          }) == 5);
    CHECK(new_inbox.at(5).find("$Label1") != std::string::npos);
    CHECK(message_ids(env.new_dovecot(), bob, "Archive/2023") ==
          message_ids(env.old.dovecot(), bob, "Archive.2023"));

    CHECK(env.sql("SELECT messages_copied FROM migrations") == "63");
    CHECK(std::stoll(env.sql("SELECT bytes_copied FROM migrations")) > 63 * 200);
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'synced'") == "1");
    // The private config lived only during the run, 0600; the dsync state stays.
    CHECK(watcher.config_files_seen > 0);
    CHECK_FALSE(watcher.config_file_not_private);
    CHECK(run({"find", env.runtime_dir, "-type", "f"}).out.empty());
    struct stat st {};
    CHECK(stat((env.state_dir + "/migration" + id + "/dsync-state").c_str(), &st) == 0);
    // The password never reached a command line or a log.
    CHECK(watcher.doveadm_syncs_seen > 0);
    CHECK_FALSE(watcher.secret_in_cmdline);
    CHECK(env.logs_free_of_passwords());
    CHECK(output.find(bob_pw) == std::string::npos);

    // A re-run with nothing new copies nothing; finish works as with offlineimap.
    CHECK(resync(env, id) == "synced");
    CHECK(env.sql("SELECT messages_copied FROM migrations") == "63");
    REQUIRE(env.migrator({"migrations", "finish", id}).exit_code == 0);
    CHECK(sync_once(env, id) == "finished");
    CHECK(env.sql("SELECT secret IS NULL FROM migrations") == "t");
}

TEST_CASE("dsync engine: what the user did on the new server survives re-syncs",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    seed_bob(env);
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    REQUIRE(sync_once(env, id) == "synced");
    DovecotInstance &fresh = env.new_dovecot();

    // The user is already working in the new mailbox: new mail arrives there, one message is
    // moved to another folder, one is deleted, one is flagged.
    const std::string new_only = "<new-only-1@new.example>";
    const std::string moved = "<2.bob@seed.example>";
    const std::string deleted = "<3.bob@seed.example>";
    REQUIRE(
        fresh.doveadm({"save", "-u", bob, "-m", "INBOX"}, rfc822(new_only, "new only")).exit_code ==
        0);
    REQUIRE(fresh
                .doveadm({"move", "-u", bob, "Archive/2023", "mailbox", "INBOX", "header",
                          "message-id", moved})
                .exit_code == 0);
    REQUIRE(
        fresh.doveadm({"expunge", "-u", bob, "mailbox", "INBOX", "header", "message-id", deleted})
            .exit_code == 0);
    REQUIRE(fresh
                .doveadm({"flags", "add", "-u", bob, "\\Flagged", "mailbox", "INBOX", "header",
                          "message-id", "<5.bob@seed.example>"})
                .exit_code == 0);

    std::vector<std::string> old_arrivals;
    for (int round = 1; round <= 3; ++round) {
        if (round == 2) {
            // New mail at the old provider between two syncs.
            env.seed_mail(bob, "", 3, 1000);
            env.seed_mail(bob, "Archive.2023", 2, 1000);
            old_arrivals = {"<1000.bob@seed.example>", "<1001.bob@seed.example>",
                            "<1002.bob@seed.example>"};
        }
        INFO("re-sync " << round);
        REQUIRE(resync(env, id) == "synced");
        const auto old_inbox = message_ids(env.old.dovecot(), bob, "INBOX");
        CHECK(old_inbox.size() == (round >= 2 ? 43u : 40u));
        // Nothing lost, nothing twice, the deleted message not back, the moved one only moved.
        CHECK(message_ids(fresh, bob, "INBOX") ==
              with(without(old_inbox, {moved, deleted}), {new_only}));
        CHECK(message_ids(fresh, bob, "Archive/2023") ==
              with(message_ids(env.old.dovecot(), bob, "Archive.2023"), {moved}));
        CHECK(message_ids(fresh, bob, "Sent Items") ==
              message_ids(env.old.dovecot(), bob, "Sent Items"));
        CHECK(message_ids(fresh, bob, "Entwürfe").size() == 3);
        auto flagged = fresh.doveadm({"search", "-u", bob, "mailbox", "INBOX", "flagged", "header",
                                      "message-id", "<5.bob@seed.example>"});
        CHECK(!flagged.out.empty());
    }
    // The old side was only read.
    CHECK(message_ids(env.old.dovecot(), bob, "INBOX").size() == 43);
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'failed'") == "0");
}

TEST_CASE("dsync engine: a changed old password is credentials_rejected, as with offlineimap",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    env.seed_mail(bob, "", 5);
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    env.old.set_password(bob, "a-new-0ld-password");
    std::string output;
    CHECK(sync_once(env, id, &output) == "credentials_rejected");
    const std::string error = env.sql("SELECT last_error FROM migrations WHERE id = " + id);
    CHECK(error.find("AUTHENTICATIONFAILED") != std::string::npos);
    CHECK(error.find(bob_pw) == std::string::npos);
    CHECK(output.find(bob_pw) == std::string::npos);
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'credentials_rejected'") ==
          "1");
    // Not retried by itself; resume asks for another try.
    CHECK(env.migrator({"migrations", "resync", id}).exit_code == 1);
    CHECK(env.migrator({"migrations", "resume", id}).exit_code == 0);
    CHECK(run({"find", env.runtime_dir, "-type", "f"}).out.empty());
    CHECK(env.logs_free_of_passwords());

    // The provider down: a temporary failure, retried with backoff.
    env.old.stop();
    CHECK(sync_once(env, id) == "failed");
    CHECK(env.sql("SELECT attempts = 1 AND next_sync_at > now() + interval '30 s' FROM migrations "
                  "WHERE id = " +
                  id) == "t");
}

namespace {

// doveadm sync runs of this test's migrations (their config is in its runtime dir).
int dsync_processes(const MigrationEnv &env) {
    auto r = run({"pgrep", "-c", "-f", "doveadm -c " + env.runtime_dir});
    return r.out.empty() ? 0 : std::stoi(r.out);
}

int64_t new_inbox_messages(MigrationEnv &env) {
    auto r = env.new_dovecot().doveadm({"-f", "flow", "mailbox", "status", "-u", bob, "messages",
                                        "INBOX"});
    const auto at = r.out.find("messages=");
    return at == std::string::npos ? 0 : std::stoll(r.out.substr(at + 9));
}

} // namespace

TEST_CASE("dsync engine: a worker stopped in the middle of a sync hands the task back and the "
          "next run completes it without duplicates",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    env.seed_mail(bob, "", 4000); // long enough to be caught while doveadm copies
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    {
        WorkerProcess w(env, "terminated");
        int64_t copied = 0;
        for (int i = 0; i < 600 && copied == 0; ++i) {
            copied = dsync_processes(env) > 0 ? new_inbox_messages(env) : 0;
            if (copied == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        REQUIRE(copied > 0);
        REQUIRE(copied < 4000); // caught in the middle
        const auto t0 = std::chrono::steady_clock::now();
        const int status = w.stop(SIGTERM);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15));
        INFO(w.output());
        CHECK(w.output().find("interrupted, handed back") != std::string::npos);
    }
    CHECK(dsync_processes(env) == 0); // doveadm's whole process group went with the worker
    CHECK(env.sql("SELECT state || ' ' || (lease_owner IS NULL) FROM migrations") ==
          "pending true");
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'synced'") == "0");

    CHECK(sync_once(env, id) == "synced");
    const auto ids = message_ids(env.new_dovecot(), bob, "INBOX");
    CHECK(ids.size() == 4000);
    CHECK(ids == message_ids(env.old.dovecot(), bob, "INBOX"));
    CHECK(env.logs_free_of_passwords());
}
