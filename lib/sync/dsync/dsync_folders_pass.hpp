// The folders-only pass before a dsync run without state (see dsync_arguments): creates the
// new side's folders so that dsync records a state for each of them in the run that follows.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// Runs argv (dsync_arguments(..., folders_only = true)) to its end. A failure carries doveadm's
// error lines (secret scrubbed); *old_login_rejected tells a refused old login apart.
Result<void> run_dsync_folders_pass(const std::vector<std::string> &argv, std::string_view secret,
                                    bool *old_login_rejected);

} // namespace imapmig
