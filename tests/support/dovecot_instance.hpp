// Private Dovecot 2.3 or 2.4 instances (the line this tree was built for) for integration tests:
// 127.0.0.1 only, everything below a temp dir, stopped by pid. OldProvider is a ready-made "old
// provider" IMAP server on top of it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

namespace testsupport {

// Built against Dovecot 2.4: configs use its syntax (the base settings here do; bodies that
// name settings whose names changed must ask).
bool dovecot_24();

// The compiled-in passdb module directory Dovecot loads libauthdb_*.so from
// ($IMAPMIG_DOVECOT_AUTH_MODULEDIR overrides, for odd installs).
std::string dovecot_auth_module_dir();

struct DovecotOptions {
    std::string name; // used in the temp dir name, instance_name and messages
    // dovecot.conf content appended AFTER the base settings (so it may override them); every
    // "{BASE}" is replaced by the instance dir. Ports come from here: the base settings set the
    // imap/imaps listeners to port 0 (off), so nothing binds 143/993 unless the body says so.
    std::string config_body;
    // If non-empty: Dovecot runs in a private mount namespace where a temp copy of the real
    // module dir plus the override is bind-mounted over dovecot_auth_module_dir(). The override
    // may be a directory (its regular files are copied, not recursively) or a single file.
    // The copy is refreshed on every start(), so a rebuilt module is picked up by a restart.
    std::string module_dir_override;
    // Extra environment for the dovecot master. Dovecot's master clears the environment of its
    // children: the base settings therefore add these names to import_environment (a body that
    // sets import_environment itself must list them).
    EnvList env;
    // How long stop() waits for a clean shutdown before killing the process tree. Close IMAP
    // clients before stopping: open login connections make the master linger past this.
    int stop_grace_ms = 1500;
};

class DovecotInstance {
public:
    explicit DovecotInstance(DovecotOptions options);
    ~DovecotInstance(); // stop(), then remove the instance dir
    DovecotInstance(const DovecotInstance &) = delete;
    DovecotInstance &operator=(const DovecotInstance &) = delete;

    // Writes {BASE}/dovecot.conf, runs `dovecot -F -c <conf>` as our child and waits until the
    // auth socket exists and every "port = N" of the config accepts connections. Throws
    // std::runtime_error with the log tail if Dovecot exits or is not ready within 15 s.
    void start();
    // SIGTERM to the master and wait (a clean shutdown takes ~1.1 s); after stop_grace_ms the
    // master is frozen and it and all its descendants are SIGKILLed by pid. Removes nothing.
    // No-op if not running.
    void stop();
    // SIGKILL the master and every descendant right away (no shutdown log lines).
    void kill_now();
    // Rewrites dovecot.conf from the current body and makes the running master reload it;
    // returns when the master has switched (its old auth process gone).
    void reload();
    void set_config_body(std::string body) { options_.config_body = std::move(body); }

    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }    // master pid, 0 when stopped
    std::vector<pid_t> processes() const; // master + its live descendants (empty when stopped)
    // Processes of Dovecot's auth binary: the auth process and its auth-workers (told apart by
    // their titles; the executable, not the title, marks them, since a sanitizer preload
    // changes how the title looks).
    struct AuthProcesses {
        pid_t auth = 0;
        std::vector<pid_t> workers;
    };
    AuthProcesses auth_processes() const;

    const std::string &base() const { return dir_.path(); }
    const std::string &config_path() const { return config_path_; }
    const std::string &name() const { return options_.name; }
    std::string log_path() const { return base() + "/dovecot.log"; }
    std::string expand(const std::string &text) const; // replaces {BASE}
    std::string config_text() const;                   // base settings + expanded body

    std::string log() const; // whole dovecot.log (log, info and debug go to one file)
    std::size_t log_size() const { return log().size(); }
    std::string log_since(std::size_t offset) const; // log()'s content after offset
    // Polls the log until it contains needle (after offset); false on timeout.
    bool wait_for_log(const std::string &needle, int timeout_ms, std::size_t offset = 0) const;

    RunResult doveadm(const std::vector<std::string> &args,
                      const std::string &stdin_data = {}) const;
    // doveadm auth test [-x rip=<rip>] user password: exit 0 = ok, 77 = failed.
    RunResult auth_test(const std::string &user, const std::string &password,
                        const std::string &rip = "") const;

private:
    std::string prepare_module_dir();
    void wait_ready(const std::string &config, std::size_t log_offset);

    DovecotOptions options_;
    TempDir dir_;
    std::string config_path_;
    pid_t pid_ = 0;
};

struct OldProviderOptions {
    bool ssl = true;            // false: no STARTTLS offered, no imaps listener
    const TestCA *ca = nullptr; // signs the server cert; nullptr: a private CA in the instance dir
    std::string cert_cn = "localhost";
    std::string extra_config; // appended to the provider's dovecot.conf body (e.g. limits)
};

// The old provider: passwd-file users (SHA512-CRYPT), a plain listener (STARTTLS offered when
// ssl; plaintext LOGIN allowed) and, with ssl, an imaps listener. Mail in {BASE}/mail/%d/%n.
class OldProvider {
public:
    OldProvider(const std::string &name, OldProviderOptions options = {});
    ~OldProvider() = default;

    // Adds or replaces a user. Works while running: the passwd-file is rewritten atomically and
    // its mtime always moves forward. Dovecot re-checks the file at most once per second
    // (per auth process), so while running these calls return only after the wall clock has
    // reached the next second: up to 1 s each. Add users before start() where possible.
    void add_user(const std::string &address, const std::string &password);
    // Many users with one rewrite of the passwd-file (address -> password).
    void add_users(const std::vector<std::pair<std::string, std::string>> &users);
    void set_password(const std::string &address, const std::string &password);
    void remove_user(const std::string &address);

    void start() { dovecot_.start(); }
    void stop() { dovecot_.stop(); }
    int imap_port() const { return imap_port_; }
    int imaps_port() const { return imaps_port_; }    // 0 without ssl
    const std::string &host() const { return host_; } // "127.0.0.1"
    // PEM of the CA that signed the server certificate ("" without ssl).
    const std::string &ca_cert() const { return ca_cert_; }
    const std::string &users_file() const { return users_file_; }
    DovecotInstance &dovecot() { return dovecot_; }
    const DovecotInstance &dovecot() const { return dovecot_; }

    // Stores a message (doveadm save) in folder, creating the folder if needed.
    void deliver(const std::string &address, const std::string &folder, const std::string &rfc822);

private:
    void write_users();

    OldProviderOptions options_;
    int imap_port_ = 0;
    int imaps_port_ = 0;
    std::string host_ = "127.0.0.1";
    DovecotInstance dovecot_;
    std::unique_ptr<TestCA> own_ca_;
    std::string ca_cert_;
    std::string users_file_;
    std::map<std::string, std::string> users_; // address -> {SHA512-CRYPT} hash
    long long users_mtime_ = 0;
};

// "{SHA512-CRYPT}$6$..." for password, with a random salt (libcrypt).
std::string sha512_crypt(const std::string &password);

} // namespace testsupport
