// The differences between Dovecot 2.3 and 2.4 in what the dsync engine writes and reads, in one
// place. Which line a server runs is read from its own config (sync.dovecot_config): a 2.4 config
// must start with `dovecot_config_version`, a 2.3 one has no such setting. Read at run time, so
// the library is the same for both lines and a server upgraded in place is followed.
#pragma once

#include "base/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct DovecotLine {
    // The value of dovecot_config_version; empty for 2.3.
    std::string config_version;

    bool is_24() const { return !config_version.empty(); }

    // What the per-run config must start with (2.4 refuses a config whose first setting is not
    // its version, and an `!include` first): "" on 2.3.
    std::string run_config_header() const;
    // Certificate checking of the imapc connection: imapc_ssl_verify (2.3),
    // ssl_client_require_valid_cert (2.4).
    std::string verify_certificate_setting(bool verify) const;
    // The `-o` settings that point doveadm's user at the old side (imapc) instead of their mail.
    std::vector<std::string> imapc_mail_overrides() const;
    // imapc's features for dsync: "" on 2.3; on 2.4 `imapc_features = no-modseq no-metadata`.
    // 2.4's imapc takes the old server's CONDSTORE modseqs by default (2.3 only with `modseq`),
    // and dsync records the old HIGHESTMODSEQ as the state's last common modseq, which the next
    // run looks up in the NEW side's transaction log: "Modseq N no longer in transaction log"
    // once the new mailbox has a history of its own, exit 75 and no state, then duplicates
    // without one. And 2.4's imapc reads the old server's METADATA (2.3's never did), which
    // dsync then fails to store where the new server keeps no attributes (no
    // mail_attribute_dict, as Debian ships it): Cyrus's vendor/cmu/... entries failed every run
    // with "Mailbox attributes not enabled". Mailbox metadata is not carried, as on 2.3.
    std::string imapc_features_setting() const;
    // Whether dsync's folders-only pass (-t) gives a folder the new side already has the old
    // folder's UIDVALIDITY (2.3). 2.4 keeps the new one, and its sync without a state then
    // imports no old mail into a folder that holds mail and has another UIDVALIDITY.
    bool folders_pass_adopts_uidvalidity() const { return !is_24(); }
    // A mail plugin added to those the server's config loads: `mail_plugins = $mail_plugins X`
    // (2.3), a `mail_plugins { X = yes }` boollist entry (2.4).
    std::string add_mail_plugin_setting(std::string_view plugin) const;
    // A namespace's storage without a path (in-memory indexes, nothing written beside the
    // user's mail): `location = DRIVER:` (2.3), `mail_driver` + an empty `mail_path` (2.4).
    std::string namespace_driver_settings(std::string_view driver) const;
    // A plugin's setting: inside `plugin { }` (2.3), a top-level setting (2.4).
    std::string plugin_setting(std::string_view name, std::string_view value) const;
    // doveadm's exit status when the old side rejected the login: 134 (2.3, an assertion after
    // the error lines), 77 (2.4).
    int rejected_login_status() const;
};

// The line of the config text: the first setting decides (comments and blank lines skipped).
DovecotLine dovecot_line_of_config(std::string_view config_text);
// The same for a config file; an error when it cannot be read.
Result<DovecotLine> read_dovecot_line(const std::string &config_path);

} // namespace imapmig
