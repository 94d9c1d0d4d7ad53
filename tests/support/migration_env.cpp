#include "migration_env.hpp"

#include "dovecot_conf24.hpp"
#include "process.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace testsupport {

namespace {

std::string env_or_throw(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        throw std::runtime_error(std::string(name) +
                                 " is not set: run the tests with `meson test`");
    return v;
}

void replace_all(std::string &text, const std::string &from, const std::string &to) {
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size()))
        text.replace(pos, from.size(), to);
}

std::string made_dir(const std::string &path) {
    make_dir(path);
    return path;
}

OldProviderOptions old_options(const MigrationEnvOptions &o, const TestCA &ca) {
    OldProviderOptions opts;
    opts.ssl = o.provider_ssl;
    opts.ca = &ca;
    opts.extra_config = o.old_provider_config;
    return opts;
}

} // namespace

std::string migrator_path() {
    return env_or_throw("IMAPMIG_MIGRATOR");
}
std::string source_root() {
    return env_or_throw("IMAPMIG_SOURCE_ROOT");
}

MigrationEnv::MigrationEnv(MigrationEnvOptions opts)
    : dir("imapmig-env"), options(std::move(opts)), db(pg.create_database("mail")),
      ca(made_dir(dir.file("ca"))), other_ca(made_dir(dir.file("other-ca")), "Unrelated CA"),
      old("old", old_options(options, ca)) {
    old.add_user(alice, alice_pw);
    old.add_user(bob, bob_pw);
    old.add_user(carol, carol_pw);
    old.add_user(stranger, stranger_pw);
    if (!options.old_users.empty())
        old.add_users(options.old_users);
    old.start();
    new_imap_port = free_tcp_port();
    key_file = dir.file("imap-migration.key");
    run_checked({migrator_path(), "key", "generate", key_file});
    config_path = dir.file("imap-migration.yaml");
    master_password_file = dir.file("master.pass");
    write_file(master_password_file, master_pw + "\n", 0600);
    state_dir = dir.file("state");
    runtime_dir = dir.file("run");
    // The schema first, with a config db upgrade accepts; then the one under test.
    write_file(config_path, yaml(false), 0640);
    run_checked({migrator_path(), "-c", config_path, "db", "upgrade"});
    // The line the admin gets from `imap-migrator master-user` (while the config is valid).
    master_users_line = run_checked({migrator_path(), "-c", config_path, "master-user"}).out;
    write_file(config_path, yaml(true), 0640);
}

MigrationEnv::~MigrationEnv() = default;

void MigrationEnv::write_config() const {
    write_file(config_path, yaml(true), 0640);
}

std::string MigrationEnv::yaml(bool with_extra) const {
    int port = options.provider_port_override;
    if (port == 0)
        port = options.security == "tls" ? old.imaps_port() : old.imap_port();
    std::string y;
    y += "database: \"" + db + "\"\n";
    y += "secret_key_file: " + key_file + "\n";
    y += "accounts:\n  password_scheme: " + options.password_scheme + "\n";
    y += std::string("  auto_create_domains: ") + (options.auto_create_domains ? "true" : "false") +
         "\n";
    y += "login_protection:\n";
    y += "  max_failures_per_ip: " + std::to_string(options.max_failures_per_ip) + "\n";
    y += "  max_failures_per_user: " + std::to_string(options.max_failures_per_user) + "\n";
    y += "  failure_window_seconds: 600\n";
    y += "  slot_wait_seconds: " + std::to_string(options.slot_wait_seconds) + "\n";
    y += "local_imap:\n  host: 127.0.0.1\n  port: " + std::to_string(new_imap_port) + "\n";
    y += "  master_user: " + master_user + "\n  master_password_file: " + master_password_file +
         "\n";
    y += "sync:\n  state_dir: " + state_dir + "\n  runtime_dir: " + runtime_dir + "\n";
    // The new server's own config (the dsync engine runs doveadm with it; the folder plan reads
    // its special-use mailboxes), never the machine's /etc/dovecot.
    if (new_)
        y += "  dovecot_config: " + new_->config_path() + "\n";
    y += options.sync_yaml;
    y += "providers:\n";
    y += "  - name: oldmail\n";
    y += "    host: " + options.provider_host + "\n";
    y += "    port: " + std::to_string(port) + "\n";
    y += "    security: " + options.security + "\n";
    if (options.security == "none")
        y += "    allow_plaintext: true\n";
    y += "    ca_file: " + (options.trust_provider_ca ? ca.ca_cert() : other_ca.ca_cert()) + "\n";
    y += "    timeout_seconds: " + std::to_string(options.timeout_seconds) + "\n";
    y += "    max_connections: " + std::to_string(options.max_connections) + "\n";
    y += "    domains:\n";
    y += "      - name: old.example\n        local_domain: new.example\n";
    y += "      - name: other.example\n";
    if (with_extra)
        y += options.extra_yaml;
    return y;
}

std::string MigrationEnv::new_dovecot_conf() const {
    // The shipped snippets, pointed at this test's files instead of /etc/dovecot.
    const std::string conf_dir = source_root() + "/" + shipped_conf_dir();
    std::string auth = read_file(conf_dir + "/auth-imapmigration.conf.ext");
    std::string sql = read_file(conf_dir + "/dovecot-sql-imapmigration.conf.ext");
    const std::string sql_path = dir.file("dovecot-sql-imapmigration.conf.ext");
    replace_all(auth, "/etc/dovecot/dovecot-sql-imapmigration.conf.ext", sql_path);
    if (!options.passdb_settings.empty() && dovecot_24())
        replace_all(auth, "  imapmigration_config_file = /etc/dovecot/imap-migration.yaml\n",
                    "  imapmigration_config_file = /etc/dovecot/imap-migration.yaml\n" +
                        passdb_settings_24(options.passdb_settings));
    else if (!options.passdb_settings.empty())
        replace_all(auth, "args = /etc/dovecot/imap-migration.yaml",
                    "args = " + options.passdb_settings + " /etc/dovecot/imap-migration.yaml");
    replace_all(auth, "/etc/dovecot/imap-migration.yaml", config_path);
    replace_all(sql, "connect = host=/run/postgresql dbname=mail user=mailadmin",
                "connect = " + db);
    replace_all(sql, "    host = /run/postgresql\n    dbname = mail\n    user = mailadmin\n",
                pgsql_parameters_24(db));
    write_file(sql_path, sql, 0640);
    const std::string masters = dir.file("imap-migration-master-users");
    write_file(masters, master_users_line, 0640);
    chown_to(masters, "root", "dovecot"); // read by the auth process, which runs as dovecot
    replace_all(auth, "/etc/dovecot/imap-migration-master-users", masters);
    const std::string auth_path = dir.file("auth-imapmigration.conf.ext");
    write_file(auth_path, auth, 0644);

    std::string body;
    body += "service imap-login {\n  inet_listener imap {\n    port = " +
            std::to_string(new_imap_port) +
            "\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}\n";
    // A different hierarchy separator than the old provider's '.', so folder names must be
    // translated by the sync.
    body += "namespace inbox {\n  inbox = yes\n  separator = /\n}\n";
    if (options.auth_debug)
        body += "auth_verbose = yes\nauth_debug = yes\n";
    body += "auth_username_format = " + lowercase_username_format() + "\n";
    body += "!include " + auth_path + "\n";
    body += options.new_dovecot_config;
    return body;
}

// Dovecot 2.3's login processes run chrooted and ignore ssl_client_ca_*: they verify a proxy's
// peer against ssl_ca, which the config process reads (as root) before they start; the test CA
// carries no CRL. 2.4 has no ssl_ca: its config process reads ssl_client_ca_file and hands the
// content on.
void MigrationEnv::trust_old_provider_in_proxies() {
    if (dovecot_24())
        options.new_dovecot_config += "ssl_client_ca_file = " + ca.ca_cert() + "\n";
    else
        options.new_dovecot_config += "ssl_ca = <" + ca.ca_cert() + "\nssl_require_crl = no\n";
}

void MigrationEnv::start_new_dovecot() {
    const std::string module_dir = dir.file("modules");
    make_dir(module_dir);
    run_checked({"cp", env_or_throw("IMAPMIG_MODULE"), module_dir + "/"});
    DovecotOptions o;
    o.name = "new";
    o.config_body = new_dovecot_conf();
    o.module_dir_override = module_dir;
    // For a sanitizer build of the module: its runtime is preloaded into the processes that
    // load the module (auth and auth-worker; the executable itself is not instrumented).
    if (const char *preload = std::getenv("IMAPMIG_TEST_DOVECOT_PRELOAD"); preload && *preload) {
        // Leak checks inside Dovecot only on request: its own pools are still allocated
        // when a process exits, so they report Dovecot, not us, unless filtered.
        const char *leaks = std::getenv("IMAPMIG_TEST_DOVECOT_DETECT_LEAKS");
        const std::string env = std::string("/usr/bin/env LD_PRELOAD=") + preload +
                                " ASAN_OPTIONS=detect_leaks=" + (leaks && *leaks ? leaks : "0") +
                                ":log_path=" + sanitizer_dir() + "/asan ";
        // The sanitizer reserves far more address space than Dovecot's default vsz_limit.
        o.config_body +=
            "service auth {\n  executable = " + env + "/usr/lib/dovecot/auth\n  vsz_limit = 0\n}\n";
        o.config_body += "service auth-worker {\n  executable = " + env +
                         "/usr/lib/dovecot/auth -w\n  vsz_limit = 0\n}\n";
    }
    new_ = std::make_unique<DovecotInstance>(o);
    std::string current = read_file(config_path);
    const std::string key = "\nsync:\n";
    if (current.find("  dovecot_config: ") == std::string::npos &&
        current.find(key) != std::string::npos) {
        current.insert(current.find(key) + key.size(),
                       "  dovecot_config: " + new_->config_path() + "\n");
        write_file(config_path, current, 0640);
    }
    new_->start();
}

ImapClient::Reply MigrationEnv::imap_login(const std::string &user, const std::string &password) {
    // A first login may wait slot_wait_seconds for a provider connection a sync holds, then
    // checks the password at the provider: the client waits longer than that.
    ImapClient client("127.0.0.1", new_imap_port,
                      (std::max(options.slot_wait_seconds, 0) + 15) * 1000);
    auto reply = client.login(user, password);
    if (reply.status == "OK")
        client.logout();
    return reply;
}

RunResult MigrationEnv::auth_test(const std::string &user, const std::string &password,
                                  const std::string &rip) {
    return new_->auth_test(user, password, rip);
}

std::string MigrationEnv::sql(const std::string &query) const {
    return pg_scalar(db, query);
}

long MigrationEnv::count(const std::string &table) const {
    return std::stol(sql("SELECT count(*) FROM " + table));
}

int MigrationEnv::provider_attempts(const std::string &user) {
    // The log process writes asynchronously: let pending lines land first.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::string log = old.dovecot().log();
    const std::string needle = "user=<" + user + ">";
    int n = 0;
    size_t pos = 0;
    while ((pos = log.find(needle, pos)) != std::string::npos) {
        size_t bol = log.rfind('\n', pos);
        std::string_view line(log.data() + (bol == std::string::npos ? 0 : bol + 1),
                              pos - (bol == std::string::npos ? 0 : bol + 1));
        if (line.find("imap-login:") != std::string_view::npos)
            ++n;
        pos += needle.size();
    }
    return n;
}

bool MigrationEnv::logs_free_of_passwords() const {
    const std::string log = new_ ? new_->log() : "";
    for (const std::string &pw : {alice_pw, bob_pw, carol_pw, stranger_pw})
        if (log.find(pw) != std::string::npos)
            return false;
    return true;
}

// The auth process runs as the dovecot user: its reports need a directory it may write to.
std::string MigrationEnv::sanitizer_dir() const {
    const std::string d = dir.file("sanitizer");
    if (!std::filesystem::exists(d)) {
        make_dir(d);
        std::filesystem::permissions(d, std::filesystem::perms::all |
                                            std::filesystem::perms::sticky_bit);
    }
    return d;
}

std::string MigrationEnv::sanitizer_reports() const {
    std::string out;
    for (const auto &entry : std::filesystem::directory_iterator(sanitizer_dir()))
        if (entry.path().filename().string().rfind("asan", 0) == 0)
            out += read_file_or_empty(entry.path().string());
    return out;
}

RunResult MigrationEnv::migrator(const std::vector<std::string> &args) const {
    std::vector<std::string> argv{migrator_path(), "-c", config_path};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

std::ostream &operator<<(std::ostream &os, const FolderMap &m) {
    for (const auto &[name, s] : m)
        os << name << ": " << s.messages << " msgs, " << s.seen << " seen, " << s.flagged
           << " flagged, " << s.answered << " answered\n";
    return os;
}

// Writes messages straight into the old provider's Maildir++ (fast, and flags included).
// folder uses the old provider's '.' separator; "" is INBOX.
void MigrationEnv::seed_mail(const std::string &user, const std::string &folder, int count,
                             int first) {
    const std::string local = user.substr(0, user.find('@'));
    const std::string domain = user.substr(user.find('@') + 1);
    std::string dir = old.dovecot().base() + "/mail/" + domain + "/" + local;
    if (!folder.empty())
        dir += "/." + folder;
    for (const char *sub : {"cur", "new", "tmp"})
        make_dir(dir + "/" + sub, 0700, "nobody");
    // Dovecot creates other users' mail dirs later as nobody: the parents must be nobody's too.
    const std::string mail_root = old.dovecot().base() + "/mail";
    for (const std::string &d :
         {mail_root + "/" + domain, mail_root + "/" + domain + "/" + local, dir})
        chown_to(d, "nobody", "nogroup");
    for (int i = first; i < first + count; ++i) {
        // Flags vary with i: S seen, F flagged, R answered.
        std::string flags;
        if (i % 3 == 0)
            flags += "F";
        if (i % 4 == 0)
            flags += "R";
        if (i % 2 == 0)
            flags += "S";
        std::ostringstream msg;
        msg << "From: sender" << i << "@example.org\r\nTo: " << user << "\r\nSubject: message " << i
            << " in " << (folder.empty() ? "INBOX" : folder)
            << "\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\nMessage-ID: <" << i << "." << local
            << "@seed.example>\r\n\r\n"
            << std::string(200 + (i % 7) * 300, 'x') << "\r\n";
        const std::string path = dir + "/cur/" + std::to_string(1600000000 + i) + ".M" +
                                 std::to_string(i) + ".seed:2," + flags;
        write_file(path, msg.str(), 0600);
        chown_to(path, "nobody", "nogroup");
    }
    chown_to(dir, "nobody", "nogroup");
}

FolderMap folder_stats(const DovecotInstance &d, const std::string &user, char separator) {
    FolderMap out;
    auto list = d.doveadm({"mailbox", "list", "-u", user});
    if (list.exit_code != 0)
        throw std::runtime_error("doveadm mailbox list -u " + user + " failed: " + list.err);
    std::istringstream names(list.out);
    std::string name;
    while (std::getline(names, name)) {
        auto fetch = d.doveadm({"fetch", "-u", user, "flags", "mailbox", name, "all"});
        if (fetch.exit_code != 0)
            continue; // \Noselect parents
        FolderStats s;
        std::istringstream lines(fetch.out);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.rfind("flags:", 0) != 0)
                continue;
            ++s.messages;
            s.seen += line.find("\\Seen") != std::string::npos;
            s.flagged += line.find("\\Flagged") != std::string::npos;
            s.answered += line.find("\\Answered") != std::string::npos;
        }
        if (s.messages == 0)
            continue;
        for (char &c : name)
            if (c == separator)
                c = '.';
        out[name] = s;
    }
    return out;
}

} // namespace testsupport
