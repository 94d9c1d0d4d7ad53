// The dsync engine against real servers: old provider with mail, new Dovecot with the module,
// PostgreSQL; the worker runs `doveadm sync -1 -R ... imapc:` (as root here).
#include "migration_env.hpp"
#include "pop3_client.hpp"
#include "process.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
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
    env.start_new_dovecot(); // the YAML names the new server's config from then on
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
            // This environment's processes only (the worker, its doveadm and offlineimap runs
            // name its files): scripts/test.sh runs the Dovecot 2.4 suite beside the 2.3 one,
            // whose test tools may carry the same test password on purpose.
            if (cmd.find(secret_) != std::string::npos && cmd.find(env_root_) != std::string::npos)
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
    std::string env_root_ = runtime_dir_.substr(0, runtime_dir_.rfind('/'));
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

// bob's seeded mailbox, his first login and the first worker pass, which must end synced.
std::string first_sync_of_bob(MigrationEnv &env) {
    seed_bob(env);
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    REQUIRE(sync_once(env, id) == "synced");
    return id;
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

TEST_CASE("verification: a new mailbox that misses old mail is incomplete, with its folders, "
          "until an admin accepts it; mail deleted after it was verified is not missing",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    const std::string id = first_sync_of_bob(env);
    const std::string where = " FROM migration_folders WHERE migration_id = " + id;
    CHECK(env.sql("SELECT count(*)" + where) == "4");
    CHECK(env.sql("SELECT old_messages || '/' || new_messages || '/' || missing || '/' || "
                  "verified_uid" +
                  where + " AND old_name = 'INBOX'") == "40/40/0/40");
    CHECK(env.sql("SELECT new_name" + where + " AND old_name = 'Archive.2023'") == "Archive/2023");
    CHECK(env.sql("SELECT missing_messages FROM migrations WHERE id = " + id) == "0");

    // The user deletes two messages in the new mailbox: verified once, so not missing.
    DovecotInstance &fresh = env.new_dovecot();
    for (const char *gone : {"<3.bob@seed.example>", "<4.bob@seed.example>"})
        REQUIRE(
            fresh.doveadm({"expunge", "-u", bob, "mailbox", "INBOX", "header", "message-id", gone})
                .exit_code == 0);
    REQUIRE(resync(env, id) == "synced");

    // Without what the earlier verification recorded, the two are missing: `incomplete`, with
    // the folder that differs, in the log, `migrations show` and its JSON.
    env.sql("DELETE" + where);
    std::string output;
    CHECK(resync(env, id, &output) == "incomplete");
    CHECK_THAT(output, Catch::Contains("incomplete, ") &&
                           Catch::Contains("missing on the new server: INBOX (2 of 40 missing in "
                                           "INBOX)"));
    auto show = env.migrator({"migrations", "show", id});
    CHECK(show.exit_code == 0);
    CHECK_THAT(show.out, Catch::Contains("state:            incomplete") &&
                             Catch::Contains("2 message(s) missing") &&
                             Catch::Contains("  INBOX -> INBOX: 40/38, 2 MISSING\n") &&
                             Catch::Contains("  Archive.2023 -> Archive/2023: 15/15\n"));
    auto json = env.migrator({"migrations", "show", id, "--json"});
    CHECK(json.exit_code == 0);
    CHECK_THAT(json.out, Catch::Contains("\"state\": \"incomplete\"") &&
                             Catch::Contains("\"missing_messages\": 2") &&
                             Catch::Contains("{\"old_name\": \"INBOX\", \"new_name\": "
                                             "\"INBOX\", \"old_messages\": 40, "
                                             "\"new_messages\": 38, \"missing\": 2}"));

    // `finish` does not finish an incomplete migration; `accept` takes the mailbox as it is.
    REQUIRE(env.migrator({"migrations", "finish", id}).exit_code == 0);
    CHECK(sync_once(env, id) == "incomplete");
    CHECK(env.sql("SELECT secret IS NOT NULL FROM migrations WHERE id = " + id) == "t");
    auto accepted = env.migrator({"migrations", "accept", id});
    CHECK(accepted.exit_code == 0);
    CHECK(sync_once(env, id) == "finished");
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'finished' AND message "
                  "LIKE '%; taken as they are (baseline): INBOX (2 of 40 missing in INBOX)' AND "
                  "migration_id = " +
                  id) == "1");
    CHECK(env.sql("SELECT verification_baseline FROM migrations WHERE id = " + id) == "f");
}

TEST_CASE("dsync engine: what the user did on the new server survives re-syncs",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    const std::string id = first_sync_of_bob(env);
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
    auto r = env.new_dovecot().doveadm(
        {"-f", "flow", "mailbox", "status", "-u", bob, "messages", "INBOX"});
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

namespace {

// A message whose headers are byte for byte those of its twin; only the body differs.
std::string twin(const std::string &message_id, const std::string &body) {
    return "From: twins@example.org\r\nTo: bob@other.example\r\nSubject: same headers\r\n"
           "Message-ID: " +
           message_id + "\r\nDate: Wed, 4 Jan 2023 10:00:00 +0000\r\n\r\n" + body + "\r\n";
}

// How often text occurs in the bodies of the folder's messages.
int body_occurrences(const DovecotInstance &d, const std::string &user, const std::string &folder,
                     const std::string &text) {
    auto r = d.doveadm({"fetch", "-u", user, "body", "mailbox", folder, "all"});
    int n = 0;
    for (size_t at = r.out.find(text); at != std::string::npos; at = r.out.find(text, at + 1))
        ++n;
    return n;
}

// Files under dir whose content holds text.
std::vector<std::string> files_containing(const std::string &dir, const std::string &text) {
    std::vector<std::string> found;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) &&
            read_file_or_empty(it->path().string()).find(text) != std::string::npos)
            found.push_back(it->path().string());
    }
    return found;
}

std::vector<std::string> run_dirs(const MigrationEnv &env) {
    std::vector<std::string> dirs;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(env.runtime_dir, ec))
        if (e.is_directory(ec))
            dirs.push_back(e.path().filename().string());
    return dirs;
}

// What an IMAP client caches of a folder: its UIDVALIDITY and every message's UID with its
// Message-ID, as the server the session runs on answers them.
struct ClientView {
    std::string uidvalidity;
    std::map<std::string, std::string> uid_to_message_id;
    bool operator==(const ClientView &o) const {
        return uidvalidity == o.uidvalidity && uid_to_message_id == o.uid_to_message_id;
    }
};

std::ostream &operator<<(std::ostream &os, const ClientView &v) {
    os << "uidvalidity " << v.uidvalidity << ":";
    for (const auto &[uid, id] : v.uid_to_message_id)
        os << " " << uid << "=" << id;
    return os;
}

ClientView client_view(ImapClient &c, const std::string &folder) {
    ClientView v;
    auto sel = c.command("EXAMINE " + imap_astring(folder));
    REQUIRE(sel.ok());
    for (const auto &line : sel.untagged)
        if (auto at = line.find("[UIDVALIDITY "); at != std::string::npos)
            v.uidvalidity = line.substr(at + 13, line.find(']', at) - at - 13);
    auto fetch = c.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
    REQUIRE(fetch.ok());
    for (const auto &line : fetch.untagged) {
        auto u = line.find("UID ");
        auto m = line.find("Message-ID: ");
        if (u == std::string::npos || m == std::string::npos)
            continue;
        std::string uid = line.substr(u + 4, line.find_first_of(" )", u + 4) - u - 4);
        std::string id = line.substr(m + 12, line.find_first_of("\r\n", m + 12) - m - 12);
        v.uid_to_message_id[uid] = id;
    }
    return v;
}

std::map<std::string, ClientView> client_views(const MigrationEnv &env, const std::string &user,
                                               const std::string &password,
                                               const std::vector<std::string> &folders) {
    ImapClient c("127.0.0.1", env.new_imap_port);
    auto login = c.login(user, password);
    if (!login.ok())
        std::this_thread::sleep_for(std::chrono::milliseconds(500)); // the log lands late
    INFO(login.status + " " + login.text);
    INFO(env.new_log());
    REQUIRE(login.ok());
    std::map<std::string, ClientView> views;
    for (const auto &f : folders)
        views[f] = client_view(c, f);
    c.logout();
    return views;
}

MigrationEnvOptions proxy_options() {
    MigrationEnvOptions o = dsync_options();
    o.extra_yaml += "    cutover: proxy\n";
    // The proxy's host field is the provider's host, and Dovecot 2.4's login process connects to
    // the first address of a name only: ::1 for "localhost" in the Debian 13 root, whose
    // /etc/hosts lists both, while the old provider listens on 127.0.0.1 only.
    o.provider_host = "127.0.0.1";
    o.sync_yaml += "  engine: dsync\n"; // offlineimap refuses an IP host with TLS
    return o;
}

} // namespace

TEST_CASE("dsync engine: messages with identical headers and different bodies all arrive, and "
          "re-syncs copy nothing twice",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    env.seed_mail(bob, "", 10);
    env.old.deliver(bob, "INBOX", twin("<twin@example.org>", "first body of the twins"));
    env.old.deliver(bob, "INBOX", twin("<twin@example.org>", "second body of the twins"));
    env.old.deliver(bob, "Archive", twin("<twin@example.org>", "third body of the twins"));
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    REQUIRE(sync_once(env, id) == "synced");
    DovecotInstance &fresh = env.new_dovecot();
    // guid-forced derived one GUID from the headers: the second body was replaced by the first.
    CHECK(body_occurrences(fresh, bob, "INBOX", "first body of the twins") == 1);
    CHECK(body_occurrences(fresh, bob, "INBOX", "second body of the twins") == 1);
    CHECK(body_occurrences(fresh, bob, "Archive", "third body of the twins") == 1);
    CHECK(body_occurrences(fresh, bob, "INBOX", "third body of the twins") == 0);

    for (int round = 1; round <= 3; ++round) {
        INFO("re-sync " << round);
        // New mail at the old provider between syncs, twins among it.
        env.seed_mail(bob, "", 2, 100 * round);
        env.old.deliver(bob, "INBOX",
                        twin("<twin-" + std::to_string(round) + "@example.org>",
                             "round " + std::to_string(round) + " twin A"));
        env.old.deliver(bob, "INBOX",
                        twin("<twin-" + std::to_string(round) + "@example.org>",
                             "round " + std::to_string(round) + " twin B"));
        REQUIRE(resync(env, id) == "synced");
        CHECK(message_ids(fresh, bob, "INBOX") == message_ids(env.old.dovecot(), bob, "INBOX"));
        CHECK(message_ids(fresh, bob, "Archive") == message_ids(env.old.dovecot(), bob, "Archive"));
        for (int r = 1; r <= round; ++r)
            for (const char *which : {" twin A", " twin B"})
                CHECK(body_occurrences(fresh, bob, "INBOX", "round " + std::to_string(r) + which) ==
                      1);
        CHECK(body_occurrences(fresh, bob, "INBOX", "first body of the twins") == 1);
        CHECK(body_occurrences(fresh, bob, "INBOX", "second body of the twins") == 1);
    }
    CHECK(message_ids(fresh, bob, "INBOX").size() == 10 + 2 + 3 * 4);
}

TEST_CASE("dsync engine: an old server with the '/' separator and a new server that sets none "
          "(Debian's stock config)",
          "[integration][dsync]") {
    MigrationEnvOptions o = dsync_options();
    o.old_provider_config = "namespace inbox {\n  inbox = yes\n  separator = /\n}\n";
    // Back to Dovecot's default: no separator, so Maildir++ uses '.'.
    o.new_dovecot_config = "namespace inbox {\n  separator = \n}\n";
    MigrationEnv env(o);
    env.seed_mail(bob, "", 5);
    env.seed_mail(bob, "Archive.2023", 4); // "Archive/2023" on the old server
    env.seed_mail(bob, "Sent Items", 2);
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    std::string output;
    // Failed before: "Mail locations must use the same hierarchy separator".
    REQUIRE(sync_once(env, id, &output) == "synced");
    INFO(output);
    const auto old_stats = folder_stats(env.old.dovecot(), bob, '/');
    CHECK(old_stats.count("Archive.2023") == 1);
    CHECK(folder_stats(env.new_dovecot(), bob, '.') == old_stats);
    CHECK(message_ids(env.new_dovecot(), bob, "Archive.2023") ==
          message_ids(env.old.dovecot(), bob, "Archive/2023"));
    // The new server's config is untouched: the separator lives in the run's config only.
    CHECK(read_file(env.new_dovecot().config_path()).find("separator = .") == std::string::npos);
    env.seed_mail(bob, "Archive.2023", 2, 100);
    CHECK(resync(env, id) == "synced");
    CHECK(message_ids(env.new_dovecot(), bob, "Archive.2023") ==
          message_ids(env.old.dovecot(), bob, "Archive/2023"));
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("dsync engine: mail on the new server before the first sync is kept, and what the old "
          "server has arrives once, however its UIDs collide",
          "[integration][dsync]") {
    MigrationEnv env(dsync_options());
    env.seed_mail(bob, "", 2);
    env.seed_mail(bob, "Sent Items", 1);
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    DovecotInstance &fresh = env.new_dovecot();
    // Delivered to the new server before the first sync: they take UIDs 1-3 and 1-2, every UID
    // the old folders use.
    std::vector<std::string> early_inbox, early_sent;
    for (int i = 0; i < 3; ++i) {
        early_inbox.push_back("<early-" + std::to_string(i) + "@new.example>");
        REQUIRE(fresh
                    .doveadm({"save", "-u", bob, "-m", "INBOX"},
                             rfc822(early_inbox.back(), "early " + std::to_string(i)))
                    .exit_code == 0);
    }
    REQUIRE(fresh.doveadm({"mailbox", "create", "-u", bob, "Sent Items"}).exit_code == 0);
    for (int i = 0; i < 2; ++i) {
        early_sent.push_back("<early-sent-" + std::to_string(i) + "@new.example>");
        REQUIRE(fresh
                    .doveadm({"save", "-u", bob, "-m", "Sent Items"},
                             rfc822(early_sent.back(), "early sent " + std::to_string(i)))
                    .exit_code == 0);
    }
    REQUIRE(sync_once(env, id) == "synced");
    for (int round = 1; round <= 3; ++round) {
        INFO("sync " << round);
        CHECK(message_ids(fresh, bob, "INBOX") ==
              with(message_ids(env.old.dovecot(), bob, "INBOX"), early_inbox));
        CHECK(message_ids(fresh, bob, "Sent Items") ==
              with(message_ids(env.old.dovecot(), bob, "Sent Items"), early_sent));
        if (round == 2)
            env.seed_mail(bob, "", 1, 50);
        REQUIRE(resync(env, id) == "synced");
    }
    CHECK(message_ids(fresh, bob, "INBOX").size() == 3 + 3);
}

TEST_CASE("dsync engine: an old server with every folder under INBOX. hands them over beside "
          "INBOX",
          "[integration][dsync]") {
    MigrationEnvOptions o = dsync_options();
    o.old_provider_config =
        "namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n}\n";
    MigrationEnv env(o);
    env.seed_mail(bob, "", 4);
    env.seed_mail(bob, "Sent", 3);         // INBOX.Sent there
    env.seed_mail(bob, "Archive.2023", 2); // INBOX.Archive.2023 there
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    std::string output;
    REQUIRE(sync_once(env, id, &output) == "synced");
    INFO(output);
    DovecotInstance &fresh = env.new_dovecot();
    CHECK(message_ids(fresh, bob, "INBOX") == message_ids(env.old.dovecot(), bob, "INBOX"));
    CHECK(message_ids(fresh, bob, "Sent") == message_ids(env.old.dovecot(), bob, "INBOX.Sent"));
    CHECK(message_ids(fresh, bob, "Archive/2023") ==
          message_ids(env.old.dovecot(), bob, "INBOX.Archive.2023"));
    CHECK(message_ids(fresh, bob, "Sent").size() == 3);
    const std::string folders = fresh.doveadm({"mailbox", "list", "-u", bob}).out;
    INFO(folders);
    CHECK(folders.find("INBOX/") == std::string::npos);
    env.seed_mail(bob, "Sent", 1, 100);
    CHECK(resync(env, id) == "synced");
    CHECK(message_ids(fresh, bob, "Sent") == message_ids(env.old.dovecot(), bob, "INBOX.Sent"));
}

TEST_CASE("dsync engine: a worker killed outright leaves no doveadm running and no password on "
          "disk; the next start removes what it left",
          "[integration][dsync][kill]") {
    MigrationEnv env(dsync_options());
    env.seed_mail(bob, "", 4000);
    start_with_dsync(env);
    REQUIRE(env.imap_login(bob, bob_pw).status == "OK");
    const std::string id = task_of(env, bob);
    // A run directory a worker killed before this version left: the password in a file.
    const std::string stale = env.runtime_dir + "/migration" + id + "-dsync-Xy12Zw";
    make_dir(stale, 0700);
    write_file(stale + "/doveadm.conf", "imapc_password = \"" + bob_pw + "\"\n", 0600);
    {
        WorkerProcess w(env, "killed");
        int64_t copied = 0;
        for (int i = 0; i < 600 && copied == 0; ++i) {
            copied = dsync_processes(env) > 0 ? new_inbox_messages(env) : 0;
            if (copied == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        REQUIRE(copied > 0);
        REQUIRE(copied < 4000);
        CHECK_FALSE(std::filesystem::exists(stale)); // removed at start
        // While doveadm copies, it has the password from a pipe: no file holds it.
        CHECK(files_containing(env.runtime_dir, bob_pw).empty());
        const auto children = descendants(w.pid);
        REQUIRE_FALSE(children.empty());
        w.stop(SIGKILL);
        CHECK(wait_pids_gone(children, 15000));
        CHECK(dsync_processes(env) == 0);
    }
    CHECK(files_containing(env.runtime_dir, bob_pw).empty());
    CHECK(files_containing(env.state_dir, bob_pw).empty());
    CHECK(run_dirs(env).size() == 1); // the killed run's, without a secret in it

    env.sql("UPDATE migrations SET lease_expires = now() - interval '1 s' RETURNING id");
    CHECK(sync_once(env, id) == "synced");
    CHECK(run_dirs(env).empty());
    const auto ids = message_ids(env.new_dovecot(), bob, "INBOX");
    CHECK(ids.size() == 4000);
    CHECK(ids == message_ids(env.old.dovecot(), bob, "INBOX"));
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("cutover proxy: the client sees the old mailbox until the first sync, then the same "
          "UIDVALIDITY and UIDs here",
          "[integration][dsync][cutover]") {
    MigrationEnv env(proxy_options());
    seed_bob(env);
    env.trust_old_provider_in_proxies(); // the proxy verifies the old provider
    start_with_dsync(env);
    // The old provider's folder names, as a client sees them there: '.' separator.
    const std::vector<std::string> old_names = {"INBOX", "Archive.2023"};

    // First login: the account and the task are created and the session runs at the old
    // provider: the client sees the old mailbox at once.
    const auto proxied = client_views(env, bob, bob_pw, old_names);
    const std::string id = task_of(env, bob);
    REQUIRE_FALSE(id.empty());
    CHECK(proxied.at("INBOX").uid_to_message_id.size() == 40);
    CHECK(proxied.at("Archive.2023").uid_to_message_id.size() == 15);
    // The new mailbox was not touched (no UIDVALIDITY of its own could be assigned).
    struct stat st {};
    CHECK(stat((env.new_dovecot().base() + "/mail/other.example/bob").c_str(), &st) != 0);
    // The second login goes through the SQL passdb's query: proxied as well.
    const int attempts_before = env.provider_attempts(bob);
    CHECK(client_views(env, bob, bob_pw, old_names) == proxied);
    CHECK(env.provider_attempts(bob) == attempts_before + 1);
    // The worker's master-user logins are never proxied, nor are other services.
    auto master = env.new_dovecot().doveadm(
        {"auth", "test", "-x", "service=imap", bob + "*" + master_user, master_pw});
    CHECK(master.exit_code == 0);
    CHECK(master.out.find("proxy") == std::string::npos);
    auto smtp = env.new_dovecot().doveadm({"auth", "test", "-x", "service=smtp", bob, bob_pw});
    CHECK(smtp.exit_code == 0);
    CHECK(smtp.out.find("proxy") == std::string::npos);
    auto imap = env.new_dovecot().doveadm({"auth", "test", "-x", "service=imap", bob, bob_pw});
    CHECK(imap.out.find("proxy") != std::string::npos);
    CHECK(env.sql("SELECT first_synced_at IS NULL FROM migrations WHERE id = " + id) == "t");

    // The first complete sync ends the proxy window.
    REQUIRE(sync_once(env, id) == "synced");
    CHECK(env.sql("SELECT first_synced_at IS NOT NULL FROM migrations WHERE id = " + id) == "t");
    const int attempts_synced = env.provider_attempts(bob);
    // Now local ('/' separator here), and the client's cache stays valid: same UIDVALIDITY,
    // same UID for every message.
    const auto local = client_views(env, bob, bob_pw, {"INBOX", "Archive/2023"});
    CHECK(env.provider_attempts(bob) == attempts_synced); // the old provider was not asked
    CHECK(local.at("INBOX") == proxied.at("INBOX"));
    CHECK(local.at("Archive/2023") == proxied.at("Archive.2023"));

    // Mail that reaches the old provider meanwhile (MX still there) arrives with its old UID.
    env.seed_mail(bob, "", 3, 1000);
    const auto old_now = [&] {
        ImapClient c("127.0.0.1", env.old.imap_port());
        REQUIRE(c.login(bob, bob_pw).ok());
        return client_view(c, "INBOX");
    }();
    REQUIRE(old_now.uid_to_message_id.size() == 43);
    CHECK(resync(env, id) == "synced");
    CHECK(client_views(env, bob, bob_pw, {"INBOX"}).at("INBOX") == old_now);
    CHECK(env.logs_free_of_passwords());
}

// MX here during the proxy window, when the admin has not set up Postfix's deferral
// (`postfix-maps`' transport map, test_postfix_maps.cpp) or mail reaches Dovecot another way:
// mail delivered here by Dovecot's own LDA before the first sync is kept, the first sync still
// completes and brings every old message, and nothing arrives twice on re-syncs.
TEST_CASE("cutover proxy with the MX here: mail delivered here before the first sync is kept "
          "and the sync completes",
          "[integration][dsync][cutover]") {
    MigrationEnv env(proxy_options());
    seed_bob(env);
    env.trust_old_provider_in_proxies(); // the proxy verifies the old provider
    start_with_dsync(env);
    const std::vector<std::string> old_names = {"INBOX", "Archive.2023"};
    const auto proxied = client_views(env, bob, bob_pw, old_names);
    const std::string id = task_of(env, bob);
    REQUIRE_FALSE(id.empty());
    DovecotInstance &fresh = env.new_dovecot();
    std::vector<std::string> delivered;
    for (int i = 0; i < 3; ++i) {
        delivered.push_back("<mx-here-" + std::to_string(i) + "@sender.example>");
        auto lda = run({"/usr/lib/dovecot/dovecot-lda", "-c", fresh.config_path(), "-d", bob, "-f",
                        "sender@sender.example"},
                       rfc822(delivered.back(), "delivered here " + std::to_string(i)));
        INFO(lda.err);
        REQUIRE(lda.exit_code == 0);
    }
    // Still proxied: the user works at the old provider until the first sync.
    CHECK(client_views(env, bob, bob_pw, old_names) == proxied);

    std::string output;
    REQUIRE(sync_once(env, id, &output) == "synced");
    INFO(output);
    CHECK(env.sql("SELECT first_synced_at IS NOT NULL FROM migrations WHERE id = " + id) == "t");
    for (int round = 0; round < 2; ++round) {
        INFO("after sync " << round + 1);
        CHECK(message_ids(fresh, bob, "INBOX") ==
              with(message_ids(env.old.dovecot(), bob, "INBOX"), delivered));
        CHECK(message_ids(fresh, bob, "Archive/2023") ==
              message_ids(env.old.dovecot(), bob, "Archive.2023"));
        if (round == 0) {
            env.seed_mail(bob, "", 2, 2000);
            REQUIRE(resync(env, id) == "synced");
        }
    }
    // Local now: the client sees all of it here, but under new UIDs (dsync starting into a
    // mailbox that holds mail renumbers the old messages, in every folder): its cache is
    // re-filled once. Deferring the delivery until the first sync (postfix-maps) avoids that.
    const auto local = client_views(env, bob, bob_pw, {"INBOX", "Archive/2023"});
    CHECK(local.at("INBOX").uid_to_message_id.size() == 40 + 3 + 2);
    CHECK(local.at("Archive/2023").uid_to_message_id.size() ==
          proxied.at("Archive.2023").uid_to_message_id.size());
    CHECK(env.logs_free_of_passwords());
}

namespace {

// Ports of the POP3 test: the old provider's pop3 (proxied to, read by pop3c and by the test)
// and the new server's.
struct Pop3Ports {
    int old_pop3 = free_tcp_port();
    int new_pop3 = free_tcp_port();
};

MigrationEnvOptions pop3_uidl_options(const Pop3Ports &ports) {
    MigrationEnvOptions o = proxy_options();
    // Without TLS: Dovecot's pop3c before 2.4.3 can wait for an answer it already holds over
    // TLS (fixed upstream by "pop3c: Fix potential hangs with SSL"); on 2.3.19 this test hung
    // now and then in pop3c until its 5-minute timeout (doc/migration.md, "POP3 UIDLs").
    o.security = "none";
    o.extra_yaml +=
        "    pop3_port: " + std::to_string(ports.old_pop3) + "\n    keep_pop3_uidls: true\n";
    // Cyrus's UIDL format (UIDVALIDITY.UID) instead of Dovecot's default: UIDLs the new server
    // cannot derive from the UIDs dsync keeps, so only migrated UIDLs can match.
    o.old_provider_config =
        "protocols = imap pop3\nservice pop3-login {\n  inet_listener pop3 {\n    port = " +
        std::to_string(ports.old_pop3) + "\n  }\n  inet_listener pop3s {\n    port = 0\n  }\n}\n" +
        (dovecot_24() ? "pop3_uidl_format = %{uidvalidity}.%{uid}\n"
                      : "pop3_uidl_format = %v.%u\n");
    // The new server's POP3 as shipped: its own default UIDL format, nothing for migration.
    o.new_dovecot_config = "protocols = imap pop3\nservice pop3-login {\n  inet_listener pop3 {\n"
                           "    port = " +
                           std::to_string(ports.new_pop3) +
                           "\n  }\n  inet_listener pop3s {\n    port = 0\n  }\n}\n";
    return o;
}

// "N UIDL" lines of a POP3 session of bob's on port.
std::vector<std::string> pop3_uidls(int port) {
    Pop3Client c(port);
    REQUIRE(c.login(bob, bob_pw));
    std::string status;
    auto lines = c.listing("UIDL", &status);
    INFO(status);
    REQUIRE(status.rfind("+OK", 0) == 0);
    c.command("QUIT");
    return lines;
}

// POP3 logins of bob's at the old provider so far (its log: the proxy's and pop3c's).
int old_pop3_logins(MigrationEnv &env) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the log lands late
    const std::string log = env.old.dovecot().log();
    // 2.3's login processes log "Login: user=<...>", 2.4's "Logged in: user=<...>".
    const std::string user = " user=<" + bob + ">";
    int n = 0;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        if (line.find("pop3-login:") != std::string::npos &&
            (line.find("Login:" + user) != std::string::npos ||
             line.find("Logged in:" + user) != std::string::npos))
            ++n;
    return n;
}

} // namespace

TEST_CASE("cutover proxy with keep_pop3_uidls: a POP3 client sees the same UIDLs before and "
          "after the switch, mail that arrived between syncs included",
          "[integration][dsync][cutover][pop3]") {
    const Pop3Ports ports;
    MigrationEnv env(pop3_uidl_options(ports));
    env.seed_mail(bob, "", 12);
    env.seed_mail(bob, "Archive.2023", 3); // outside POP3's view: synced, no UIDL needed
    start_with_dsync(env);
    const auto old_uidls = pop3_uidls(ports.old_pop3);
    REQUIRE(old_uidls.size() == 12);
    CHECK(old_uidls[0].find('.') != std::string::npos); // "1 UIDVALIDITY.1"

    // The first login is a POP3 one: account and task created, the session proxied to the old
    // provider's POP3.
    const int logins_before = old_pop3_logins(env);
    CHECK(pop3_uidls(ports.new_pop3) == old_uidls);
    CHECK(old_pop3_logins(env) == logins_before + 1);
    const std::string id = task_of(env, bob);
    REQUIRE_FALSE(id.empty());

    Watcher watcher(bob_pw, env.runtime_dir);
    std::string output;
    REQUIRE(sync_once(env, id, &output) == "synced");
    INFO(output);
    // Served here now: the old provider sees no POP3 login for it, the UIDLs are the old ones.
    const int logins_synced = old_pop3_logins(env);
    const auto local = pop3_uidls(ports.new_pop3);
    CHECK(old_pop3_logins(env) == logins_synced);
    CHECK(local == old_uidls);
    CHECK(message_ids(env.new_dovecot(), bob, "Archive/2023").size() == 3);

    // New mail at the old provider (MX still there) keeps its UIDL too.
    env.seed_mail(bob, "", 2, 1000);
    const auto old_now = pop3_uidls(ports.old_pop3);
    REQUIRE(old_now.size() == 14);
    REQUIRE(resync(env, id, &output) == "synced");
    CHECK(pop3_uidls(ports.new_pop3) == old_now);
    watcher.stop();
    // Both password pipes: never a command line, a file or a log.
    CHECK(watcher.doveadm_syncs_seen > 0);
    CHECK_FALSE(watcher.secret_in_cmdline);
    CHECK(files_containing(env.runtime_dir, bob_pw).empty());
    CHECK(files_containing(env.state_dir, bob_pw).empty());

    // UIDLs that cannot be read fail the run: never "synced" with a message whose UIDL changed.
    // The same provider, its POP3 now unreachable.
    const std::string unreachable = std::to_string(free_tcp_port());
    const std::string from = "pop3_port: " + std::to_string(ports.old_pop3);
    auto &yaml = env.options.extra_yaml;
    yaml.replace(yaml.find(from), from.size(), "pop3_port: " + unreachable);
    env.write_config();
    env.seed_mail(bob, "", 1, 2000);
    CHECK(resync(env, id) == "failed");
    const std::string error = env.sql("SELECT last_error FROM migrations WHERE id = " + id);
    INFO(error);
    CHECK(error.find("POP3") != std::string::npos);
    CHECK(error.find(bob_pw) == std::string::npos);
    CHECK(pop3_uidls(ports.new_pop3) == old_now); // the message waits for its UIDL
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("cutover immediate (the default) serves the first login here, as before",
          "[integration][dsync][cutover]") {
    MigrationEnv env(dsync_options());
    seed_bob(env);
    start_with_dsync(env);
    ImapClient c("127.0.0.1", env.new_imap_port);
    REQUIRE(c.login(bob, bob_pw).ok());
    auto sel = c.command("EXAMINE INBOX");
    REQUIRE(sel.ok());
    // The new, still empty mailbox.
    CHECK(std::any_of(sel.untagged.begin(), sel.untagged.end(),
                      [](const std::string &l) { return l == "* 0 EXISTS"; }));
    c.logout();
}
