#include "process.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "temp_dir.hpp"

extern char **environ;

namespace testsupport {

namespace {

using Clock = std::chrono::steady_clock;

// Everything the child needs, allocated before fork(): the child only makes system calls.
struct ExecPlan {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::vector<char *> argv;
    std::vector<char *> envp;
};

std::string join_args(const std::vector<std::string> &argv) {
    std::string out;
    for (const auto &a : argv) {
        if (!out.empty())
            out += ' ';
        out += a;
    }
    return out;
}

std::string resolve_program(const std::string &name) {
    if (name.find('/') != std::string::npos)
        return name;
    const char *path_env = std::getenv("PATH");
    std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
    path += ":/usr/sbin:/sbin";
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos)
            end = path.size();
        std::string dir = path.substr(start, end - start);
        if (!dir.empty()) {
            std::string candidate = dir + "/" + name;
            struct stat st {};
            if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
        start = end + 1;
    }
    throw std::runtime_error("program not found in PATH: " + name);
}

ExecPlan make_plan(const std::vector<std::string> &argv, const EnvList &extra_env) {
    if (argv.empty())
        throw std::runtime_error("empty argv");
    ExecPlan plan;
    plan.path = resolve_program(argv[0]);
    plan.args = argv;
    for (char **e = environ; *e != nullptr; ++e) {
        std::string entry = *e;
        std::string key = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (const auto &[k, v] : extra_env)
            overridden = overridden || k == key;
        if (!overridden)
            plan.env.push_back(entry);
    }
    for (const auto &[k, v] : extra_env)
        plan.env.push_back(k + "=" + v);
    for (auto &a : plan.args)
        plan.argv.push_back(a.data());
    plan.argv.push_back(nullptr);
    for (auto &e : plan.env)
        plan.envp.push_back(e.data());
    plan.envp.push_back(nullptr);
    return plan;
}

void ignore_sigpipe() {
    // Writing to a child's closed stdin (or a closed socket) must not kill the test binary.
    static const bool done = [] {
        std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)done;
}

// Child-side failure report: which step failed and errno, sent through a CLOEXEC pipe.
struct ChildFailure {
    int step;
    int err;
};
enum Step {
    step_dup = 1,
    step_unshare,
    step_mount,
    step_setuid,
    step_prctl,
    step_exec,
    step_chdir
};

const char *step_name(int step) {
    switch (step) {
    case step_dup:
        return "dup2";
    case step_unshare:
        return "unshare(CLONE_NEWNS)";
    case step_mount:
        return "mount";
    case step_setuid:
        return "setgid/setuid";
    case step_prctl:
        return "prctl(PR_SET_PDEATHSIG)";
    case step_exec:
        return "execve";
    case step_chdir:
        return "chdir";
    default:
        return "setup";
    }
}

[[noreturn]] void child_fail(int report_fd, int step) {
    ChildFailure f{step, errno};
    ssize_t ignored = write(report_fd, &f, sizeof f);
    (void)ignored;
    _exit(127);
}

// Parent side: EOF on the report pipe means exec succeeded.
void check_child_started(int report_fd, pid_t pid, const std::vector<std::string> &argv) {
    ChildFailure f{};
    ssize_t n;
    do {
        n = read(report_fd, &f, sizeof f);
    } while (n < 0 && errno == EINTR);
    close(report_fd);
    if (n == static_cast<ssize_t>(sizeof f)) {
        waitpid(pid, nullptr, 0);
        throw std::runtime_error("cannot start " + join_args(argv) + ": " + step_name(f.step) +
                                 ": " + std::strerror(f.err));
    }
}

void make_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
}

int decode_status(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

} // namespace

RunResult run(const std::vector<std::string> &argv, const std::string &stdin_data,
              const EnvList &extra_env, int timeout_ms) {
    ignore_sigpipe();
    ExecPlan plan = make_plan(argv, extra_env);
    int in[2], out[2], err[2], report[2];
    make_pipe(in);
    make_pipe(out);
    make_pipe(err);
    make_pipe(report);
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        setpgid(0, 0); // so that a timeout can kill grandchildren too
        std::signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            child_fail(report[1], step_dup);
        execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
        child_fail(report[1], step_exec);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    close(report[1]);
    try {
        check_child_started(report[0], pid, argv);
    } catch (...) {
        close(in[1]);
        close(out[0]);
        close(err[0]);
        throw;
    }

    RunResult result;
    int in_fd = in[1];
    if (stdin_data.empty()) {
        close(in_fd);
        in_fd = -1;
    } else {
        fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
    }
    std::size_t written = 0;
    int out_fd = out[0], err_fd = err[0];
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    bool timed_out = false;
    while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
        pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        int wait_ms = 100;
        if (!timed_out) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            wait_ms =
                static_cast<int>(std::max<long long>(0, std::min<long long>(left.count(), 1000)));
        }
        int rc = poll(fds, 3, wait_ms);
        if (rc < 0 && errno != EINTR)
            break;
        if (!timed_out && Clock::now() >= deadline) {
            timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        char buf[65536];
        for (int i = 0; i < 2; ++i) {
            int &fd = i == 0 ? out_fd : err_fd;
            if (fd < 0 || fds[i].revents == 0)
                continue;
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0)
                (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
            else if (n == 0 || errno != EINTR) {
                close(fd);
                fd = -1;
            }
        }
        if (in_fd >= 0 && fds[2].revents != 0) {
            ssize_t n = write(in_fd, stdin_data.data() + written, stdin_data.size() - written);
            if (n > 0)
                written += static_cast<std::size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = decode_status(status);
    if (timed_out)
        result.err += "\n[testsupport::run: killed after " + std::to_string(timeout_ms) + " ms]\n";
    return result;
}

RunResult run_checked(const std::vector<std::string> &argv, const std::string &stdin_data,
                      const EnvList &extra_env, int timeout_ms) {
    RunResult r = run(argv, stdin_data, extra_env, timeout_ms);
    if (r.exit_code != 0)
        throw std::runtime_error(join_args(argv) + " exited " + std::to_string(r.exit_code) + ": " +
                                 r.err + r.out);
    return r;
}

pid_t spawn(const std::vector<std::string> &argv, const SpawnOptions &options) {
    ignore_sigpipe();
    ExecPlan plan = make_plan(argv, options.extra_env);
    const bool drop = !options.user.empty();
    uid_t uid = 0;
    gid_t gid = 0;
    if (drop) {
        struct passwd *pw = getpwnam(options.user.c_str());
        if (pw == nullptr)
            throw std::runtime_error("unknown user " + options.user);
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    const bool bind = !options.bind_source.empty() && !options.bind_target.empty();
    const std::string out_path = options.output_path.empty() ? "/dev/null" : options.output_path;
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0)
        throw std::runtime_error("open " + out_path + ": " + std::strerror(errno));
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int report[2];
    make_pipe(report);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        std::signal(SIGPIPE, SIG_DFL);
        if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
            child_fail(report[1], step_dup);
        if (bind) {
            if (unshare(CLONE_NEWNS) != 0)
                child_fail(report[1], step_unshare);
            if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                mount(options.bind_source.c_str(), options.bind_target.c_str(), nullptr, MS_BIND,
                      nullptr) != 0)
                child_fail(report[1], step_mount);
        }
        if (chdir("/") != 0)
            child_fail(report[1], step_chdir);
        if (drop && (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
            child_fail(report[1], step_setuid);
        // After setuid: a credential change clears the parent-death signal.
        if (options.parent_death_signal != 0) {
            if (prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0)
                child_fail(report[1], step_prctl);
            if (getppid() != parent)
                _exit(1);
        }
        execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
        child_fail(report[1], step_exec);
    }
    close(out_fd);
    close(null_fd);
    close(report[1]);
    check_child_started(report[0], pid, argv);
    return pid;
}

bool child_exited(pid_t pid, int *status) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
        if (status != nullptr)
            *status = st;
        return true;
    }
    return false;
}

bool stop_child(pid_t pid, int sig, int timeout_ms) {
    if (pid <= 0)
        return true;
    if (child_exited(pid))
        return true;
    kill(pid, sig);
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
        if (child_exited(pid))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return false;
}

namespace {

// (pid, ppid, state) from /proc/<pid>/stat; false if gone.
bool read_stat(pid_t pid, pid_t *ppid, char *state) {
    std::string stat = read_file_or_empty("/proc/" + std::to_string(pid) + "/stat");
    std::size_t close_paren = stat.rfind(')');
    if (close_paren == std::string::npos || close_paren + 4 > stat.size())
        return false;
    *state = stat[close_paren + 2];
    *ppid = static_cast<pid_t>(std::atoi(stat.c_str() + close_paren + 4));
    return true;
}

} // namespace

bool pid_alive(pid_t pid) {
    pid_t ppid = 0;
    char state = 0;
    return pid > 0 && read_stat(pid, &ppid, &state) && state != 'Z' && state != 'X';
}

std::vector<pid_t> descendants(pid_t root) {
    std::multimap<pid_t, pid_t> children;
    if (DIR *dir = opendir("/proc")) {
        while (dirent *ent = readdir(dir)) {
            pid_t pid = static_cast<pid_t>(std::atoi(ent->d_name));
            pid_t ppid = 0;
            char state = 0;
            if (pid > 0 && read_stat(pid, &ppid, &state) && state != 'Z' && state != 'X')
                children.emplace(ppid, pid);
        }
        closedir(dir);
    }
    std::vector<pid_t> out;
    std::vector<pid_t> todo{root};
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        auto [first, last] = children.equal_range(p);
        for (auto it = first; it != last; ++it) {
            out.push_back(it->second);
            todo.push_back(it->second);
        }
    }
    return out;
}

bool wait_pids_gone(const std::vector<pid_t> &pids, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        bool any = false;
        for (pid_t p : pids)
            any = any || pid_alive(p);
        if (!any)
            return true;
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

namespace {

int unbound_tcp_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        int e = errno;
        close(fd);
        throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(e));
    }
    close(fd);
    return ntohs(addr.sin_port);
}

} // namespace

int free_tcp_port() {
    // The kernel may hand the same port out again as soon as it is closed, and a caller often
    // asks for two before binding either (an imap and an imaps listener: Dovecot then refuses
    // its config with "duplicate listener"). So a port given out recently is not given again.
    static std::mutex mutex;
    static std::deque<int> recent;
    std::lock_guard lock(mutex);
    for (int attempt = 0;; ++attempt) {
        const int port = unbound_tcp_port();
        if (std::find(recent.begin(), recent.end(), port) != recent.end() && attempt < 50)
            continue;
        recent.push_back(port);
        if (recent.size() > 256)
            recent.pop_front();
        return port;
    }
}

bool wait_for_tcp(int port, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        int rc = connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
        close(fd);
        if (rc == 0)
            return true;
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace testsupport
