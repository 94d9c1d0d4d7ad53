// The dsync engine's inputs to doveadm: the private per-run config (the new server's
// dovecot.conf plus the imapc settings for one old account, the password read from a pipe:
// written 0600, removed after the run) and the command line, which never holds a secret.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "base/supervisor.hpp"
#include "config/config.hpp"
#include "sync/dsync/dovecot_line.hpp"
#include "sync/folder_plan.hpp"
#include "sync/old_namespace.hpp"

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

// What the run config adds to the new server's namespaces. dsync refuses to sync between two
// locations whose hierarchy separators differ; a namespace without an explicit separator uses
// its storage's ('.' for Maildir++, '/' otherwise) on the new side but the old server's on the
// imapc side. Naming the new server's own effective separator changes nothing for the user's
// mailbox and lets imapc translate the old server's.
// old_list_prefix is the old server's personal namespace prefix without its separator
// ("INBOX" for "INBOX."): imapc_list_prefix lists only below it and strips it, so INBOX.Sent
// arrives as Sent and INBOX.Archive.2023 as Archive.2023.
struct NamespaceSettings {
    char separator = 0;             // the new server's effective separator; 0: add nothing
    std::vector<std::string> names; // its namespaces that set none
    std::string old_list_prefix;
    OldNamespace old_namespace; // the same, with its separator: where folders land (verification)
};

// The fd from which doveadm reads the old password (a pipe holding it and then EOF): the run
// config says `imapc_password = </dev/fd/4`, so no file ever holds the password.
inline constexpr int dsync_password_fd = 4;
// The same password once more for `pop3c_password = </dev/fd/5` (keep_pop3_uidls): doveconf
// reads each `<FILE` value on its own, and a pipe can be read only once.
inline constexpr int dsync_pop3_password_fd = 5;

// The password pipes (above) for a doveadm that reads the run config of this provider, and the
// password as a secret to scrub from its output. Every doveadm given the run config needs
// them: doveconf refuses the whole config when a `<FILE` cannot be read.
void add_dsync_passwords(ProgramSpec &spec, const ProviderConfig &provider,
                         const SecretString &old_password);

// `!include` of sync.dovecot_config, then imapc_host/port/ssl/ssl_verify/user/password,
// ssl_client_ca_file, imapc_list_prefix and `namespace NAME { separator = X }` from namespaces. No
// `imapc_features = guid-forced`: it derives a message's GUID from its headers alone, so two
// messages with identical headers become one and dsync stores the first body twice. Without it
// dsync matches messages by UID and header hash; dsync_arguments' folders-only pass keeps its
// state usable from the first run on (see there).
// With keep_pop3_uidls, Dovecot's pop3_migration plugin and a hidden pop3c namespace against
// the provider's POP3 server (pop3_port, the same security and login): dsync then stores each
// INBOX message with the UIDL that server shows for it. A message it cannot match fails the
// run (Dovecot's default, kept): a POP3 message that IMAP does not show would otherwise be
// missing for POP3 users while the run counted as complete.
// Spelled for the server's Dovecot line (read_dovecot_line of sync.dovecot_config): on 2.4 the
// config starts with dovecot_config_version and certificate checking is
// ssl_client_require_valid_cert instead of imapc_ssl_verify.
Result<SecretString> render_dsync_config(const Config &config, const ProviderConfig &provider,
                                         std::string_view old_login,
                                         const SecretString &old_password,
                                         const NamespaceSettings &namespaces = {},
                                         const DovecotLine &line = {});

// doveadm -c RUN_CONFIG sync -1 -R -s STATE -u LOCAL_USER [-x FOLDER]... imapc:
// One-way (-1), pulling from the old side (-R): new-only mail, moves and deletions made on the
// new server are kept, the old side is never written to.
// folders_only adds `-t 2147483647` (only mail received after 2038): the folders are created,
// no message is copied. Run before a sync without state into a new mailbox that already holds
// mail: dsync keeps no state for a folder it created in the same run, so the second run
// compares every folder without state, and without GUIDs it copies again a message that sits
// at another UID on the new side (where mail that was there first pushed it).
std::vector<std::string> dsync_arguments(const Config &config, const std::string &run_config,
                                         const std::string &local_user, const std::string &state,
                                         const std::vector<std::string> &excluded_folders,
                                         bool folders_only = false);

// The old folders the plan renames, as dsync names them (UTF-8, the old prefix stripped, the
// new server's separator): left out of dsync's run (-x), which cannot rename a folder, and
// copied by the folder copy pass (sync/folder_copy.hpp).
std::vector<std::string> renamed_folder_exclusions(const FolderPlan &plan);

// The old folders left out for their special use (plan.excluded), as dsync names them.
std::vector<std::string> special_use_exclusions(const FolderPlan &plan);

// The folders sync.folder_exclude / folder_include leave out, from the old side's folder list
// (names as the new server spells them). INBOX is matched as "INBOX".
std::vector<std::string> excluded_folders(const SyncConfig &sync,
                                          const std::vector<std::string> &old_folders);

} // namespace imapmig
