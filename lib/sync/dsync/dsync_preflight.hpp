// Can this process run the dsync engine? doveadm writes the new mailboxes directly: it looks
// the user up through the new server's auth-userdb socket and switches to the user's mail uid,
// which only root can do (or a process that already runs as that uid). Checked by
// `check-config` and when the worker starts or reloads, so a worker that cannot work says so
// once, clearly, instead of failing every task.
#pragma once

#include "base/error.hpp"
#include "config/config.hpp"

#include <string>
#include <vector>

namespace imapmig {

// The providers whose migrations the dsync engine syncs (empty: nothing to check).
std::vector<std::string> dsync_providers(const Config &config);

// Ok when no provider uses dsync, or doveadm, sync.dovecot_config and the process's uid fit;
// otherwise a config error that says what to change.
Result<void> check_dsync_usable(const Config &config);

} // namespace imapmig
