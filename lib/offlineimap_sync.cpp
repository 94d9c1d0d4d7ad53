#include "offlineimap_sync.hpp"

#include "offlineimap_config.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace imapmig {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd &operator=(Fd &&o) noexcept {
        reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

// The per-run directory: the generated rc and pythonfile live only as long as the run.
class RunDir {
public:
    RunDir() = default;
    RunDir(const RunDir &) = delete;
    ~RunDir() {
        std::error_code ec;
        if (!path.empty())
            fs::remove_all(path, ec);
    }
    std::string path;
};

Result<void> make_private_dir(const std::string &path) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec)
        return temporary_error("cannot create " + path + ": " + ec.message());
    if (::chmod(path.c_str(), 0700) != 0)
        return temporary_error("cannot chmod 0700 " + path + ": " + std::strerror(errno));
    return {};
}

Result<void> write_private_file(const std::string &path, const std::string &content) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0)
        return temporary_error("cannot create " + path + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return temporary_error("cannot write " + path + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    return {};
}

struct Child {
    pid_t pid = -1;
    Fd output;
};

// fork + exec with nothing but system calls in the child (the worker is multi-threaded).
Result<Child> spawn_offlineimap(const std::string &program, const std::string &rc,
                                const std::string &home, Fd secret_read) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return temporary_error(std::string("pipe: ") + std::strerror(errno));
    Fd out_read(out[0]), out_write(out[1]);
    std::vector<std::string> args = {program, "-c", rc, "-u", "machineui"};
    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home,
                                    "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
                                    "IMAPMIG_SECRETS_FD=3"};
    std::vector<char *> argv, envp;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(devnull);
        return temporary_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // Own process group: a stop signal reaches offlineimap's helpers too. A worker killed
        // outright stops offlineimap the gentle way: on SIGTERM it finishes the message in hand
        // and records it, whereas SIGKILL between APPEND and its status write means a duplicate
        // in the next run. Until it has exited, its lock keeps a takeover waiting.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(devnull, 0);
        ::dup2(out_write.get(), 1);
        ::dup2(out_write.get(), 2);
        ::dup2(secret_read.get(), 3);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(devnull);
    return Child{pid, std::move(out_read)};
}

Result<void> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return temporary_error(std::string("writing the secret pipe: ") + std::strerror(errno));
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

void stop_child(pid_t pid) {
    ::kill(-pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

struct RunState {
    MachineUiParser parser;
    std::vector<std::string> other_lines; // tracebacks and the like, for the error text
};

void consume(RunState &st, std::string &buffer) {
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        if (line.find(':') == std::string::npos || line.starts_with(" ") ||
            line.starts_with("Traceback")) {
            if (st.other_lines.size() >= 8)
                st.other_lines.erase(st.other_lines.begin());
            st.other_lines.push_back(line);
        }
        st.parser.feed(line);
    }
}

// Reads the UI until offlineimap closes its output, or stops it when asked to.
void follow(Child &child, RunState &st, const std::atomic<bool> &cancel,
            const ProgressCallback &on_progress, SyncReport &report) {
    std::string buffer;
    auto next_beat = Clock::now();
    char chunk[4096];
    while (true) {
        pollfd pfd{child.output.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, 500);
        if (ready > 0) {
            ssize_t n = ::read(child.output.get(), chunk, sizeof chunk);
            if (n == 0)
                return;
            if (n > 0) {
                buffer.append(chunk, static_cast<size_t>(n));
                consume(st, buffer);
            }
        }
        if (cancel.load()) {
            report.cancelled = true;
            return;
        }
        if (Clock::now() >= next_beat) {
            next_beat = Clock::now() + std::chrono::seconds(2);
            if (on_progress && !on_progress(st.parser.progress())) {
                report.lease_lost = true;
                return;
            }
        }
    }
}

std::string describe_failure(const RunState &st, int status) {
    std::string error;
    for (const auto &e : st.parser.errors())
        error += (error.empty() ? "" : "; ") + e;
    if (error.empty()) {
        error = WIFEXITED(status)
                    ? "offlineimap exited with status " + std::to_string(WEXITSTATUS(status))
                    : "offlineimap was killed by signal " + std::to_string(WTERMSIG(status));
        if (!st.parser.terminated())
            error += " before finishing";
        for (const auto &l : st.other_lines)
            error += " | " + l;
    }
    return error.size() > 2000 ? error.substr(0, 2000) + "..." : error;
}

Result<std::string> prepare_files(const SyncRequest &rq, const OfflineImapAccount &account,
                                  RunDir &run_dir, const std::string &state_dir) {
    if (auto r = make_private_dir(rq.config.sync.runtime_dir); !r)
        return r.error();
    if (auto r = make_private_dir(state_dir); !r)
        return r.error();
    std::string tmpl =
        rq.config.sync.runtime_dir + "/migration" + std::to_string(rq.task.id) + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
        return temporary_error("cannot create a run directory in " + rq.config.sync.runtime_dir +
                               ": " + std::strerror(errno));
    run_dir.path = tmpl;
    const std::string pythonfile = run_dir.path + "/helpers.py";
    const std::string rc = run_dir.path + "/offlineimaprc";
    if (auto r = write_private_file(
            pythonfile,
            offlineimap_helper_python(rq.config.sync, rq.migrator_binary, rq.config_path));
        !r)
        return r.error();
    if (auto r = write_private_file(
            rc, render_offlineimap_rc(rq.config, {account}, pythonfile, state_dir + "/metadata"));
        !r)
        return r.error();
    return rc;
}

} // namespace

std::string migration_state_dir(const Config &config, long long migration_id) {
    return config.sync.state_dir + "/migration" + std::to_string(migration_id);
}

SyncReport run_offlineimap(const SyncRequest &rq, const std::atomic<bool> &cancel,
                           const ProgressCallback &on_progress) {
    const auto started = Clock::now();
    SyncReport report;
    OfflineImapAccount account{rq.task.id, &rq.provider, rq.task.old_login, rq.task.local_user};
    const std::string state_dir = migration_state_dir(rq.config, rq.task.id);
    RunDir run_dir;
    auto rc = prepare_files(rq, account, run_dir, state_dir);
    if (!rc) {
        report.error = rc.error().message;
        return report;
    }
    int sp[2];
    if (::pipe2(sp, O_CLOEXEC) != 0) {
        report.error = std::string("pipe: ") + std::strerror(errno);
        return report;
    }
    Fd secret_read(sp[0]), secret_write(sp[1]);
    auto child = spawn_offlineimap(rq.config.sync.offlineimap, rc.value(), state_dir,
                                   std::move(secret_read));
    if (!child) {
        report.error = child.error().message;
        return report;
    }
    SecretString doc =
        offlineimap_secret_document({{account.old_repository(), rq.old_password},
                                     {account.new_repository(), rq.master_password}});
    auto written = write_all(secret_write.get(), doc.reveal());
    secret_write.reset(); // EOF tells the helper the document is complete
    RunState st{MachineUiParser(account.old_repository()), {}};
    if (written)
        follow(child.value(), st, cancel, on_progress, report);
    int status = 0;
    if (!written || report.cancelled || report.lease_lost)
        stop_child(child.value().pid);
    else
        ::waitpid(child.value().pid, &status, 0);
    report.progress = st.parser.progress();
    report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (!written) {
        report.error = written.error().message;
    } else if (st.parser.succeeded() && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        report.outcome = RunOutcome::synced;
    } else {
        report.outcome =
            st.parser.old_login_rejected() ? RunOutcome::credentials_rejected : RunOutcome::failed;
        report.error = describe_failure(st, status);
        report.busy = st.parser.account_locked();
    }
    return report;
}

} // namespace imapmig
