#include "sync/dsync/dsync_sync.hpp"

#include "base/child_process.hpp"
#include "sync/dsync/dsync_config.hpp"
#include "sync/dsync/dsync_output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace imapmig {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto beat_interval = std::chrono::seconds(2);

std::vector<std::string> doveadm_env() {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
}

std::string first_line(const std::string &text) {
    return text.substr(0, std::min(text.find('\n'), size_t{300}));
}

// Folders and messages of the new mailbox, read with the server's own config.
Result<std::vector<FolderCount>> new_side_counts(const Config &config, const std::string &user) {
    SpawnSpec spec;
    spec.argv = {config.dovecot_bin_dir + "/doveadm",
                 "-c",
                 config.sync.dovecot_config,
                 "mailbox",
                 "status",
                 "-u",
                 user,
                 "messages vsize",
                 "*"};
    spec.env = doveadm_env();
    auto run = run_captured(spec, 120);
    if (!run)
        return run.error();
    // Exit 68 when '*' also matches a \Noselect folder: the others are listed all the same.
    auto folders = parse_mailbox_status(run.value().out);
    if (!run.value().exited_ok() && folders.empty() &&
        !(WIFEXITED(run.value().status) && WEXITSTATUS(run.value().status) == 68))
        return temporary_error("doveadm mailbox status on the new server failed: " +
                               first_line(run.value().err));
    return folders;
}

int64_t total_messages(const std::vector<FolderCount> &folders) {
    int64_t n = 0;
    for (const auto &f : folders)
        n += f.messages;
    return n;
}

SyncProgress progress_between(const std::vector<FolderCount> &before,
                              const std::vector<FolderCount> &now) {
    SyncProgress p;
    p.folders_seen = p.folders_done = static_cast<int>(now.size());
    p.messages_total = total_messages(now);
    p.messages_copied = std::max<int64_t>(0, p.messages_total - total_messages(before));
    p.bytes = 0;
    for (const auto &f : now)
        p.bytes += f.vsize;
    return p;
}

// The old side's folders, named as the new server names them (for folder_exclude/include).
Result<std::vector<std::string>> old_folders(const Config &config, const std::string &run_config,
                                             const DovecotLine &line, const std::string &user) {
    SpawnSpec spec;
    spec.argv = {config.dovecot_bin_dir + "/doveadm", "-c", run_config};
    for (const auto &o : line.imapc_mail_overrides())
        spec.argv.push_back(o);
    for (const char *a : {"mailbox", "list", "-u"})
        spec.argv.push_back(a);
    spec.argv.push_back(user);
    spec.env = doveadm_env();
    auto run = run_captured(spec, 120);
    if (!run)
        return run.error();
    if (!run.value().exited_ok()) {
        DsyncLog log;
        std::istringstream lines(run.value().err);
        for (std::string line; std::getline(lines, line);)
            log.feed(line);
        return temporary_error("listing the old provider's folders failed: " +
                               log.describe_failure(run.value().status));
    }
    return parse_mailbox_list(run.value().out);
}

// One run per migration at a time: the lock is handed to doveadm as fd 3, so an orphaned
// doveadm (worker killed outright) keeps it until it has exited. nullopt: still held.
Result<std::optional<Fd>> lock_state(const std::string &state_dir) {
    const std::string path = state_dir + "/dsync.lock";
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd.get() < 0)
        return temporary_error("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return std::optional<Fd>();
        return temporary_error("cannot lock " + path + ": " + std::strerror(errno));
    }
    return std::optional<Fd>(std::move(fd));
}

bool plausible_state(const std::string &s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '+' || c == '/' || c == '=';
    });
}

// dsync's state string from the previous run ("" at first, or when unreadable).
std::string read_state(const std::string &path) {
    std::ifstream in(path);
    std::string state;
    std::getline(in, state);
    return plausible_state(state) ? state : "";
}

void write_state(const std::string &path, const std::string &state) {
    const std::string tmp = path + ".new";
    ::unlink(tmp.c_str());
    if (write_private_file(tmp, state + "\n"))
        ::rename(tmp.c_str(), path.c_str());
}

struct Child {
    pid_t pid = -1;
    Fd out, err;
};

Result<Child> spawn_dsync(const std::vector<std::string> &argv, const Fd &lock) {
    auto out = make_pipe();
    if (!out)
        return out.error();
    auto err = make_pipe();
    if (!err)
        return err.error();
    Fd &out_read = out.value().read, &out_write = out.value().write;
    Fd &err_read = err.value().read, &err_write = err.value().write;
    SpawnSpec spec;
    spec.argv = argv;
    spec.env = doveadm_env();
    spec.stdout_fd = out_write.get();
    spec.stderr_fd = err_write.get();
    spec.fd3 = lock.get();
    auto pid = spawn_child(spec);
    if (!pid)
        return pid.error();
    return Child{pid.value(), std::move(out_read), std::move(err_read)};
}

// Reads doveadm's output until it closes both pipes, or stops when asked to. stdout carries
// the new state string, stderr log lines.
void follow(Child &child, DsyncLog &log, std::string &state_out, const std::atomic<bool> &cancel,
            const std::function<bool()> &beat, SyncReport &report) {
    std::string err_buffer;
    auto next_beat = Clock::now() + beat_interval;
    char chunk[4096];
    while (child.out.get() >= 0 || child.err.get() >= 0) {
        pollfd fds[2] = {{child.out.get(), POLLIN, 0}, {child.err.get(), POLLIN, 0}};
        if (::poll(fds, 2, 500) > 0) {
            for (int i = 0; i < 2; ++i) {
                if (fds[i].revents == 0)
                    continue;
                Fd &fd = i == 0 ? child.out : child.err;
                ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
                if (n <= 0) {
                    if (n == 0 || errno != EINTR)
                        fd.reset();
                    continue;
                }
                (i == 0 ? state_out : err_buffer).append(chunk, static_cast<size_t>(n));
            }
            for (size_t nl; (nl = err_buffer.find('\n')) != std::string::npos;) {
                log.feed(std::string_view(err_buffer).substr(0, nl));
                err_buffer.erase(0, nl + 1);
            }
        }
        if (cancel.load()) {
            report.cancelled = true;
            return;
        }
        if (Clock::now() >= next_beat) {
            if (!beat()) {
                report.lease_lost = true;
                return;
            }
            next_beat = Clock::now() + beat_interval;
        }
    }
    if (!err_buffer.empty())
        log.feed(err_buffer);
}

struct Prepared {
    std::string run_config;
    std::vector<std::string> excluded;
};

Result<Prepared> prepare(const SyncRequest &rq, RunDir &run_dir) {
    auto line = read_dovecot_line(rq.config.sync.dovecot_config);
    if (!line)
        return line.error();
    auto text = render_dsync_config(rq.config, rq.provider, rq.task.old_login, rq.old_password,
                                    line.value());
    if (!text)
        return text.error();
    if (auto r = make_run_dir(rq.config.sync.runtime_dir,
                              "migration" + std::to_string(rq.task.id) + "-dsync", run_dir);
        !r)
        return r.error();
    Prepared p{run_dir.path + "/doveadm.conf", {}};
    if (auto r = write_private_file(p.run_config, text.value().reveal()); !r)
        return r.error();
    if (!rq.config.sync.folder_exclude.empty() || !rq.config.sync.folder_include.empty()) {
        auto folders = old_folders(rq.config, p.run_config, line.value(), rq.task.local_user);
        if (!folders)
            return folders.error();
        p.excluded = excluded_folders(rq.config.sync, folders.value());
    }
    return p;
}

void decide(const SyncRequest &rq, const DsyncLog &log, int status, SyncReport &report) {
    // 2: synced, but some changes could not be made (the next run usually does them).
    const bool ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2);
    if (ok) {
        report.outcome = RunOutcome::synced;
        return;
    }
    report.outcome =
        log.old_login_rejected() ? RunOutcome::credentials_rejected : RunOutcome::failed;
    std::string error = scrub(log.describe_failure(status), rq.old_password.reveal());
    report.error = error.size() > 2000 ? error.substr(0, 2000) + "..." : error;
}

} // namespace

SyncReport run_dsync(const SyncRequest &rq, const std::atomic<bool> &cancel,
                     const ProgressCallback &on_progress) {
    const auto started = Clock::now();
    SyncReport report;
    auto finish = [&]() -> SyncReport {
        report.duration =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        report.error = scrub(report.error, rq.old_password.reveal());
        return report;
    };
    const std::string state_dir = migration_state_dir(rq.config, rq.task.id);
    if (auto r = make_private_dir(state_dir); !r) {
        report.error = r.error().message;
        return finish();
    }
    auto lock = lock_state(state_dir);
    if (!lock || !lock.value()) {
        report.busy = lock.ok();
        report.error =
            lock ? "an earlier dsync run of this migration is still running" : lock.error().message;
        return finish();
    }
    auto before = new_side_counts(rq.config, rq.task.local_user);
    if (!before) {
        report.error = before.error().message;
        return finish();
    }
    RunDir run_dir;
    auto prepared = prepare(rq, run_dir);
    if (!prepared) {
        report.error = prepared.error().message;
        return finish();
    }
    const std::string state_file = state_dir + "/dsync-state";
    auto child =
        spawn_dsync(dsync_arguments(rq.config, prepared.value().run_config, rq.task.local_user,
                                    read_state(state_file), prepared.value().excluded),
                    *lock.value());
    if (!child) {
        report.error = child.error().message;
        return finish();
    }
    report.progress = progress_between(before.value(), before.value());
    auto beat = [&] {
        if (auto now = new_side_counts(rq.config, rq.task.local_user))
            report.progress = progress_between(before.value(), now.value());
        return !on_progress || on_progress(report.progress);
    };
    DsyncLog log;
    std::string state;
    follow(child.value(), log, state, cancel, beat, report);
    int status = 0;
    if (report.cancelled || report.lease_lost) {
        stop_child_group(child.value().pid);
        return finish();
    }
    while (::waitpid(child.value().pid, &status, 0) < 0 && errno == EINTR) {
    }
    decide(rq, log, status, report);
    if (report.outcome == RunOutcome::synced) {
        while (!state.empty() && (state.back() == '\n' || state.back() == '\r'))
            state.pop_back();
        if (!state.empty() && plausible_state(state))
            write_state(state_file, state);
        if (auto after = new_side_counts(rq.config, rq.task.local_user))
            report.progress = progress_between(before.value(), after.value());
    }
    return finish();
}

} // namespace imapmig
