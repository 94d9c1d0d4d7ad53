#include "sync/offlineimap/offlineimap_sync.hpp"

#include "base/child_process.hpp"
#include "sync/folder_plan.hpp"
#include "sync/offlineimap/offlineimap_config.hpp"
#include "sync/offlineimap/offlineimap_ui.hpp"
#include "sync/state_identity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace imapmig {

namespace {

using Clock = std::chrono::steady_clock;

// offlineimap's output (stdout and stderr together) comes back through a pipe.
struct Child {
    pid_t pid = -1;
    Fd output;
};

Result<Child> spawn_offlineimap(const std::string &program, const std::string &rc,
                                const std::string &home, Fd secret_read) {
    auto out = make_pipe();
    if (!out)
        return out.error();
    Fd &out_read = out.value().read, &out_write = out.value().write;
    // A worker killed outright stops offlineimap the gentle way (the parent-death signal is
    // SIGTERM): it finishes the message in hand and records it, whereas SIGKILL between APPEND
    // and its status write means a duplicate in the next run. Until it has exited, its lock
    // keeps a takeover waiting.
    SpawnSpec spec;
    spec.argv = {program, "-c", rc, "-u", "machineui"};
    spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8",
                "PYTHONDONTWRITEBYTECODE=1", "IMAPMIG_SECRETS_FD=3"};
    spec.stdout_fd = spec.stderr_fd = out_write.get();
    spec.fd3 = secret_read.get();
    auto pid = spawn_child(spec);
    if (!pid)
        return pid.error();
    return Child{pid.value(), std::move(out_read)};
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
    if (auto r = bind_sync_state(state_dir, rq.task.sync_identity, rq.task.legacy_state_ok); !r)
        return r.error();
    if (auto r = make_run_dir(rq.config.sync.runtime_dir, "migration" + std::to_string(rq.task.id),
                              run_dir);
        !r)
        return r.error();
    const std::string pythonfile = run_dir.path + "/helpers.py";
    const std::string rc = run_dir.path + "/offlineimaprc";
    auto plan = plan_folders(rq, true);
    if (!plan)
        return plan.error();
    if (auto r = write_private_file(pythonfile,
                                    offlineimap_helper_python(rq.config.sync, rq.migrator_binary,
                                                              rq.config_path, plan.value()));
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
    const auto pw = rq.old_password.reveal();
    account.old_password_ascii =
        std::none_of(pw.begin(), pw.end(), [](char c) { return (c & 0x80) != 0; });
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
    if (!written)
        written = temporary_error("writing the secret pipe: " + written.error().message);
    secret_write.reset(); // EOF tells the helper the document is complete
    RunState st{MachineUiParser(account.old_repository()), {}};
    if (written)
        follow(child.value(), st, cancel, on_progress, report);
    int status = 0;
    if (!written || report.cancelled || report.lease_lost)
        stop_child_group(child.value().pid);
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
