// The dsync engine's inputs to doveadm: the private per-run config (the new server's
// dovecot.conf plus the imapc settings for one old account, password included: written 0600,
// removed after the run) and the command line, which never holds a secret.
#pragma once

#include "config/config.hpp"
#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "sync/dsync/dovecot_line.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// Where the system's CA bundle is when a provider has no ca_file (Debian's ca-certificates).
inline constexpr std::string_view system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

// A Dovecot config value in double quotes (backslash and quote escaped), so '#', '$' and '<'
// keep their literal meaning. Control characters cannot be written: an error (never showing
// the value).
Result<std::string> dovecot_quote(std::string_view value);

// `!include` of sync.dovecot_config, then imapc_host/port/ssl/ssl_verify/user/password,
// ssl_client_ca_file and `imapc_features = guid-forced` (message GUIDs from the headers: what
// lets dsync recognise a message it copied before, so re-runs never duplicate).
// Spelled for the server's Dovecot line (read_dovecot_line of sync.dovecot_config).
Result<SecretString> render_dsync_config(const Config &config, const ProviderConfig &provider,
                                         std::string_view old_login,
                                         const SecretString &old_password,
                                         const DovecotLine &line = {});

// doveadm -c RUN_CONFIG sync -1 -R -s STATE -u LOCAL_USER [-x FOLDER]... imapc:
// One-way (-1), pulling from the old side (-R): new-only mail, moves and deletions made on the
// new server are kept, the old side is never written to.
std::vector<std::string> dsync_arguments(const Config &config, const std::string &run_config,
                                         const std::string &local_user, const std::string &state,
                                         const std::vector<std::string> &excluded_folders);

// The folders sync.folder_exclude / folder_include leave out, from the old side's folder list
// (names as the new server spells them). INBOX is matched as "INBOX".
std::vector<std::string> excluded_folders(const SyncConfig &sync,
                                          const std::vector<std::string> &old_folders);

} // namespace imapmig
