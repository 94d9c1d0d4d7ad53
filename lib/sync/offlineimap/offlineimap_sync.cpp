#include "sync/offlineimap/offlineimap_sync.hpp"

#include "base/supervisor.hpp"
#include "sync/folder_copy.hpp"
#include "sync/folder_plan.hpp"
#include "sync/offlineimap/offlineimap_config.hpp"
#include "sync/offlineimap/offlineimap_ui.hpp"
#include "sync/state_identity.hpp"
#include "sync/verification.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <vector>

namespace imapmig {

namespace {

// Tracebacks and other lines that are not machine-UI messages, for the error text.
bool free_text(std::string_view line) {
    return line.find(':') == std::string_view::npos || line.starts_with(" ") ||
           line.starts_with("Traceback");
}

std::string describe_failure(const MachineUiParser &parser, const ProgramResult &run,
                             const std::vector<std::string> &other_lines) {
    std::string error;
    for (const auto &e : parser.errors())
        error += (error.empty() ? "" : "; ") + e;
    if (error.empty()) {
        const int status = run.status;
        error = run.end == ProgramEnd::timed_out ? run.error
                : WIFEXITED(status)
                    ? "offlineimap exited with status " + std::to_string(WEXITSTATUS(status))
                    : "offlineimap was killed by signal " + std::to_string(WTERMSIG(status));
        if (!parser.terminated())
            error += " before finishing";
        for (const auto &l : other_lines)
            error += " | " + l;
    }
    return error.size() > 2000 ? error.substr(0, 2000) + "..." : error;
}

Result<std::string> prepare_files(const SyncRequest &rq, const OfflineImapAccount &account,
                                  RunDir &run_dir, const std::string &state_dir,
                                  FolderPlan &plan_out) {
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
    plan_out = plan.value();
    // Folders merged into one (folder_map) are left to the folder copy pass after the run.
    FolderPlan engine_plan = plan.value();
    for (const auto &name : merged_folders(engine_plan)) {
        engine_plan.renames.erase(name);
        engine_plan.excluded.push_back(name);
    }
    // The worker's runs always hand the passwords over through the pipe: the pythonfile's
    // fallback (asking the migrator, for cron-style runs) is never taken here.
    if (auto r = write_private_file(pythonfile,
                                    offlineimap_helper_python(rq.config.sync, "", "", engine_plan));
        !r)
        return r.error();
    if (auto r = write_private_file(
            rc, render_offlineimap_rc(rq.config, {account}, pythonfile, state_dir + "/metadata"));
        !r)
        return r.error();
    return rc;
}

SyncOutcome outcome_of(const MachineUiParser &parser, const ProgramResult &run) {
    switch (run.end) {
    case ProgramEnd::cancelled:
        return SyncOutcome::cancelled;
    case ProgramEnd::stopped:
        return SyncOutcome::lease_lost;
    case ProgramEnd::timed_out:
    case ProgramEnd::exited:
        break;
    }
    if (parser.succeeded() && run.exited_ok())
        return SyncOutcome::synced;
    if (parser.old_login_rejected())
        return SyncOutcome::credentials_rejected;
    return parser.account_locked() ? SyncOutcome::busy : SyncOutcome::failed;
}

} // namespace

SyncReport run_offlineimap(const SyncRequest &rq, const std::atomic<bool> &cancel,
                           const ProgressCallback &on_progress) {
    SyncReport report;
    OfflineImapAccount account{rq.task.id, &rq.provider, rq.task.old_login, rq.task.local_user};
    const auto pw = rq.old_password.reveal();
    account.old_password_ascii =
        std::none_of(pw.begin(), pw.end(), [](char c) { return (c & 0x80) != 0; });
    const std::string state_dir = migration_state_dir(rq.config, rq.task.id);
    RunDir run_dir;
    FolderPlan plan;
    auto rc = prepare_files(rq, account, run_dir, state_dir, plan);
    if (!rc) {
        report.error = rc.error().message;
        return report;
    }
    MachineUiParser parser(account.old_repository());
    ProgramSpec spec;
    spec.argv = {rq.config.sync.offlineimap, "-c", rc.value(), "-u", "machineui"};
    spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + state_dir, "LANG=C.UTF-8",
                "PYTHONDONTWRITEBYTECODE=1", "IMAPMIG_SECRETS_FD=3"};
    // The pythonfile reads both passwords from fd 3 once; nothing is written to a file.
    spec.inputs.push_back(
        {3, offlineimap_secret_document({{account.old_repository(), rq.old_password},
                                         {account.new_repository(), rq.master_password}})});
    spec.stderr_to_stdout = true;         // the machine UI writes everything to one stream
    std::vector<std::string> other_lines; // tracebacks and the like, for the error text
    spec.on_stdout = [&](std::string_view line) {
        if (free_text(line)) {
            if (other_lines.size() >= 8)
                other_lines.erase(other_lines.begin());
            other_lines.emplace_back(line.substr(0, 500));
        }
        parser.feed(line);
    };
    spec.cancel = &cancel;
    spec.on_tick = [&] { return !on_progress || on_progress(parser.progress()); };
    // SIGTERM makes offlineimap finish the message in hand and record it; SIGKILL between an
    // APPEND and its status write would mean a duplicate in the next run.
    spec.secrets = {rq.old_password.reveal(), rq.master_password.reveal()};
    auto run = run_program(spec);
    if (!run) {
        report.error = scrub(run.error().message, spec.secrets);
        return report;
    }
    report.duration = run.value().duration;
    report.progress = parser.progress();
    report.outcome = outcome_of(parser, run.value());
    if (report.outcome == SyncOutcome::synced) {
        report.progress.messages_present = report.progress.messages_total;
        report.complete = true; // offlineimap has no "changed meanwhile" result
    } else if (report.outcome != SyncOutcome::cancelled &&
               report.outcome != SyncOutcome::lease_lost)
        report.error = scrub(describe_failure(parser, run.value(), other_lines), spec.secrets);
    attach_folder_copy(rq, plan, merged_folders(plan), "the folders folder_map merges into another",
                       cancel, report);
    // offlineimap copies no keywords: the verification sets them first (keyword_pass.hpp).
    attach_verification(rq, plan, report, true);
    return report;
}

} // namespace imapmig
