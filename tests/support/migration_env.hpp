// The whole login-path setup for integration tests: a private PostgreSQL with our schema, an
// old provider (Dovecot, TLS with a test CA), our YAML config + key, and the new Dovecot loading
// the module from the build tree with the shipped conf.d snippet.
#pragma once

#include "dovecot_instance.hpp"
#include "imap_client.hpp"
#include "pg_cluster.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace testsupport {

// Users at the old provider. Passwords are distinctive so logs can be searched for them.
inline const std::string alice = "alice@old.example"; // old.example is renamed to new.example
inline const std::string alice_new = "alice@new.example";
inline const std::string alice_pw = "Alice-0ld-Pa55!";
inline const std::string bob = "bob@other.example";
inline const std::string bob_pw = "B0b-0ld-Secret#";
inline const std::string carol = "carol@other.example";
inline const std::string carol_pw = "Car0l-0ld-Secret%";
inline const std::string stranger = "eve@undeclared.example"; // exists there, not declared here
inline const std::string stranger_pw = "Eve-0ld-Secret&";
inline const std::string master_user = "imap-migrator";
inline const std::string master_pw = "Ma5ter-Of-Migrati0n";

// Per folder: message count and how many carry each flag.
struct FolderStats {
    long messages = 0, seen = 0, flagged = 0, answered = 0;
    bool operator==(const FolderStats &o) const {
        return messages == o.messages && seen == o.seen && flagged == o.flagged &&
               answered == o.answered;
    }
};

// Folder name (hierarchy separator normalised to '.') -> stats; empty folders left out.
using FolderMap = std::map<std::string, FolderStats>;
std::ostream &operator<<(std::ostream &os, const FolderMap &m);
// Reads every folder of user through doveadm; separator is the server's hierarchy separator.
FolderMap folder_stats(const DovecotInstance &d, const std::string &user, char separator);

struct MigrationEnvOptions {
    std::string security = "tls";  // how we talk to the old provider: tls | starttls | none
    bool provider_ssl = true;      // false: old provider offers neither STARTTLS nor imaps
    bool trust_provider_ca = true; // false: ca_file is an unrelated CA, verification fails
    bool auto_create_domains = true;
    int max_failures_per_ip = 10;
    int max_failures_per_user = 5;
    int max_connections = 8;
    int slot_wait_seconds = 5;
    int timeout_seconds = 5;
    // Overrides the provider endpoint (e.g. a fake server): 0 = the old provider's port.
    int provider_port_override = 0;
    // The provider's host: a name (offlineimap checks certificates by name only) or 127.0.0.1
    // (the test CA's certificates carry both).
    std::string provider_host = "localhost";
    std::string extra_yaml; // appended to the main YAML file verbatim
    std::string sync_yaml;  // extra keys of the sync section, each "  key: value\n"
    // accounts.password_scheme: the product's default. ARGON2ID (64 MB, ~0.1 CPU-s a hash and
    // as much per verified login) where a test is about it: test_login_path, test_upgrade_24.
    std::string password_scheme = "SHA512-CRYPT";
    bool auth_debug = true; // auth_debug/auth_verbose on the new Dovecot
    // Added to the old provider before it starts (address -> password), beside the test users.
    std::vector<std::pair<std::string, std::string>> old_users;
    std::string old_provider_config; // appended to the old provider's dovecot.conf
    std::string new_dovecot_config;  // appended to the new Dovecot's dovecot.conf
    std::string passdb_settings;     // put before the config path in our passdb's args
};

class MigrationEnv {
public:
    explicit MigrationEnv(MigrationEnvOptions options = {});
    ~MigrationEnv();

    // Writes the YAML, runs `imap-migrator db upgrade`, starts the new Dovecot.
    void start_new_dovecot();
    // Rewrites the YAML from options (e.g. after changing provider_port_override).
    void write_config() const;
    // Adds to the new server's config (before start_new_dovecot) what its login proxies need to
    // verify the old provider's certificate from the test CA.
    void trust_old_provider_in_proxies();

    ImapClient::Reply imap_login(const std::string &user, const std::string &password);
    RunResult auth_test(const std::string &user, const std::string &password,
                        const std::string &rip = "");
    std::string sql(const std::string &query) const; // first column of first row
    long count(const std::string &table) const;
    // How many LOGIN/AUTHENTICATE attempts for user the old provider has seen (from its log).
    int provider_attempts(const std::string &user);
    // True if no password of the test users appears in any log we produce.
    bool logs_free_of_passwords() const;
    DovecotInstance &new_dovecot() { return *new_; }
    bool new_dovecot_started() const { return new_ != nullptr; }
    // What a sanitizer build of the module reported inside Dovecot ("" when clean or not used).
    std::string sanitizer_reports() const;
    std::string sanitizer_dir() const; // where sanitizer builds inside Dovecot write reports
    std::string new_log() const { return new_->log(); }
    RunResult migrator(const std::vector<std::string> &args) const;
    // Writes count messages straight into the old provider's Maildir++ (fast, flags included:
    // every 2nd \Seen, every 3rd \Flagged, every 4th \Answered). folder uses the old
    // provider's '.' separator and modified UTF-7; "" is INBOX.
    void seed_mail(const std::string &user, const std::string &folder, int count, int first = 0);

    TempDir dir;
    MigrationEnvOptions options;
    PgCluster pg;
    std::string db;
    TestCA ca;
    TestCA other_ca;
    OldProvider old;
    std::string key_file;
    std::string config_path;
    std::string master_password_file;
    std::string master_users_line; // for Dovecot's master passdb
    std::string state_dir;
    std::string runtime_dir;
    int new_imap_port = 0;

private:
    std::string yaml(bool with_extra) const;
    std::string new_dovecot_conf() const;
    std::unique_ptr<DovecotInstance> new_;
};

std::string migrator_path();
std::string source_root();

} // namespace testsupport
