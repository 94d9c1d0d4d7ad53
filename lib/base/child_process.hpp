// What the sync engines share to run a helper program from the (multi-threaded) worker: owned
// file descriptors, private per-run files, fork + exec with nothing but system calls in the
// child, and a stop that reaches the child's whole process group.
#pragma once

#include "base/error.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapmig {

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd &operator=(Fd &&o) noexcept {
        reset(std::exchange(o.fd_, -1));
        return *this;
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset(int fd = -1);

private:
    int fd_;
};

// A close-on-exec pipe: read end, write end.
struct Pipe {
    Fd read, write;
};
Result<Pipe> make_pipe();

// A per-run directory: removed with everything in it when this goes out of scope.
class RunDir {
public:
    RunDir() = default;
    RunDir(const RunDir &) = delete;
    RunDir &operator=(const RunDir &) = delete;
    ~RunDir();
    std::string path;
};

// Creates path (and parents) and makes it 0700.
Result<void> make_private_dir(const std::string &path);
// A new file (never an existing one) with mode 0600.
Result<void> write_private_file(const std::string &path, std::string_view content);
// A fresh 0700 directory runtime_dir/PREFIX-XXXXXX, owned by run_dir.
Result<void> make_run_dir(const std::string &runtime_dir, const std::string &prefix,
                          RunDir &run_dir);
Result<void> write_all(int fd, std::string_view data);

struct SpawnSpec {
    std::vector<std::string> argv; // argv[0] is the program's path
    std::vector<std::string> env;  // the child's whole environment
    int stdout_fd = -1;            // -1: /dev/null
    int stderr_fd = -1;            // -1: /dev/null
    int fd3 = -1;                  // passed on as fd 3 when >= 0 (secrets, a lock)
};

// Starts the child in its own process group, with SIGTERM as its parent-death signal (a worker
// killed outright stops it the gentle way) and /dev/null as stdin.
Result<pid_t> spawn_child(const SpawnSpec &spec);

// SIGTERM to the child's process group; SIGKILL after 10 s. Reaps the child.
void stop_child_group(pid_t pid);

struct Captured {
    int status = 0; // as waitpid reports it
    std::string out, err;
    bool exited_ok() const; // exited with status 0
};

// Runs a short command to its end (stdout and stderr collected, fd3 ignored); after
// timeout_seconds its process group is stopped and a temporary error returned.
Result<Captured> run_captured(SpawnSpec spec, int timeout_seconds);

} // namespace imapmig
