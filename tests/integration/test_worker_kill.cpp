// The worker stopped or killed in the middle of an offlineimap run: its children go with it (the
// worker blocks SIGTERM for its signalfd; the children must not inherit that), the task is
// handed back, the next run copies nothing twice and its counters are true; and the worker
// never writes a core file.
#include "migration_env.hpp"
#include "process.hpp"
#include "worker_process.hpp"

#include "catch_compat.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

int offlineimap_processes(const MigrationEnv &env) {
    auto r = run({"pgrep", "-c", "-f", "offlineimap -c " + env.runtime_dir});
    return r.out.empty() ? 0 : std::stoi(r.out);
}

long new_inbox(MigrationEnv &env, const std::string &user) {
    return folder_stats(env.new_dovecot(), user, '/')["INBOX"].messages;
}

// Until offlineimap runs for the task and the new INBOX holds more than `than` messages.
bool copying_beyond(MigrationEnv &env, const std::string &user, long than) {
    for (int i = 0; i < 600; ++i) {
        if (offlineimap_processes(env) > 0 && new_inbox(env, user) > than)
            return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

} // namespace

TEST_CASE("offlineimap engine: a stopped worker stops its offlineimap at once, a killed one "
          "leaves none running, and the next run's counters are true",
          "[integration][worker][kill]") {
    MigrationEnv env;
    env.seed_mail(carol, "", 1500);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(carol, carol_pw).status == "OK");
    const std::string id = env.sql("SELECT id FROM migrations");

    // SIGTERM: offlineimap gets its SIGTERM (not blocked) and ends the run well before the
    // worker's 10 s SIGKILL.
    {
        WorkerProcess w(env, "terminated");
        REQUIRE(copying_beyond(env, carol, 0));
        const auto t0 = std::chrono::steady_clock::now();
        const int status = w.stop(SIGTERM);
        const auto took = std::chrono::steady_clock::now() - t0;
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(took < 8s);
        INFO(w.output());
        CHECK(w.output().find("interrupted, handed back") != std::string::npos);
    }
    CHECK(offlineimap_processes(env) == 0);
    CHECK(env.sql("SELECT state || ' ' || (lease_owner IS NULL) FROM migrations") ==
          "pending true");

    // SIGKILL: nothing of the worker survives it for long, although nobody is left to stop it.
    long at_kill = 0;
    {
        WorkerProcess w(env, "killed");
        REQUIRE(copying_beyond(env, carol, new_inbox(env, carol)));
        const std::vector<pid_t> children = descendants(w.pid);
        REQUIRE_FALSE(children.empty());
        w.stop(SIGKILL);
        CHECK(wait_pids_gone(children, 15000));
        CHECK(offlineimap_processes(env) == 0);
        at_kill = new_inbox(env, carol);
        std::this_thread::sleep_for(1s);
        CHECK(new_inbox(env, carol) == at_kill); // nobody copies on behind the database's back
        CHECK(at_kill < 1500);
    }

    // The next worker completes the task: no duplicates, and the copied counter counts every
    // message, also those the killed run copied after its last heartbeat.
    env.sql("UPDATE migrations SET lease_expires = now() - interval '1 s' RETURNING id");
    {
        WorkerProcess takeover(env, "takeover", true);
        INFO(takeover.output());
        CHECK(wait_for_state(env, id, {"synced", "failed"}, 600) == "synced");
    }
    CHECK(folder_stats(env.new_dovecot(), carol, '/') ==
          folder_stats(env.old.dovecot(), carol, '.'));
    CHECK(env.sql("SELECT messages_copied FROM migrations") == "1500");
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("the worker writes no core file, whatever the core limit it was started with",
          "[integration][worker][kill]") {
    MigrationEnv env;
    env.start_new_dovecot();
    TempDir cwd("imapmig-core");
    // As a careless unit file or shell would start it: core files allowed, written to the cwd.
    WorkerProcess w(env, "aborted", false,
                    {"env", "-C", cwd.path(), "prlimit", "--core=unlimited", "--"});
    bool started = false;
    for (int i = 0; i < 200 && !started; ++i) {
        started = w.output().find("worker: started") != std::string::npos;
        std::this_thread::sleep_for(50ms);
    }
    INFO(w.output());
    REQUIRE(started);
    const std::string limits = read_file("/proc/" + std::to_string(w.pid) + "/limits");
    CHECK(limits.find("Max core file size        0                    0") != std::string::npos);
    const int status = w.stop(SIGABRT);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
    CHECK_FALSE(WCOREDUMP(status));
    CHECK(std::filesystem::is_empty(cwd.path()));
}
