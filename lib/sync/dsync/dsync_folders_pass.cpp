#include "sync/dsync/dsync_folders_pass.hpp"

#include "base/supervisor.hpp"
#include "sync/dsync/dsync_config.hpp"
#include "sync/dsync/dsync_output.hpp"

namespace imapmig {

FoldersPassResult run_dsync_folders_pass(const std::vector<std::string> &argv,
                                         const ProviderConfig &provider,
                                         const SecretString &old_password, int lock_fd,
                                         const std::atomic<bool> &cancel,
                                         std::function<bool()> on_tick) {
    FoldersPassResult result;
    DsyncLog log;
    ProgramSpec spec;
    spec.argv = argv;
    spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8"};
    spec.fds.push_back({lock_fd, 3});
    add_dsync_passwords(spec, provider, old_password);
    spec.on_stderr = [&](std::string_view line) { log.feed(line); };
    spec.cancel = &cancel;
    spec.on_tick = std::move(on_tick);
    // Listing and creating folders only: minutes would mean the old server hangs.
    spec.timeout = std::chrono::seconds(600);
    auto run = run_program(spec);
    if (!run) {
        result.outcome = SyncOutcome::failed;
        result.error = scrub(run.error().message, old_password.reveal());
        return result;
    }
    switch (run.value().end) {
    case ProgramEnd::cancelled:
        result.outcome = SyncOutcome::cancelled;
        return result;
    case ProgramEnd::stopped:
        result.outcome = SyncOutcome::lease_lost;
        return result;
    case ProgramEnd::timed_out:
        result.outcome = SyncOutcome::failed;
        result.error = "creating the folders before the first sync failed: " + run.value().error;
        return result;
    case ProgramEnd::exited:
        break;
    }
    // 2: done, but some changes could not be made (as for the sync itself).
    if (run.value().exit_code() == 0 || run.value().exit_code() == 2)
        return result;
    result.outcome =
        log.old_login_rejected() ? SyncOutcome::credentials_rejected : SyncOutcome::failed;
    result.error = scrub("creating the folders before the first sync failed: " +
                             log.describe_failure(run.value().status),
                         old_password.reveal());
    return result;
}

} // namespace imapmig
