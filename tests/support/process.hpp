// Child processes and TCP helpers for integration tests. No shell is involved anywhere.
#pragma once

#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace testsupport {

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct RunResult {
    int exit_code = -1; // 128 + signal number if the child was killed by a signal
    std::string out;
    std::string err;
};

// fork/exec argv (argv[0] looked up in PATH), feeds stdin_data, collects stdout and stderr.
// extra_env is added to (overrides) the current environment. After timeout_ms the child's
// process group is SIGKILLed and exit_code is 128 + SIGKILL, with a note appended to err.
// Throws std::runtime_error only if the program cannot be started at all.
RunResult run(const std::vector<std::string> &argv, const std::string &stdin_data = {},
              const EnvList &extra_env = {}, int timeout_ms = 120000);

// run() that throws std::runtime_error (command, exit code, stderr) unless the exit code is 0.
RunResult run_checked(const std::vector<std::string> &argv, const std::string &stdin_data = {},
                      const EnvList &extra_env = {}, int timeout_ms = 120000);

// How spawn() prepares the child between fork and exec.
struct SpawnOptions {
    EnvList extra_env;
    std::string output_path; // stdout and stderr are appended here; "" = /dev/null
    std::string user;        // "" = stay root; else setgid/setuid to this user (primary group)
    // Signal the child receives when this (forking) thread dies, so that a crashed or killed test
    // binary leaves no server behind. 0 = none.
    int parent_death_signal = 15; // SIGTERM
    // If both are set: the child gets a private mount namespace in which bind_source is
    // bind-mounted over bind_target. The host's mount table is never changed.
    std::string bind_source;
    std::string bind_target;
};

// Starts a long-running child; returns its pid (the caller must reap it, see stop_child()).
// Throws std::runtime_error (with the reason) if the setup or exec failed in the child.
pid_t spawn(const std::vector<std::string> &argv, const SpawnOptions &options);

// Non-blocking: true (and *status set, child reaped) if our child pid has exited.
bool child_exited(pid_t pid, int *status = nullptr);

// Sends sig to our child pid and waits up to timeout_ms for it to exit, then SIGKILLs it.
// Always reaps the child. Returns true if it exited before the SIGKILL.
bool stop_child(pid_t pid, int sig, int timeout_ms);

// True if the process exists and is not a zombie (works for any pid, not only children).
bool pid_alive(pid_t pid);
// All live descendants of pid (children, grandchildren, ...), from /proc.
std::vector<pid_t> descendants(pid_t pid);
// Waits until none of pids is alive; false on timeout.
bool wait_pids_gone(const std::vector<pid_t> &pids, int timeout_ms);

// Binds 127.0.0.1:0, reads the port, closes. (Racy by nature; fine for tests.)
int free_tcp_port();
// Retries connecting to 127.0.0.1:port until it succeeds or timeout_ms passes.
bool wait_for_tcp(int port, int timeout_ms);

} // namespace testsupport
