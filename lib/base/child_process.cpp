#include "base/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace imapmig {

namespace fs = std::filesystem;

RunDir::~RunDir() {
    std::error_code ec;
    if (!path.empty())
        fs::remove_all(path, ec);
}

Result<void> make_private_dir(const std::string &path) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec)
        return temporary_error("cannot create " + path + ": " + ec.message());
    if (::chmod(path.c_str(), 0700) != 0)
        return temporary_error("cannot chmod 0700 " + path + ": " + std::strerror(errno));
    return {};
}

Result<void> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return temporary_error(std::string("write: ") + std::strerror(errno));
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<void> write_private_file(const std::string &path, std::string_view content) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0)
        return temporary_error("cannot create " + path + ": " + std::strerror(errno));
    if (auto r = write_all(fd.get(), content); !r)
        return temporary_error("cannot write " + path + ": " + r.error().message);
    return {};
}

namespace {

// A directory's own flock (no lock file): on a run directory, held by its run; on the runtime
// directory, shared by creators and taken alone by the cleaner, so that creating a run
// directory and locking it is one step for remove_stale_run_dirs.
Result<Fd> lock_dir(const std::string &path, int how) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0)
        return temporary_error("cannot open " + path + ": " + std::strerror(errno));
    while (::flock(fd.get(), how) != 0)
        if (errno != EINTR)
            return temporary_error("cannot lock " + path + ": " + std::strerror(errno));
    return fd;
}

} // namespace

Result<void> make_run_dir(const std::string &runtime_dir, const std::string &prefix,
                          RunDir &run_dir) {
    if (auto r = make_private_dir(runtime_dir); !r)
        return r;
    auto shared = lock_dir(runtime_dir, LOCK_SH);
    if (!shared)
        return shared.error();
    std::string tmpl = runtime_dir + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
        return temporary_error("cannot create a run directory in " + runtime_dir + ": " +
                               std::strerror(errno));
    run_dir.path = tmpl;
    auto lock = lock_dir(tmpl, LOCK_EX | LOCK_NB);
    if (!lock)
        return lock.error();
    run_dir.lock = std::move(lock.value());
    return {};
}

Result<int> remove_stale_run_dirs(const std::string &runtime_dir) {
    std::error_code ec;
    if (!fs::is_directory(runtime_dir, ec))
        return 0;
    auto exclusive = lock_dir(runtime_dir, LOCK_EX);
    if (!exclusive)
        return exclusive.error();
    int removed = 0;
    for (const auto &entry : fs::directory_iterator(runtime_dir, ec)) {
        if (!entry.is_directory(ec) || entry.is_symlink(ec) ||
            !entry.path().filename().string().starts_with("migration"))
            continue;
        if (!lock_dir(entry.path().string(), LOCK_EX | LOCK_NB))
            continue; // a living run's
        fs::remove_all(entry.path(), ec);
        if (ec)
            return temporary_error("cannot remove " + entry.path().string() + ": " + ec.message());
        ++removed;
    }
    if (ec)
        return temporary_error("cannot list " + runtime_dir + ": " + ec.message());
    return removed;
}

namespace {

// Everything below runs between fork and execve in a multi-threaded process: system calls
// only, no allocation, no locks.

int64_t monotonic_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int open_pidfd(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

void close_from(int first) {
    if (::syscall(SYS_close_range, first, ~0U, 0) != 0)
        for (int fd = first; fd < 4096; ++fd)
            ::close(fd);
}

// Places each fds[i].fd at fds[i].as (no O_CLOEXEC), the lifeline at the first number above
// them (O_CLOEXEC), and closes everything else. Returns the lifeline's number.
int arrange_fds(const std::vector<InheritedFd> &fds, int lifeline) {
    int top = 0;
    for (const auto &f : fds)
        top = std::max(top, f.as + 1);
    // Copies above every target first, so that no source is overwritten before it is placed.
    const int life = ::fcntl(lifeline, F_DUPFD_CLOEXEC, top);
    int high[64];
    const size_t n = std::min(fds.size(), std::size(high));
    for (size_t i = 0; i < n; ++i)
        high[i] = ::fcntl(fds[i].fd, F_DUPFD_CLOEXEC, top);
    for (size_t i = 0; i < n; ++i)
        ::dup2(high[i], fds[i].as);
    for (int fd = 0; fd < top; ++fd) {
        bool wanted = false;
        for (size_t i = 0; i < n; ++i)
            wanted |= fds[i].as == fd;
        if (!wanted)
            ::close(fd);
    }
    if (life != top)
        ::dup2(life, top);
    ::fcntl(top, F_SETFD, FD_CLOEXEC);
    close_from(top + 1);
    return top;
}

[[noreturn]] void exec_program(char *const argv[], char *const envp[]) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
        ::sigaction(sig, &dfl, nullptr); // fails harmlessly for SIGKILL, SIGSTOP, 32, 33
    // Should the guard alone be killed, the program stops the gentle way.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv, envp);
    ::_exit(127);
}

// The guard ends the way the program ended: the same exit code, or the same signal.
[[noreturn]] void end_like(int status) {
    if (WIFEXITED(status))
        ::_exit(WEXITSTATUS(status));
    const int sig = WTERMSIG(status);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
    ::kill(::getpid(), sig);
    ::_exit(128 + sig);
}

[[noreturn]] void guard(const std::vector<InheritedFd> &fds, int lifeline, char *const argv[],
                        char *const envp[], int64_t grace_ms) {
    // Every signal is blocked (spawn_child): a SIGTERM to the group is for the program.
    ::setpgid(0, 0);
    ::prctl(PR_SET_NAME, "imapmig-guard"); // its name in ps -o comm and top
    const int life = arrange_fds(fds, lifeline);
    const pid_t program = ::fork();
    if (program < 0)
        ::_exit(127);
    if (program == 0) {
        ::close(life);
        exec_program(argv, envp);
    }
    // A stop sent to the group before the program existed waits here, blocked; forked
    // children do not inherit pending signals: pass it on.
    sigset_t pending;
    if (::sigpending(&pending) == 0)
        for (int sig : {SIGTERM, SIGINT, SIGHUP})
            if (sigismember(&pending, sig) == 1)
                ::kill(program, sig);
    const int pidfd = open_pidfd(program);
    int64_t kill_at = -1; // set once orphaned
    while (true) {
        int status = 0;
        pid_t r = ::waitpid(program, &status, WNOHANG);
        if (r == program)
            end_like(status);
        if (r < 0 && errno != EINTR)
            ::_exit(127);
        const int64_t now = monotonic_ms();
        if (kill_at >= 0 && now >= kill_at)
            ::kill(0, SIGKILL); // the group, this guard included
        pollfd pfds[2] = {{pidfd, POLLIN, 0}, {kill_at < 0 ? life : -1, POLLIN, 0}};
        int timeout = pidfd < 0 ? 100 : -1;
        if (kill_at >= 0) {
            const int left = static_cast<int>(std::clamp<int64_t>(kill_at - now, 0, 1 << 30));
            timeout = timeout < 0 ? left : std::min(timeout, left);
        }
        ::poll(pfds, 2, timeout);
        if (pfds[1].revents != 0) { // EOF: the worker is gone
            ::kill(0, SIGTERM);
            kill_at = monotonic_ms() + grace_ms;
        }
    }
}

} // namespace

Result<ChildHandle> spawn_child(const SpawnSpec &spec) {
    std::vector<std::string> args = spec.argv, env = spec.env;
    std::vector<char *> argv, envp;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    if (spec.argv.empty() || spec.fds.size() > 60)
        return bug_error("spawn_child: no program, or too many fds");
    Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (devnull.get() < 0)
        return temporary_error(std::string("/dev/null: ") + std::strerror(errno));
    std::vector<InheritedFd> fds;
    for (int std_fd : {0, 1, 2})
        if (std::none_of(spec.fds.begin(), spec.fds.end(),
                         [&](const InheritedFd &f) { return f.as == std_fd; }))
            fds.push_back({devnull.get(), std_fd});
    fds.insert(fds.end(), spec.fds.begin(), spec.fds.end());
    auto lifeline = make_pipe();
    if (!lifeline)
        return lifeline.error();
    const int64_t grace_ms = std::chrono::milliseconds(spec.orphan_grace).count();
    // The guard starts with every signal blocked: one sent to its group before it has settled
    // must not run this process's handlers in the copy.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = ::fork();
    if (pid == 0)
        guard(fds, lifeline.value().read.get(), argv.data(), envp.data(), grace_ms);
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0)
        return temporary_error(std::string("fork: ") + std::strerror(fork_errno));
    // Also here, so that a signal sent before the guard ran setpgid reaches the group.
    ::setpgid(pid, pid);
    return ChildHandle(pid, std::move(lifeline.value().write));
}

ChildHandle::~ChildHandle() {
    if (pid_ > 0 && !status_)
        stop(std::chrono::seconds(10));
}

void ChildHandle::signal(int sig) const {
    if (pid_ > 0 && !status_)
        ::kill(-pid_, sig);
}

std::optional<int> ChildHandle::wait(bool block) {
    if (status_ || pid_ <= 0)
        return status_;
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == pid_)
        status_ = status;
    else if (r < 0)
        status_ = W_EXITCODE(127, 0); // not our child any more: nothing to wait for
    return status_;
}

int ChildHandle::stop(std::chrono::milliseconds grace) {
    signal(SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!wait(false) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!status_)
        signal(SIGKILL);
    return *wait(true);
}

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return temporary_error(std::string("pipe: ") + std::strerror(errno));
    return Pipe{Fd(fds[0]), Fd(fds[1])};
}

} // namespace imapmig
