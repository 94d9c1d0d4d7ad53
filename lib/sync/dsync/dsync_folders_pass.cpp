#include "sync/dsync/dsync_folders_pass.hpp"

#include "base/child_process.hpp"
#include "sync/dsync/dsync_output.hpp"

#include <sys/wait.h>

#include <sstream>

namespace imapmig {

Result<void> run_dsync_folders_pass(const std::vector<std::string> &argv, std::string_view secret,
                                    bool *old_login_rejected) {
    SpawnSpec spec;
    spec.argv = argv;
    spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8"};
    // Listing and creating folders only: minutes would mean the old server hangs.
    auto run = run_captured(spec, 600);
    if (!run)
        return run.error();
    const int status = run.value().status;
    // 2: done, but some changes could not be made (as for the sync itself).
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2))
        return {};
    DsyncLog log;
    std::istringstream lines(run.value().err);
    for (std::string line; std::getline(lines, line);)
        log.feed(line);
    if (old_login_rejected)
        *old_login_rejected = log.old_login_rejected();
    return temporary_error(
        scrub("creating the folders before the first sync failed: " + log.describe_failure(status),
              secret));
}

} // namespace imapmig
