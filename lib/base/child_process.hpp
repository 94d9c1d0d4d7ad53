// What the sync engines share to run a helper program from the (multi-threaded) worker: owned
// file descriptors, private per-run files, fork + exec with nothing but system calls in the
// child, a stop that reaches the child's whole process group, and children that never outlive
// the worker. base/supervisor.hpp runs a program to its end on top of this.
#pragma once

#include "base/error.hpp"
#include "base/fd.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapmig {

// A close-on-exec pipe: read end, write end.
struct Pipe {
    Fd read, write;
};
Result<Pipe> make_pipe();

// A per-run directory: removed with everything in it when this goes out of scope. While it
// exists this process holds a lock on it, so that a worker starting later can tell it from
// one a killed worker left behind (remove_stale_run_dirs).
class RunDir {
public:
    RunDir() = default;
    RunDir(const RunDir &) = delete;
    RunDir &operator=(const RunDir &) = delete;
    ~RunDir();
    std::string path;
    Fd lock;
};

// Creates path (and parents) and makes it 0700.
Result<void> make_private_dir(const std::string &path);
// A new file (never an existing one) with mode 0600.
Result<void> write_private_file(const std::string &path, std::string_view content);
// A fresh 0700 directory runtime_dir/PREFIX-XXXXXX, owned by run_dir.
Result<void> make_run_dir(const std::string &runtime_dir, const std::string &prefix,
                          RunDir &run_dir);
// Removes the run directories (migration*) in runtime_dir that no living process holds (left by a
// worker that was killed); returns how many.
Result<int> remove_stale_run_dirs(const std::string &runtime_dir);
Result<void> write_all(int fd, std::string_view data);

// An fd of this process that the child finds under another number.
struct InheritedFd {
    int fd;
    int as;
};

struct SpawnSpec {
    std::vector<std::string> argv; // argv[0] is the program's path
    std::vector<std::string> env;  // the child's whole environment
    std::vector<InheritedFd> fds;  // 0, 1 and 2 are /dev/null unless given here
    // Once this process is gone (even SIGKILLed), the child gets SIGTERM, then SIGKILL after
    // this long.
    std::chrono::seconds orphan_grace{10};
};

// A started child. Between this process and the program sits a small guard: a fork of this
// process that never execs nor changes user. It leads the child's process group, passes the
// program's exit status on as its own, and holds the read end of a pipe (the lifeline) whose
// only write end is here: when this process dies, however it dies, the guard sees EOF and stops
// the program. A parent-death signal alone is not enough: the kernel clears it when the child
// switches user (doveadm -u does), and it fired into a blocked mask.
// The program itself starts with an empty signal mask and default dispositions.
class ChildHandle {
public:
    ChildHandle(pid_t pid, Fd lifeline) : pid_(pid), lifeline_(std::move(lifeline)) {}
    ChildHandle(ChildHandle &&o) noexcept
        : pid_(std::exchange(o.pid_, -1)), lifeline_(std::move(o.lifeline_)), status_(o.status_) {}
    ChildHandle &operator=(ChildHandle &&) = delete;
    ChildHandle(const ChildHandle &) = delete;
    // Not reaped yet: stopped (SIGTERM, SIGKILL after 10 s) and reaped.
    ~ChildHandle();

    pid_t pid() const { return pid_; } // also its process group
    // Signal to the whole process group (the guard ignores all but SIGKILL).
    void signal(int sig) const;
    // The wait status once it has ended (EINTR-safe; WNOHANG with block = false).
    std::optional<int> wait(bool block = true);
    // SIGTERM to the group, SIGKILL after grace; the wait status.
    int stop(std::chrono::milliseconds grace);

private:
    pid_t pid_;
    Fd lifeline_;
    std::optional<int> status_;
};

Result<ChildHandle> spawn_child(const SpawnSpec &spec);

} // namespace imapmig
