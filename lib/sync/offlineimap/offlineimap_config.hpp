// OfflineIMAP configuration for migrations: the rc text (no secrets in it), the pythonfile that
// hands passwords to offlineimap, and the secret document that travels to it through a pipe.
#pragma once

#include "base/secret_string.hpp"
#include "config/config.hpp"
#include "sync/folder_plan.hpp"

#include <string>
#include <vector>

namespace imapmig {

struct OfflineImapAccount {
    long long migration_id = 0;
    const ProviderConfig *provider = nullptr;
    std::string old_login;
    std::string local_user; // the account here; logged into through the Dovecot master user
    // offlineimap's LOGIN encodes the password as ASCII and fails on anything else ('ascii'
    // codec can't encode); its AUTHENTICATE PLAIN sends UTF-8 (RFC 4616), so a password
    // beyond ASCII logs in with PLAIN.
    bool old_password_ascii = true;

    std::string name() const { return "migration" + std::to_string(migration_id); }
    std::string old_repository() const { return name() + "-old"; }
    std::string new_repository() const { return name() + "-new"; }
};

// The rc file. metadata_dir is offlineimap's sync state; pythonfile defines get_pass() and
// folder_wanted(). Requires config.local_imap.
std::string render_offlineimap_rc(const Config &config,
                                  const std::vector<OfflineImapAccount> &accounts,
                                  const std::string &pythonfile, const std::string &metadata_dir);

// The pythonfile. In worker mode (IMAPMIG_SECRETS_FD set) it reads the secret document from that
// descriptor once; otherwise (an admin running offlineimap from cron) it asks
// `imap-migrator -c CONFIG migrations secret ID old|new` through a pipe.
// Folder rules are written into it; they are not secret. The plan's old namespace prefix is
// stripped from the old folder names (INBOX.Sent arrives as Sent; INBOX stays INBOX) and its
// renames (special use: "Sent Items" -> "Sent") applied; the reverse translation undoes both.
// offlineimap translates the separators itself.
std::string offlineimap_helper_python(const SyncConfig &sync, const std::string &migrator_binary,
                                      const std::string &config_path, const FolderPlan &plan = {});

// JSON: {"passwords": {"<repository>": "..."}}
SecretString
offlineimap_secret_document(const std::vector<std::pair<std::string, SecretString>> &passwords);

} // namespace imapmig
