// The database and hashing steps of first logins on a few threads of their own, each with its
// own LoginMigrator and database session, for a caller whose event loop must never wait (the
// Dovecot auth process). The caller asks the provider itself in between; a finished job is
// announced on notify_fd() and collected with take_finished(). Free of Dovecot.
#pragma once

#include "login_migration.hpp"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <string>
#include <vector>

namespace imapmig {

struct LoginJob {
    // Input, set by the caller.
    std::string user;
    SecretString password;
    std::string remote_ip;
    void *owner = nullptr; // the caller's context

    // Set by the pool. After the first step: either decision, or pending (a check to run).
    std::optional<LoginDecision> decision;
    std::optional<PendingCheck> pending;
    // The caller sets check and submits again; the job returns with a decision.
    std::optional<CheckResult> check;
    int thread = -1; // the session holding pending's provider slot
};

class LoginPool {
public:
    LoginPool(const Config &config, const KeyRing &keys, int threads);
    ~LoginPool(); // stop()
    LoginPool(const LoginPool &) = delete;
    LoginPool &operator=(const LoginPool &) = delete;

    int notify_fd() const { return notify_read_; }
    // The job must stay alive until take_finished() returns it.
    void submit(LoginJob *job);
    // Clears notify_fd() and returns the jobs done since the last call.
    std::vector<LoginJob *> take_finished();
    // Joins the threads (the step in progress finishes). Jobs still queued come back from
    // take_finished() without a decision and without pending.
    void stop();
    int threads() const { return static_cast<int>(workers_.size()); }

private:
    struct Worker {
        LoginPool *pool = nullptr;
        int index = 0;
        std::unique_ptr<LoginMigrator> migrator;
        std::deque<LoginJob *> queue; // answered checks whose slot is in this worker's session
        pthread_t thread{};
        bool started = false;
    };
    static void *thread_main(void *arg);
    void run(int index);
    void finished(LoginJob *job);

    const Config &config_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::deque<LoginJob *> answered_; // slot freed, last step: any worker
    std::deque<LoginJob *> shared_;   // first steps: any worker
    std::vector<LoginJob *> done_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    int notify_read_ = -1, notify_write_ = -1;
};

} // namespace imapmig
