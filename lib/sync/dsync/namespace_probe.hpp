// The new server's namespaces as the dsync engine needs them: which ones set no hierarchy
// separator (doveconf), and the separator the server then uses (its own IMAP LIST answer, from
// `doveadm exec imap -u USER`, which needs what doveadm sync needs: root or the mail uid).
#pragma once

#include "base/error.hpp"
#include "config/config.hpp"
#include "sync/dsync/dsync_config.hpp"
#include "sync/sync_run.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// Names of the namespaces in `doveconf namespace` output that set no separator (2.3 prints it
// empty, 2.4 not at all).
std::vector<std::string> namespaces_without_separator(std::string_view doveconf_output);

// The hierarchy separator of the first `* LIST (...) "X" ...` line of an IMAP transcript;
// nullopt when there is none or it is NIL.
std::optional<char> list_separator(std::string_view transcript);

// Empty (nothing to add) when every namespace names its separator; otherwise the names and the
// separator the server uses for user. scratch_dir holds the IMAP commands for the probe.
Result<NamespaceSettings> probe_new_server_separators(const Config &config, const std::string &user,
                                                      const std::string &scratch_dir);

// Both sides' namespaces for one run: the new server's separators (above) and the old server's
// personal prefix (NAMESPACE). A refused old login is left to dsync, which reports it as such.
Result<NamespaceSettings> dsync_namespace_settings(const SyncRequest &rq,
                                                   const std::string &scratch_dir);

} // namespace imapmig
