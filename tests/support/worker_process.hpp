// `imap-migrator worker` started in the background for a test, and waiting for a task's state.
#pragma once

#include "migration_env.hpp"

#include <csignal>
#include <string>
#include <sys/types.h>
#include <vector>

namespace testsupport {

// The task's state once it is one of states, or the last one seen after `seconds`.
std::string wait_for_state(MigrationEnv &env, const std::string &id,
                           const std::vector<std::string> &states, int seconds = 120);

class WorkerProcess {
public:
    // Its output goes to <test dir>/<name>.log. prefix: a command that runs the worker (e.g.
    // `env -C DIR prlimit --core=unlimited`), keeping its pid.
    WorkerProcess(MigrationEnv &env, const std::string &name, bool once = false,
                  const std::vector<std::string> &prefix = {});
    ~WorkerProcess(); // SIGTERM if still running
    WorkerProcess(const WorkerProcess &) = delete;
    WorkerProcess &operator=(const WorkerProcess &) = delete;

    // Sends sig and waits up to 30 s; the wait status.
    int stop(int sig = SIGTERM);
    std::string output() const;

    pid_t pid = 0;
    std::string log;
};

} // namespace testsupport
