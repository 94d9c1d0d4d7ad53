// The parsed, validated configuration: imap-migration.yaml plus imap-migration.d/*.yaml.
// Immutable once loaded; passed by const reference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

enum class TlsMode { tls, starttls, none };
enum class SyncDirection { old_to_new, both };
// How the worker copies mail: offlineimap over IMAP to the new server (as the master user), or
// Dovecot's own dsync (`doveadm sync` with imapc), which writes the mail store directly.
enum class SyncEngine { offlineimap, dsync };
// When a migrated user's logins move to this server: `proxy` keeps them at the old provider
// (Dovecot proxies the session) until the first complete sync, so the new mailbox is not touched
// before it holds the old UIDs; `immediate` serves them here from the first login on.
enum class Cutover { immediate, proxy };

struct DomainMapping {
    std::string name;         // the domain at the old provider, lower-case
    std::string local_domain; // the domain here: equals name unless renamed, lower-case
};

// Per-provider overrides of the sync section.
// One entry of a provider's sync.folder_map: where an old folder goes instead of where its name
// and special use would send it.
struct FolderMapEntry {
    // The old folder's name in UTF-8, with the old server's personal prefix and separator
    // ("INBOX.Gesendete Objekte") or as it would arrive here ("Gesendete Objekte"); its
    // subfolders follow it. Empty when pattern is given.
    std::string old_name;
    // Or a FolderPattern over the name as the folder would arrive: every folder it matches goes
    // into new_name (one folder; subfolders do not follow).
    std::string pattern;
    std::string new_name; // UTF-8, the new server's separator
};

struct ProviderSyncConfig {
    std::optional<SyncEngine> engine;       // unset: sync.engine
    std::vector<FolderMapEntry> folder_map; // first matching entry wins
};

struct ProviderConfig {
    std::string name;
    std::string host;
    int port = 993; // default follows security: 993 for tls, 143 otherwise
    TlsMode security = TlsMode::tls;
    bool allow_plaintext = false;
    bool verify_certificate = true;
    std::string ca_file; // empty: the system store
    int timeout_seconds = 10;
    int max_connections = 8;
    Cutover cutover = Cutover::immediate;
    int pop3_port = 995; // where POP3 sessions are proxied; default follows security: 995 / 110
    // The provider serves POP3 at pop3_port (same security) and the dsync engine takes each
    // INBOX message's UIDL from it (Dovecot's pop3_migration plugin), so POP3 clients that leave
    // mail on the server download nothing again after the switch. Off by default: a provider
    // without POP3 would fail every sync.
    bool keep_pop3_uidls = false;
    std::vector<DomainMapping> domains;
    ProviderSyncConfig sync;
    std::string source_file; // where it was declared, for diagnostics
    int security_line = 0;   // lines of its security, host and keep_pop3_uidls keys there
    int host_line = 0;       // (0: not given)
    int keep_pop3_uidls_line = 0;
};

struct AccountsConfig {
    // SHA512-CRYPT: a login's verify costs ~1 ms of CPU, ARGON2ID's ~170 ms in Dovecot's auth
    // process (README, "Login cost after the migration").
    std::string password_scheme = "SHA512-CRYPT";
    bool auto_create_domains = true;
    int64_t default_mailbox_quota_mb = 0;
};

struct LocalImapConfig {
    std::string host = "127.0.0.1";
    int port = 143;
    std::string master_user;
    std::string master_password_file;
};

struct SyncConfig {
    SyncEngine engine = SyncEngine::offlineimap; // providers[].sync.engine overrides it
    std::string offlineimap = "/usr/bin/offlineimap";
    // The new server's Dovecot config, included by the dsync engine's per-run doveadm config.
    std::string dovecot_config = "/etc/dovecot/dovecot.conf";
    int max_parallel_accounts = 4;
    int interval_minutes = 60;
    SyncDirection direction = SyncDirection::old_to_new;
    bool create_folders = true;
    std::string folder_exclude; // a FolderPattern (regex subset); empty: none
    // Old folders of these special uses (\Junk, \Trash, ...) are left out too: the entries of a
    // folder_exclude list that name a use rather than a pattern.
    std::vector<std::string> folder_exclude_special_use;
    std::vector<std::string> folder_include; // empty: everything not excluded
    // offlineimap's metadata (its sync state) per task: losing it duplicates every message.
    std::string state_dir = "/var/lib/imap-migrator";
    // private per-run files (the generated config); removed after each run.
    std::string runtime_dir = "/run/imap-migrator";
};

// Every check against a provider is a login attempt on someone else's server from our IP.
struct LoginProtectionConfig {
    int max_failures_per_ip = 10;  // rejected checks per remote IP per window; 0 = no limit
    int max_failures_per_user = 5; // rejected checks per login name per window; 0 = no limit
    int failure_window_seconds = 900;
    int slot_wait_seconds = 5; // wait for a free provider connection before a temporary failure
    // IPv6 clients are limited per network of this prefix length: one host holds a whole /64.
    int ipv6_prefix_length = 64;
};

struct Config {
    std::string path; // the main file
    std::string database;
    std::string secret_key_file = "/etc/dovecot/imap-migration.key";
    std::vector<std::string> previous_secret_key_files; // still accepted for decryption
    // Where doveadm (and dovecot) live, for a Dovecot installed outside /usr.
    std::string dovecot_bin_dir = "/usr/bin";
    AccountsConfig accounts;
    std::optional<LocalImapConfig> local_imap;
    SyncConfig sync;
    LoginProtectionConfig login_protection;
    std::vector<ProviderConfig> providers;

    struct Route {
        const ProviderConfig *provider = nullptr;
        const DomainMapping *domain = nullptr;
    };
    // The provider hosting an old domain (lower-case); provider == nullptr when undeclared.
    Route route_for_old_domain(std::string_view domain) const;
    // The provider with this name, nullptr if none.
    const ProviderConfig *provider(std::string_view name) const;
    // The engine that syncs this provider's migrations.
    SyncEngine engine_for(const ProviderConfig &provider) const {
        return provider.sync.engine.value_or(sync.engine);
    }
};

struct ConfigDiagnostic {
    std::string file;
    int line = 0;    // 1-based; 0 when the problem is not tied to a line
    std::string key; // dotted path, e.g. providers[0].security
    std::string message;

    // "file:line: key: message", the form check-config and the plugin both print. ":line" is left
    // out when line is 0, "key: " when key is empty (e.g. a YAML syntax error).
    std::string to_string() const;
};

struct ConfigLoadResult {
    std::optional<Config> config; // set only when errors is empty
    std::vector<ConfigDiagnostic> errors;
};

// Reads the main file and every *.yaml in imap-migration.d/ beside it (sorted by name; a missing
// directory is fine; a file there may only hold `providers`). Checks every key, the key files
// (load_key_file), the password scheme, and that provider names and old domains are unique across
// all files. Collects every problem, one diagnostic each. Never throws.
ConfigLoadResult load_config(const std::string &path);

std::string_view to_string(Cutover cutover);         // "immediate", "proxy"
std::string_view to_string(TlsMode mode);            // "tls", "starttls", "none"
std::string_view to_string(SyncDirection direction); // "old-to-new", "both"
std::string_view to_string(SyncEngine engine);       // "offlineimap", "dsync"

} // namespace imapmig
