#include "base/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace imapmig {

namespace fs = std::filesystem;

void Fd::reset(int fd) {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = fd;
}

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

Result<void> make_run_dir(const std::string &runtime_dir, const std::string &prefix,
                          RunDir &run_dir) {
    if (auto r = make_private_dir(runtime_dir); !r)
        return r;
    std::string tmpl = runtime_dir + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
        return temporary_error("cannot create a run directory in " + runtime_dir + ": " +
                               std::strerror(errno));
    run_dir.path = tmpl;
    return {};
}

Result<pid_t> spawn_child(const SpawnSpec &spec) {
    std::vector<std::string> args = spec.argv, env = spec.env;
    std::vector<char *> argv, envp;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (devnull.get() < 0)
        return temporary_error(std::string("/dev/null: ") + std::strerror(errno));
    const int out = spec.stdout_fd >= 0 ? spec.stdout_fd : devnull.get();
    const int err = spec.stderr_fd >= 0 ? spec.stderr_fd : devnull.get();
    pid_t pid = ::fork();
    if (pid < 0)
        return temporary_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Only async-signal-safe calls from here on. dup2 clears O_CLOEXEC on the copies.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(devnull.get(), 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        if (spec.fd3 >= 0)
            ::dup2(spec.fd3, 3);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

void stop_child_group(pid_t pid) {
    ::kill(-pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

bool Captured::exited_ok() const {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return temporary_error(std::string("pipe: ") + std::strerror(errno));
    return Pipe{Fd(fds[0]), Fd(fds[1])};
}

Result<Captured> run_captured(SpawnSpec spec, int timeout_seconds) {
    auto out = make_pipe();
    if (!out)
        return out.error();
    auto err = make_pipe();
    if (!err)
        return err.error();
    Fd &out_read = out.value().read, &out_write = out.value().write;
    Fd &err_read = err.value().read, &err_write = err.value().write;
    spec.stdout_fd = out_write.get();
    spec.stderr_fd = err_write.get();
    spec.fd3 = -1;
    auto pid = spawn_child(spec);
    if (!pid)
        return pid.error();
    out_write.reset();
    err_write.reset();
    Captured c;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    char chunk[4096];
    while (out_read.get() >= 0 || err_read.get() >= 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            stop_child_group(pid.value());
            return temporary_error(spec.argv.front() + " did not finish within " +
                                   std::to_string(timeout_seconds) + " s");
        }
        pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
        if (::poll(fds, 2, 200) <= 0)
            continue;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].revents == 0)
                continue;
            Fd &fd = i == 0 ? out_read : err_read;
            ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
            if (n > 0)
                (i == 0 ? c.out : c.err).append(chunk, static_cast<size_t>(n));
            else if (n == 0 || errno != EINTR)
                fd.reset();
        }
    }
    while (::waitpid(pid.value(), &c.status, 0) < 0 && errno == EINTR) {
    }
    return c;
}

} // namespace imapmig
