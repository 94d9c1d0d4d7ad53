#include "sync/dsync/dsync_sync.hpp"

#include "base/supervisor.hpp"
#include "sync/dsync/dsync_config.hpp"
#include "sync/dsync/dsync_folders_pass.hpp"
#include "sync/dsync/dsync_output.hpp"
#include "sync/dsync/dsync_uidvalidity.hpp"
#include "sync/dsync/namespace_probe.hpp"
#include "sync/folder_copy.hpp"
#include "sync/state_identity.hpp"
#include "sync/verification.hpp"

#include <fcntl.h>
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

constexpr std::chrono::seconds status_timeout{120};

std::vector<std::string> doveadm_env() {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
}

std::string first_line(const std::string &text) {
    return text.substr(0, std::min(text.find('\n'), size_t{300}));
}

// Folders and messages of the new mailbox, read with the server's own config.
Result<std::vector<FolderCount>> new_side_counts(const Config &config, const std::string &user) {
    ProgramSpec spec;
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
    auto run = run_captured(spec, status_timeout);
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
Result<std::vector<std::string>> old_folders(const SyncRequest &rq, const DovecotLine &line,
                                             const std::string &run_config) {
    ProgramSpec spec;
    spec.argv = {rq.config.dovecot_bin_dir + "/doveadm", "-c", run_config};
    for (const auto &o : line.imapc_mail_overrides())
        spec.argv.push_back(o);
    for (const char *a : {"mailbox", "list", "-u"})
        spec.argv.push_back(a);
    spec.argv.push_back(rq.task.local_user);
    spec.env = doveadm_env();
    add_dsync_passwords(spec, rq.provider, rq.old_password);
    auto run = run_captured(spec, status_timeout);
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

// "INBOX.Sent Items -> Sent, Gesendet -> Sent", for error messages.
std::string describe_renames(const FolderPlan &plan) {
    std::string out;
    for (const auto &[from, to] : plan.renames)
        out += (out.empty() ? "" : ", ") + from + " -> " + to;
    return out;
}

struct Prepared {
    std::string run_config;
    std::vector<std::string> excluded;
    // dsync strips the old prefix (imapc_list_prefix); the folders the plan renames are left
    // out of its run and copied by copy_renamed_folders.
    FolderPlan plan;
    DovecotLine line;
};

Result<Prepared> prepare(const SyncRequest &rq, RunDir &run_dir) {
    auto line = read_dovecot_line(rq.config.sync.dovecot_config);
    if (!line)
        return line.error();
    if (auto r = make_run_dir(rq.config.sync.runtime_dir,
                              "migration" + std::to_string(rq.task.id) + "-dsync", run_dir);
        !r)
        return r.error();
    auto namespaces = dsync_namespace_settings(rq, run_dir.path);
    if (!namespaces)
        return namespaces.error();
    auto text = render_dsync_config(rq.config, rq.provider, rq.task.old_login, rq.old_password,
                                    namespaces.value(), line.value());
    if (!text)
        return text.error();
    Prepared p{run_dir.path + "/doveadm.conf", {}, {}, line.value()};
    auto plan = plan_folders(rq, true);
    if (!plan)
        return plan.error();
    p.plan = std::move(plan).value();
    p.plan.old_namespace = namespaces.value().old_namespace; // what imapc_list_prefix strips
    if (auto r = write_private_file(p.run_config, text.value().reveal()); !r)
        return r.error();
    if (!rq.config.sync.folder_exclude.empty() || !rq.config.sync.folder_include.empty()) {
        auto folders = old_folders(rq, line.value(), p.run_config);
        if (!folders)
            return folders.error();
        p.excluded = excluded_folders(rq.config.sync, folders.value());
    }
    for (auto &name : renamed_folder_exclusions(p.plan))
        p.excluded.push_back(std::move(name));
    for (auto &name : special_use_exclusions(p.plan))
        p.excluded.push_back(std::move(name));
    return p;
}

SyncOutcome decide(const DsyncLog &log, const ProgramResult &run) {
    switch (run.end) {
    case ProgramEnd::cancelled:
        return SyncOutcome::cancelled;
    case ProgramEnd::stopped:
        return SyncOutcome::lease_lost;
    case ProgramEnd::timed_out:
    case ProgramEnd::exited:
        break;
    }
    // 2: synced, but some changes could not be made (the next run usually does them).
    if (run.exit_code() == 0 || run.exit_code() == 2)
        return SyncOutcome::synced;
    return log.old_login_rejected() ? SyncOutcome::credentials_rejected : SyncOutcome::failed;
}

} // namespace

SyncReport run_dsync(const SyncRequest &rq, const std::atomic<bool> &cancel,
                     const ProgressCallback &on_progress) {
    const auto started = std::chrono::steady_clock::now();
    SyncReport report;
    auto finish = [&]() -> SyncReport {
        report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        report.error = scrub(report.error, rq.old_password.reveal());
        return report;
    };
    const std::string state_dir = migration_state_dir(rq.config, rq.task.id);
    if (auto r = bind_sync_state(state_dir, rq.task.sync_identity, rq.task.legacy_state_ok); !r) {
        report.error = r.error().message;
        return finish();
    }
    auto lock = lock_state(state_dir);
    if (!lock || !lock.value()) {
        if (lock.ok())
            report.outcome = SyncOutcome::busy;
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
    const std::string old_state = read_state(state_file);
    report.progress = progress_between(before.value(), before.value());
    // Only when the new side already holds mail: the pass costs the old UIDs (dsync numbers
    // after the old UIDNEXT once it has skipped mail), which clients keep their caches by.
    if (old_state.empty() && total_messages(before.value()) > 0) {
        auto pass = run_dsync_folders_pass(
            dsync_arguments(rq.config, prepared.value().run_config, rq.task.local_user, "",
                            prepared.value().excluded, true),
            rq.provider, rq.old_password, lock.value()->get(), cancel,
            [&] { return !on_progress || on_progress(report.progress); });
        if (pass.outcome != SyncOutcome::synced) {
            report.outcome = pass.outcome;
            report.error = pass.error;
            return finish();
        }
        if (!prepared.value().line.folders_pass_adopts_uidvalidity())
            if (auto r =
                    adopt_old_uidvalidities(rq, prepared.value().line, prepared.value().run_config);
                !r) {
                report.error = scrub(r.error().message, rq.old_password.reveal());
                return finish();
            }
    }
    DsyncLog log;
    std::string state; // stdout: the new state string
    ProgramSpec spec;
    spec.argv = dsync_arguments(rq.config, prepared.value().run_config, rq.task.local_user,
                                old_state, prepared.value().excluded);
    spec.env = doveadm_env();
    // The lock as fd 3: an orphaned doveadm would keep it until it has exited.
    spec.fds.push_back({lock.value()->get(), 3});
    add_dsync_passwords(spec, rq.provider, rq.old_password);
    spec.on_stdout = [&](std::string_view line) { state += line; };
    spec.on_stderr = [&](std::string_view line) { log.feed(line); };
    spec.cancel = &cancel;
    spec.on_tick = [&] {
        if (auto now = new_side_counts(rq.config, rq.task.local_user))
            report.progress = progress_between(before.value(), now.value());
        return !on_progress || on_progress(report.progress);
    };
    auto run = run_program(spec);
    if (!run) {
        report.error = run.error().message;
        return finish();
    }
    report.outcome = decide(log, run.value());
    report.complete = report.outcome == SyncOutcome::synced && run.value().exit_code() == 0;
    if (report.outcome == SyncOutcome::failed ||
        report.outcome == SyncOutcome::credentials_rejected) {
        std::string error = run.value().end == ProgramEnd::timed_out
                                ? run.value().error
                                : log.describe_failure(run.value().status);
        report.error = error.size() > 2000 ? error.substr(0, 2000) + "..." : error;
    }
    if (report.outcome == SyncOutcome::synced) {
        while (!state.empty() && (state.back() == '\n' || state.back() == '\r'))
            state.pop_back();
        if (!state.empty() && plausible_state(state))
            write_state(state_file, state);
        if (auto after = new_side_counts(rq.config, rq.task.local_user))
            report.progress = progress_between(before.value(), after.value());
    }
    std::vector<std::string> renamed;
    for (const auto &rename : prepared.value().plan.renames)
        renamed.push_back(rename.first);
    attach_folder_copy(rq, prepared.value().plan, renamed,
                       "the folders that change their name (" +
                           describe_renames(prepared.value().plan) + ")",
                       cancel, report);
    attach_verification(rq, prepared.value().plan, report);
    return finish();
}

} // namespace imapmig
