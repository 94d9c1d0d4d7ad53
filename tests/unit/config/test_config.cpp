#include "config/config.hpp"
#include "config/config_files.hpp"
#include "crypto/passwords.hpp"

#include "catch_compat.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace imapmig;

namespace {

namespace fs = std::filesystem;

// A mkdtemp directory holding imap-migration.yaml, imap-migration.d/ and the files they name;
// removed with its contents at scope exit.
class ConfigDir {
public:
    ConfigDir() {
        std::string tmpl = fs::temp_directory_path() / "imapmig-config-XXXXXX";
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir_ = tmpl;
        key_ = write("current.key", std::string(32, 'k'), 0600);
    }
    ConfigDir(const ConfigDir &) = delete;
    ConfigDir &operator=(const ConfigDir &) = delete;
    ~ConfigDir() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::string path(const std::string &name) const { return dir_ + "/" + name; }
    std::string main() const { return path("imap-migration.yaml"); }
    std::string dropin(const std::string &name) const { return path("imap-migration.d/" + name); }
    const std::string &key() const { return key_; }

    std::string write(const std::string &name, const std::string &content, mode_t mode = 0644) {
        const std::string file = path(name);
        fs::create_directories(fs::path(file).parent_path());
        {
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out << content;
            REQUIRE(out.good());
        }
        REQUIRE(chmod(file.c_str(), mode) == 0);
        return file;
    }

    // Two lines (database on line 1, secret_key_file on line 2), then body from line 3.
    std::string head() const {
        return "database: \"host=/run/postgresql dbname=mail user=mailadmin\"\n"
               "secret_key_file: " +
               key_ + "\n";
    }

    ConfigLoadResult load(const std::string &body) {
        write("imap-migration.yaml", head() + body);
        return load_config(main());
    }

private:
    std::string dir_;
    std::string key_;
};

std::vector<std::string> messages(const ConfigLoadResult &result) {
    std::vector<std::string> out;
    for (const auto &e : result.errors)
        out.push_back(e.to_string());
    return out;
}

// One provider, starting on line 3 after ConfigDir::head().
const std::string one_provider = "providers:\n"                     // 3
                                 "  - name: oldmail\n"              // 4
                                 "    host: imap.oldmail.example\n" // 5
                                 "    domains:\n"                   // 6
                                 "      - name: old.example\n";     // 7

} // namespace

TEST_CASE("a full config with a drop-in provider file loads", "[unit]") {
    ConfigDir dir;
    const std::string old_key = dir.write("old.key", std::string(32, 'o'), 0600);
    const std::string master = dir.write("master.pass", "secret\n", 0600);
    const std::string ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
    dir.write("imap-migration.d/20-legacy.yaml", "providers:\n"
                                                 "  - name: legacy\n"
                                                 "    host: 192.0.2.7\n"
                                                 "    security: none\n"
                                                 "    allow_plaintext: true\n"
                                                 "    domains:\n"
                                                 "      - name: legacy.example\n");
    dir.write("imap-migration.d/10-second.yaml", "providers:\n"
                                                 "  - name: second\n"
                                                 "    host: imap.second.example\n"
                                                 "    domains: [{name: second.example}]\n");
    dir.write("imap-migration.d/README.txt", "not yaml: [");
    dir.write("imap-migration.d/30-old.yaml.dpkg-old", "not yaml: [");

    auto result = dir.load("previous_secret_key_files: [" + old_key +
                           "]\n"
                           "accounts:\n"
                           "  password_scheme: sha512-crypt\n"
                           "  auto_create_domains: false\n"
                           "  default_mailbox_quota_mb: 2048\n"
                           "local_imap:\n"
                           "  host: imap.internal\n"
                           "  port: 1143\n"
                           "  master_user: imap-migrator\n"
                           "  master_password_file: " +
                           master +
                           "\n"
                           "sync:\n"
                           "  offlineimap: /opt/offlineimap/bin/offlineimap\n"
                           "  max_parallel_accounts: 2\n"
                           "  interval_minutes: 30\n"
                           "  direction: both\n"
                           "  create_folders: false\n"
                           "  folder_exclude: '^(Junk|Spam)$'\n"
                           "  folder_include: [INBOX, Sent]\n"
                           "login_protection:\n"
                           "  max_failures_per_ip: 20\n"
                           "  max_failures_per_user: 3\n"
                           "  failure_window_seconds: 600\n"
                           "  slot_wait_seconds: 2\n"
                           "providers:\n"
                           "  - name: oldmail\n"
                           "    host: imap.oldmail.example\n"
                           "    port: 1993\n"
                           "    security: tls\n"
                           "    verify_certificate: false\n"
                           "    ca_file: " +
                           ca +
                           "\n"
                           "    timeout_seconds: 20\n"
                           "    max_connections: 4\n"
                           "    domains:\n"
                           "      - name: Old.Example\n"
                           "        local_domain: New.Example\n"
                           "      - name: other.example\n");
    INFO(Catch::Detail::stringify(messages(result)));
    REQUIRE(result.errors.empty());
    REQUIRE(result.config.has_value());
    const Config &c = *result.config;

    CHECK(c.path == dir.main());
    CHECK(c.database == "host=/run/postgresql dbname=mail user=mailadmin");
    CHECK(c.secret_key_file == dir.key());
    CHECK(c.previous_secret_key_files == std::vector<std::string>{old_key});
    CHECK(c.accounts.password_scheme == "SHA512-CRYPT");
    CHECK_FALSE(c.accounts.auto_create_domains);
    CHECK(c.accounts.default_mailbox_quota_mb == 2048);
    REQUIRE(c.local_imap.has_value());
    CHECK(c.local_imap->host == "imap.internal");
    CHECK(c.local_imap->port == 1143);
    CHECK(c.local_imap->master_user == "imap-migrator");
    CHECK(c.local_imap->master_password_file == master);
    CHECK(c.sync.offlineimap == "/opt/offlineimap/bin/offlineimap");
    CHECK(c.sync.max_parallel_accounts == 2);
    CHECK(c.sync.interval_minutes == 30);
    CHECK(c.sync.direction == SyncDirection::both);
    CHECK_FALSE(c.sync.create_folders);
    CHECK(c.sync.folder_exclude == "^(Junk|Spam)$");
    CHECK(c.sync.folder_include == std::vector<std::string>{"INBOX", "Sent"});
    CHECK(c.login_protection.max_failures_per_ip == 20);
    CHECK(c.login_protection.max_failures_per_user == 3);
    CHECK(c.login_protection.failure_window_seconds == 600);
    CHECK(c.login_protection.slot_wait_seconds == 2);

    // The main file first, then imap-migration.d/ by name; other files there are ignored.
    REQUIRE(c.providers.size() == 3);
    const ProviderConfig &old = c.providers[0];
    CHECK(old.name == "oldmail");
    CHECK(old.host == "imap.oldmail.example");
    CHECK(old.port == 1993);
    CHECK(old.security == TlsMode::tls);
    CHECK_FALSE(old.allow_plaintext);
    CHECK_FALSE(old.verify_certificate);
    CHECK(old.ca_file == ca);
    CHECK(old.timeout_seconds == 20);
    CHECK(old.max_connections == 4);
    CHECK(old.source_file == dir.main());
    REQUIRE(old.domains.size() == 2);
    CHECK(old.domains[0].name == "old.example");
    CHECK(old.domains[0].local_domain == "new.example");
    CHECK(old.domains[1].name == "other.example");
    CHECK(old.domains[1].local_domain == "other.example");

    CHECK(c.providers[1].name == "second");
    CHECK(c.providers[1].port == 993); // tls default
    CHECK(c.providers[1].security == TlsMode::tls);
    CHECK(c.providers[1].source_file == dir.dropin("10-second.yaml"));
    CHECK(c.providers[2].name == "legacy");
    CHECK(c.providers[2].port == 143);
    CHECK(c.providers[2].security == TlsMode::none);
    CHECK(c.providers[2].allow_plaintext);
    CHECK(c.providers[2].source_file == dir.dropin("20-legacy.yaml"));

    auto route = c.route_for_old_domain("OLD.example");
    REQUIRE(route.provider == &c.providers[0]);
    CHECK(route.domain->local_domain == "new.example");
    CHECK(c.route_for_old_domain("legacy.example").provider == &c.providers[2]);
    CHECK(c.route_for_old_domain("new.example").provider == nullptr);
    CHECK(c.route_for_old_domain("unknown.example").domain == nullptr);
}

TEST_CASE("a minimal config gets the documented defaults", "[unit]") {
    ConfigDir dir;
    auto result = dir.load(one_provider);
    INFO(Catch::Detail::stringify(messages(result)));
    REQUIRE(result.config.has_value());
    const Config &c = *result.config;
    CHECK(c.previous_secret_key_files.empty());
    CHECK(c.accounts.password_scheme == "SHA512-CRYPT");
    CHECK(c.accounts.auto_create_domains);
    CHECK(c.accounts.default_mailbox_quota_mb == 0);
    CHECK_FALSE(c.local_imap.has_value());
    CHECK(c.sync.offlineimap == "/usr/bin/offlineimap");
    CHECK(c.sync.engine == SyncEngine::offlineimap);
    CHECK(c.sync.dovecot_config == "/etc/dovecot/dovecot.conf");
    CHECK(c.sync.max_parallel_accounts == 4);
    CHECK(c.sync.interval_minutes == 60);
    CHECK(c.sync.direction == SyncDirection::old_to_new);
    CHECK(c.sync.create_folders);
    CHECK(c.sync.folder_exclude.empty());
    CHECK(c.sync.folder_include.empty());
    CHECK(c.login_protection.max_failures_per_ip == 10);
    CHECK(c.login_protection.max_failures_per_user == 5);
    CHECK(c.login_protection.failure_window_seconds == 900);
    CHECK(c.login_protection.slot_wait_seconds == 5);
    REQUIRE(c.providers.size() == 1);
    const ProviderConfig &p = c.providers[0];
    CHECK(p.port == 993);
    CHECK(p.security == TlsMode::tls);
    CHECK_FALSE(p.allow_plaintext);
    CHECK(p.verify_certificate);
    CHECK(p.ca_file.empty());
    CHECK(p.timeout_seconds == 10);
    CHECK(p.max_connections == 8);
    CHECK(p.cutover == Cutover::immediate);
    CHECK(p.pop3_port == 995);
    CHECK_FALSE(p.sync.engine.has_value());
    CHECK(c.engine_for(p) == SyncEngine::offlineimap);
    CHECK(p.domains[0].local_domain == "old.example");
}

TEST_CASE("enum names print as written in the config", "[unit]") {
    CHECK(to_string(TlsMode::tls) == "tls");
    CHECK(to_string(TlsMode::starttls) == "starttls");
    CHECK(to_string(TlsMode::none) == "none");
    CHECK(to_string(SyncDirection::old_to_new) == "old-to-new");
    CHECK(to_string(SyncDirection::both) == "both");
    CHECK(to_string(Cutover::proxy) == "proxy");
    CHECK(to_string(Cutover::immediate) == "immediate");
}

TEST_CASE("cutover and the POP3 port of a provider", "[unit]") {
    ConfigDir dir;
    auto proxied = dir.load(one_provider + "    cutover: proxy\n    security: starttls\n" +
                            "    sync:\n      engine: dsync\n");
    INFO(Catch::Detail::stringify(messages(proxied)));
    REQUIRE(proxied.config.has_value());
    CHECK(proxied.config->providers[0].cutover == Cutover::proxy);
    CHECK(proxied.config->providers[0].port == 143); // both follow security
    CHECK(proxied.config->providers[0].pop3_port == 110);

    auto explicit_port = dir.load(one_provider + "    pop3_port: 1995\n");
    REQUIRE(explicit_port.config.has_value());
    CHECK(explicit_port.config->providers[0].pop3_port == 1995);

    auto bad = dir.load(one_provider + "    cutover: later\n");
    CHECK_FALSE(bad.config.has_value());
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].to_string().find(":8: providers[0].cutover: ") != std::string::npos);
    CHECK(bad.errors[0].to_string().find("immediate") != std::string::npos);
}

TEST_CASE("the shipped example config loads", "[unit]") {
    // meson test sets IMAPMIG_SOURCE_ROOT; by hand, the source root is usually the current
    // directory or can be found from this file's (possibly build-relative) name.
    const fs::path example = "conf.d/imap-migration.yaml.example";
    std::vector<fs::path> roots = {".", fs::path(__FILE__).parent_path() / "../../.."};
    if (const char *root = std::getenv("IMAPMIG_SOURCE_ROOT"))
        roots.insert(roots.begin(), root);
    auto found = std::find_if(roots.begin(), roots.end(),
                              [&](const fs::path &r) { return fs::exists(r / example); });
    REQUIRE(found != roots.end());
    std::ifstream in(*found / example);
    REQUIRE(in.good());
    ConfigDir dir;
    const std::string master = dir.write("master.pass", "secret\n", 0600);

    // Point the files it names at ours; everything else is loaded as shipped.
    std::ostringstream adjusted;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("secret_key_file:", 0) == 0)
            line = "secret_key_file: " + dir.key();
        else if (line.rfind("  master_password_file:", 0) == 0)
            line = "  master_password_file: " + master;
        adjusted << line << "\n";
    }
    dir.write("imap-migration.yaml", adjusted.str());
    auto result = load_config(dir.main());
    INFO(Catch::Detail::stringify(messages(result)));
    REQUIRE(result.errors.empty());
    REQUIRE(result.config.has_value());
    CHECK(result.config->database == "host=/run/postgresql dbname=mail user=mailadmin");
    CHECK_FALSE(result.config->providers.empty());
}

TEST_CASE("unknown keys are refused with the keys that are expected", "[unit]") {
    ConfigDir dir;
    auto result = dir.load(one_provider + "        colour: blue\n" // 8: under domains[0]
                                          "sync:\n"                // 9
                                          "  max_paralel_accounts: 3\n");
    CHECK_FALSE(result.config.has_value());
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":8: providers[0].domains[0].colour: unknown key; expected one of "
                           "name, local_domain",
              dir.main() + ":10: sync.max_paralel_accounts: unknown key; expected one of "
                           "engine, offlineimap, dovecot_config, max_parallel_accounts, "
                           "interval_minutes, direction, "
                           "create_folders, folder_exclude, folder_include, state_dir, "
                           "runtime_dir",
          });
}

TEST_CASE("renamed keys say what to write instead", "[unit]") {
    ConfigDir dir;
    auto result = dir.load("max_sync_accounts: 2\n"          // 3
                           "providers:\n"                    // 4
                           "  - name: oldmail\n"             // 5
                           "    address: imap.old.example\n" // 6
                           "    domains:\n"                  // 7
                           "      - name: old.example\n"     // 8
                           "        new_domain: new.example\n");
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":3: max_sync_accounts: `max_sync_accounts` was renamed: write "
                           "`sync.max_parallel_accounts` instead",
              dir.main() + ":6: providers[0].address: `providers[0].address` was renamed: write "
                           "`providers[0].host` instead",
              dir.main() + ":9: providers[0].domains[0].new_domain: "
                           "`providers[0].domains[0].new_domain` was renamed: write "
                           "`providers[0].domains[0].local_domain` instead",
              dir.main() + ":5: providers[0].host: missing; expected a host name or IP address",
          });
}

TEST_CASE("wrong types name what was expected and what was found", "[unit]") {
    ConfigDir dir;
    auto result = dir.load("accounts: [ARGON2ID]\n"          // 3
                           "sync:\n"                         // 4
                           "  max_parallel_accounts: four\n" // 5
                           "  interval_minutes: \"60\"\n"    // 6
                           "  create_folders: maybe\n"       // 7
                           "  folder_include: INBOX\n"       // 8
                           "login_protection:\n"             // 9
                           "  slot_wait_seconds: 1.5\n"      // 10
                           "providers:\n"                    // 11
                           "  oldmail:\n"                    // 12
                           "    host: imap.old.example\n");
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":3: accounts: expected a mapping with keys password_scheme, "
                           "auto_create_domains, default_mailbox_quota_mb, got a list",
              dir.main() + ":5: sync.max_parallel_accounts: expected an integer from 1 to 1000, "
                           "got \"four\"",
              dir.main() + ":6: sync.interval_minutes: expected an integer from 1 to 10080, got "
                           "the quoted string \"60\"",
              dir.main() + ":7: sync.create_folders: expected true or false, got \"maybe\"",
              dir.main() + ":8: sync.folder_include: expected a list of folder names, got "
                           "\"INBOX\"",
              dir.main() + ":10: login_protection.slot_wait_seconds: expected an integer from 0 "
                           "to 60, got \"1.5\"",
              dir.main() + ":11: providers: expected a list of providers, got a mapping",
          });
}

TEST_CASE("missing required keys are named with their section's line", "[unit]") {
    ConfigDir dir;
    const std::string master = dir.write("master.pass", "secret\n", 0600);
    dir.write("imap-migration.yaml", "secret_key_file: " + dir.key() +
                                         "\n"                         // 1
                                         "local_imap:\n"              // 2: reported for it
                                         "  master_password_file: " + // 3
                                         master +
                                         "\n"
                                         "providers:\n"             // 4
                                         "  - name: oldmail\n"      // 5
                                         "  - host: imap.example\n" // 6
                                         "    domains: []\n");      // 7
    auto result = load_config(dir.main());
    CHECK_FALSE(result.config.has_value());
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":2: local_imap.master_user: missing; expected a Dovecot master user "
                           "name",
              dir.main() + ":5: providers[0].host: missing; expected a host name or IP address",
              dir.main() + ":5: providers[0].domains: missing; expected a non-empty list of "
                           "domains",
              dir.main() + ":7: providers[1].domains: expected a non-empty list of domains, got "
                           "an empty list",
              dir.main() + ":6: providers[1].name: missing; expected a provider name such as "
                           "oldmail",
              dir.main() + ":1: database: missing; expected a libpq connection string",
          });
}

TEST_CASE("an empty main file is missing its database", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.yaml", "# nothing yet\n");
    auto result = load_config(dir.main());
    CHECK_FALSE(result.config.has_value());
    REQUIRE(result.errors.size() >= 1);
    CHECK(result.errors[0].to_string() ==
          dir.main() + ": database: missing; expected a libpq connection string");
}

TEST_CASE("numbers out of range are refused", "[unit]") {
    ConfigDir dir;
    auto result = dir.load(one_provider + "    port: 70000\n"         // 8
                                          "    timeout_seconds: 0\n"  // 9
                                          "    max_connections: -1\n" // 10
                                          "accounts:\n"               // 11
                                          "  default_mailbox_quota_mb: 99999999999999999999999\n");
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":8: providers[0].port: expected an integer from 1 to 65535, got 70000",
              dir.main() + ":9: providers[0].timeout_seconds: expected an integer from 1 to 300, "
                           "got 0",
              dir.main() + ":10: providers[0].max_connections: expected an integer from 1 to "
                           "1000, got -1",
              dir.main() + ":12: accounts.default_mailbox_quota_mb: expected an integer from 0 to "
                           "1000000000, got 99999999999999999999999",
          });
}

TEST_CASE("bad enum values list the choices", "[unit]") {
    ConfigDir dir;
    auto result = dir.load(one_provider + "    security: ssl\n" // 8
                                          "sync:\n"             // 9
                                          "  direction: new-to-old\n");
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":8: providers[0].security: expected one of tls, starttls, none, got "
                           "\"ssl\"",
              dir.main() + ":10: sync.direction: expected one of old-to-new, both, got "
                           "\"new-to-old\"",
          });
}

TEST_CASE("security none needs allow_plaintext", "[unit]") {
    ConfigDir dir;
    auto refused = dir.load(one_provider + "    security: none\n");
    CHECK(messages(refused) ==
          std::vector<std::string>{
              dir.main() + ":8: providers[0].security: `none` would send users' passwords across "
                           "the network in clear; use tls or starttls, or set allow_plaintext: "
                           "true to accept that",
          });
    auto accepted = dir.load(one_provider + "    security: none\n    allow_plaintext: yes\n");
    INFO(Catch::Detail::stringify(messages(accepted)));
    REQUIRE(accepted.config.has_value());
    CHECK(accepted.config->providers[0].port == 143);
}

TEST_CASE("provider names are unique across files, naming both places", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.d/oldmail.yaml", "providers:\n"
                                               "  - name: oldmail\n" // 2
                                               "    host: imap2.oldmail.example\n"
                                               "    domains: [{name: two.example}]\n");
    auto result = dir.load(one_provider);
    CHECK(messages(result) == std::vector<std::string>{
                                  dir.dropin("oldmail.yaml") +
                                      ":2: providers[0].name: provider name `oldmail` is "
                                      "already used at " +
                                      dir.main() + ":4 (providers[0].name)",
                              });
}

TEST_CASE("an old domain belongs to one provider only", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.d/other.yaml", "providers:\n"
                                             "  - name: other\n"
                                             "    host: imap.other.example\n"
                                             "    domains:\n"
                                             "      - name: OLD.example\n"); // 5
    auto result = dir.load(one_provider + "      - name: x.example\n"        // 8
                                          "      - name: X.Example\n");      // 9
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() +
                  ":9: providers[0].domains[2].name: domain `x.example` is already "
                  "declared at " +
                  dir.main() +
                  ":8 (providers[0].domains[1].name); an old domain belongs to one provider only",
              dir.dropin("other.yaml") +
                  ":5: providers[0].domains[0].name: domain `old.example` "
                  "is already declared at " +
                  dir.main() +
                  ":7 (providers[0].domains[0].name); an old domain belongs to one provider only",
          });
}

TEST_CASE("drop-in files may only declare providers", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.d/extra.yaml", "sync:\n"
                                             "  max_parallel_accounts: 2\n");
    dir.write("imap-migration.d/empty.yaml", "# all commented out\n");
    auto result = dir.load(one_provider);
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.dropin("extra.yaml") + ":1: sync: a file in imap-migration.d/ may only hold "
                                         "`providers`; other settings belong in the main file",
          });
}

TEST_CASE("YAML syntax errors give the file and line", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.d/broken.yaml", "providers:\n"
                                              "  - name: broken\n"
                                              "    domains: [a.example\n");
    auto result = dir.load("sync:\n"                     // 3
                           "  direction: both: both\n"); // 4
    REQUIRE(result.errors.size() == 2);
    CHECK_FALSE(result.config.has_value());
    CHECK(result.errors[0].file == dir.main());
    CHECK(result.errors[0].line == 4);
    CHECK(result.errors[0].key.empty());
    CHECK(result.errors[0].message.rfind("invalid YAML: ", 0) == 0);
    CHECK(result.errors[1].file == dir.dropin("broken.yaml"));
    CHECK(result.errors[1].line >= 3);
    CHECK(result.errors[1].to_string().rfind(dir.dropin("broken.yaml") + ":", 0) == 0);
}

TEST_CASE("a document starting with ',' is refused, not parsed forever", "[unit]") {
    // yaml-cpp 0.7's LoadAll never returned on these (fuzz-config found the first).
    for (const char *text : {",", ",\nb: c", "# comment\n  ,\ndatabase: x", "--- !t ,"}) {
        ConfigDir dir;
        dir.write("imap-migration.yaml", text);
        auto result = load_config(dir.main());
        INFO(text);
        REQUIRE(result.errors.size() == 1);
        CHECK_FALSE(result.config.has_value());
        CHECK(result.errors[0].message.rfind("invalid YAML: a document may not start with ','",
                                             0) == 0);
        CHECK(result.errors[0].line >= 1);
    }
}

TEST_CASE("a second YAML document is refused with its line", "[unit]") {
    ConfigDir dir;
    auto result = dir.load("---\n"                      // 3
                           "database: dbname=other\n"); // 4
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].line == 3);
    CHECK(result.errors[0].message ==
          "expected one YAML document, found more (remove the `---` separators)");
}

TEST_CASE("a missing main file is reported without a line", "[unit]") {
    ConfigDir dir;
    auto result = load_config(dir.path("nope.yaml"));
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.path("nope.yaml") + ": cannot read: No such file or directory",
          });
}

TEST_CASE("key files are checked with load_key_file", "[unit]") {
    ConfigDir dir;
    const std::string short_key = dir.write("short.key", std::string(16, 's'), 0600);
    dir.write("imap-migration.yaml", "database: dbname=mail\n"
                                     "secret_key_file: " +
                                         dir.path("missing.key") +
                                         "\n"
                                         "previous_secret_key_files:\n"
                                         "  - " +
                                         dir.key() +
                                         "\n"
                                         "  - " +
                                         short_key + "\n" + one_provider);
    auto result = load_config(dir.main());
    CHECK_FALSE(result.config.has_value());
    REQUIRE(result.errors.size() == 2);
    CHECK(result.errors[0].file == dir.main());
    CHECK(result.errors[0].line == 2);
    CHECK(result.errors[0].key == "secret_key_file");
    CHECK_FALSE(result.errors[0].message.empty());
    CHECK(result.errors[1].line == 5);
    CHECK(result.errors[1].key == "previous_secret_key_files[1]");
    CHECK(result.errors[1].message.find("32") != std::string::npos);
}

TEST_CASE("the default key file is checked when secret_key_file is not set", "[unit]") {
    if (fs::exists("/etc/dovecot/imap-migration.key"))
        return; // this host has one: nothing to report
    ConfigDir dir;
    dir.write("imap-migration.yaml", "database: dbname=mail\n" + one_provider);
    auto result = load_config(dir.main());
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].line == 1);
    CHECK(result.errors[0].key == "secret_key_file");
    CHECK(result.errors[0].message.find("/etc/dovecot/imap-migration.key") != std::string::npos);
    CHECK(result.errors[0].message.find("the default is used") != std::string::npos);
}

TEST_CASE("file paths must be absolute and readable", "[unit]") {
    ConfigDir dir;
    auto result = dir.load(one_provider + "    ca_file: " + dir.path("no-ca.pem") + // 8
                           "\n"
                           "local_imap:\n"                           // 9
                           "  master_user: imap-migrator\n"          // 10
                           "  master_password_file: master.pass\n"); // 11
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":8: providers[0].ca_file: expected a readable file; " +
                  dir.path("no-ca.pem") + ": No such file or directory",
              dir.main() + ":11: local_imap.master_password_file: expected an absolute path, got "
                           "\"master.pass\"",
          });
}

TEST_CASE("the password scheme must be one we can produce", "[unit]") {
    ConfigDir dir;
    std::string supported;
    for (const auto &s : supported_password_schemes())
        supported += (supported.empty() ? "" : ", ") + s;
    auto result = dir.load("accounts:\n"                // 3
                           "  password_scheme: ROT13\n" // 4
                           + one_provider);
    CHECK(messages(result) == std::vector<std::string>{
                                  dir.main() + ":4: accounts.password_scheme: expected one of " +
                                      supported + ", got \"ROT13\"",
                              });
}

TEST_CASE("values are checked for their meaning", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.yaml", "database: \"host='unterminated\"\n" // 1
                                     "secret_key_file: " +
                                         dir.key() +
                                         "\n"
                                         "sync:\n"                                // 3
                                         "  folder_exclude: '^(Junk'\n"           // 4
                                         "providers:\n"                           // 5
                                         "  - name: Old Mail\n"                   // 6
                                         "    host: imap old.example\n"           // 7
                                         "    domains:\n"                         // 8
                                         "      - name: -bad.example\n"           // 9
                                         "        local_domain: new..example\n"); // 10
    auto result = load_config(dir.main());
    const auto got = messages(result);
    REQUIRE(got.size() == 6);
    CHECK(got[0] == dir.main() +
                        ":1: database: expected a libpq connection string such as "
                        "\"host=/run/postgresql dbname=mail user=mailadmin\" or a postgresql:// "
                        "URI; this one does not parse");
    CHECK(got[1] == dir.main() + ":4: sync.folder_exclude: expected a regular expression "
                                 "(ECMAScript syntax without backreferences, lookaround or \\b); "
                                 "\"^(Junk\" is refused: missing `)` at offset 6");
    CHECK(got[2] == dir.main() + ":6: providers[0].name: expected a name made of a-z, 0-9, '.', "
                                 "'_' and '-', got \"Old Mail\"");
    CHECK(got[3] == dir.main() + ":7: providers[0].host: expected a host name or IP address, got "
                                 "\"imap old.example\"");
    CHECK(got[4] == dir.main() + ":9: providers[0].domains[0].name: expected a domain name such "
                                 "as old.example, got \"-bad.example\"");
    CHECK(got[5] == dir.main() + ":10: providers[0].domains[0].local_domain: expected a domain "
                                 "name such as old.example, got \"new..example\"");
}

TEST_CASE("a key given twice in one mapping is refused", "[unit]") {
    ConfigDir dir;
    auto result = dir.load(one_provider + "    host: imap2.oldmail.example\n"); // 8
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":8: providers[0].host: given twice (first at line 5)",
          });
}

TEST_CASE("all problems are collected, one line each", "[unit]") {
    ConfigDir dir;
    dir.write("imap-migration.d/b.yaml", "providers:\n"
                                         "  - name: b\n"
                                         "    host: imap.b.example\n"
                                         "    port: 0\n" // 4
                                         "    domains: [{name: b.example}]\n"
                                         "colour: red\n");  // 6
    auto result = dir.load("sync:\n"                        // 3
                           "  max_parallel_accounts: 0\n"   // 4
                           "  direction: sideways\n"        // 5
                           "login_protection:\n"            // 6
                           "  failure_window_seconds: []\n" // 7
                           + one_provider +                 // 8..12
                           "    max_connections: 5000\n");  // 13
    CHECK_FALSE(result.config.has_value());
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":4: sync.max_parallel_accounts: expected an integer from 1 to 1000, "
                           "got 0",
              dir.main() + ":5: sync.direction: expected one of old-to-new, both, got "
                           "\"sideways\"",
              dir.main() + ":7: login_protection.failure_window_seconds: expected an integer "
                           "from 1 to 604800, got an empty list",
              dir.main() + ":13: providers[0].max_connections: expected an integer from 1 to "
                           "1000, got 5000",
              dir.dropin("b.yaml") + ":4: providers[0].port: expected an integer from 1 to "
                                     "65535, got 0",
              dir.dropin("b.yaml") + ":6: colour: a file in imap-migration.d/ may only hold "
                                     "`providers`; other settings belong in the main file",
          });
}

TEST_CASE("removed keys say what to do instead", "[unit]") {
    ConfigDir dir;
    auto result = dir.load("enable_imap_migration: true\n"                 // 3
                           "dovecot_lookup_path: [/usr/sbin/dovecot]\n"    // 4
                           "sync:\n"                                       // 5
                           "  offlineimap_config: /etc/offlineimap.conf\n" // 6
                           "providers:\n"                                  // 7
                           "  - name: oldmail\n"                           // 8
                           "    host: imap.oldmail.example\n"              // 9
                           "    secured: true\n"                           // 10
                           "    domains: [{name: old.example}]\n");
    CHECK_FALSE(result.config);
    CHECK(messages(result) ==
          std::vector<std::string>{
              dir.main() + ":3: enable_imap_migration: `enable_imap_migration` was removed: delete "
                           "it: the passdb is active once 10-auth.conf includes "
                           "auth-imapmigration.conf.ext",
              dir.main() + ":4: dovecot_lookup_path: `dovecot_lookup_path` was removed: write "
                           "`dovecot_bin_dir: DIR` instead, the directory that holds doveadm",
              dir.main() + ":6: sync.offlineimap_config: `sync.offlineimap_config` was removed: "
                           "delete it: the worker writes a private config for each run; for a "
                           "cron-style setup run `imap-migrator generate-offlineimap-config "
                           "--output FILE`",
              dir.main() + ":10: providers[0].secured: `providers[0].secured` was removed: write "
                           "`security: tls` (or `starttls`) instead",
          });
}

TEST_CASE("dovecot_bin_dir finds doveadm in a non-standard place", "[unit]") {
    ConfigDir dir;
    SECTION("the default is /usr/bin") {
        auto result = dir.load(one_provider);
        REQUIRE(result.config);
        CHECK(result.config->dovecot_bin_dir == "/usr/bin");
    }
    SECTION("a directory holding an executable doveadm is accepted") {
        dir.write("opt-dovecot/bin/doveadm", "#!/bin/sh\n", 0755);
        auto result =
            dir.load("dovecot_bin_dir: " + dir.path("opt-dovecot/bin") + "\n" + one_provider);
        INFO((messages(result).empty() ? std::string() : messages(result).front()));
        REQUIRE(result.config);
        CHECK(result.config->dovecot_bin_dir == dir.path("opt-dovecot/bin"));
    }
    SECTION("a relative path, a missing directory, or one without doveadm is refused") {
        dir.write("empty/README", "");
        dir.write("noexec/doveadm", "#!/bin/sh\n", 0644);
        const std::pair<std::string, std::string> cases[] = {
            {"opt/dovecot/bin", "expected an absolute path, got \"opt/dovecot/bin\""},
            {dir.path("missing"), "expected the directory that holds doveadm; " +
                                      dir.path("missing") + ": No such file or directory"},
            {dir.path("empty"), "expected the directory that holds doveadm; " +
                                    dir.path("empty/doveadm") + ": No such file or directory"},
            {dir.path("noexec"), "expected the directory that holds doveadm; " +
                                     dir.path("noexec/doveadm") + ": Permission denied"},
        };
        for (const auto &[value, reason] : cases) {
            auto result = dir.load("dovecot_bin_dir: " + value + "\n" + one_provider);
            CHECK_FALSE(result.config);
            CHECK(messages(result) ==
                  std::vector<std::string>{dir.main() + ":3: dovecot_bin_dir: " + reason});
        }
    }
}

TEST_CASE("offlineimap cannot enforce STARTTLS or check an IP address: refused with the way out",
          "[unit]") {
    ConfigDir dir;
    auto result = dir.load("providers:\n"             // 3
                           "  - name: oldmail\n"      // 4
                           "    host: 192.0.2.7\n"    // 5
                           "    security: starttls\n" // 6
                           "    domains: [{name: old.example}]\n"
                           "  - name: plain\n"     // 8
                           "    host: 192.0.2.8\n" // 9
                           "    security: none\n"
                           "    allow_plaintext: true\n"
                           "    domains: [{name: plain.example}]\n");
    const auto got = messages(result);
    REQUIRE(got.size() == 2);
    CHECK(got[0].rfind(dir.main() + ":6: providers[0].security: `starttls` is not safe with the "
                                    "offlineimap engine",
                       0) == 0);
    CHECK(got[0].find("`security: tls`") != std::string::npos);
    CHECK(got[0].find("engine: dsync") != std::string::npos);
    CHECK(got[1].rfind(dir.main() + ":5: providers[0].host: the offlineimap engine cannot verify "
                                    "a certificate for an IP address",
                       0) == 0);

    // The same providers synced by dsync (which enforces and verifies) load; STARTTLS's
    // default port is 143.
    dir.write("imap-migration.d/10-dsync.yaml", "providers:\n"
                                                "  - name: second\n"
                                                "    host: 192.0.2.9\n"
                                                "    security: starttls\n"
                                                "    sync: {engine: dsync}\n"
                                                "    domains: [{name: second.example}]\n");
    auto dsync = dir.load("sync:\n  engine: offlineimap\n");
    INFO(Catch::Detail::stringify(messages(dsync)));
    REQUIRE(dsync.config.has_value());
    CHECK(dsync.config->providers[0].port == 143);

    // A drop-in file's provider is named by its own file, line and index.
    dir.write("imap-migration.d/10-dsync.yaml", "providers:\n"
                                                "  - name: second\n"
                                                "    host: imap.second.example\n"
                                                "    security: starttls\n"
                                                "    domains: [{name: second.example}]\n");
    auto dropin = dir.load("sync:\n  engine: offlineimap\n");
    REQUIRE(messages(dropin).size() == 1);
    CHECK(messages(dropin)[0].rfind(dir.dropin("10-dsync.yaml") + ":4: providers[0].security: ",
                                    0) == 0);
}

TEST_CASE("paths must be files or directories as each key needs, and never block", "[unit]") {
    ConfigDir dir;
    const std::string fifo = dir.path("fifo");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    SECTION("a FIFO as the config file") {
        auto result = load_config(fifo); // would block in open() without O_NONBLOCK
        CHECK(messages(result) ==
              std::vector<std::string>{fifo + ": cannot read: is a FIFO, not a regular file"});
    }
    SECTION("special files and bad programs for the other keys") {
        auto result = dir.load(one_provider +               // 3-7
                               "sync:\n"                    // 8
                               "  offlineimap: \"$(id)\"\n" // 9
                               "  runtime_dir: /dev/zero\n" // 10
                               "  state_dir: " +
                               fifo +
                               "\n"                                       // 11
                               "local_imap:\n"                            // 12
                               "  master_user: imap-migrator\n"           // 13
                               "  master_password_file: /proc/self/mem\n" // 14
                               "previous_secret_key_files: [" +
                               fifo + "]\n"); // 15
        CHECK(messages(result) ==
              std::vector<std::string>{
                  dir.main() + ":9: sync.offlineimap: expected the absolute path of a program "
                               "(letters, digits, '/', '.', '_', '-', '+'), got \"$(id)\"",
                  dir.main() + ":10: sync.runtime_dir: expected a directory; /dev/zero: is "
                               "under /dev, not a directory for files",
                  dir.main() + ":11: sync.state_dir: expected a directory; " + fifo +
                      ": is a FIFO, not a directory",
                  dir.main() + ":14: local_imap.master_password_file: expected a readable "
                               "file; /proc/self/mem: is in /proc or /sys, not a regular file",
                  dir.main() + ":15: previous_secret_key_files[0]: key file " + fifo +
                      ": is a FIFO, not a regular file",
              });
    }
    SECTION("a missing directory is fine: the worker creates it") {
        auto result = dir.load(one_provider + "sync:\n  runtime_dir: " + dir.path("run/x") +
                               "\n  state_dir: " + dir.path("state") + "\n");
        INFO(Catch::Detail::stringify(messages(result)));
        CHECK(result.config.has_value());
    }
}

TEST_CASE("diagnostics never carry raw control characters", "[unit]") {
    ConfigDir dir;
    auto result = dir.load("providers:\n"
                           "  - name: \"\\e[2J\\e[31mowned\\a\"\n" // YAML escapes: ESC, BEL
                           "    host: \"a\\x9b b\"\n"              // C1 CSI as UTF-8
                           "    domains: [{name: old.example}]\n");
    const auto got = messages(result);
    REQUIRE(got.size() == 2);
    for (const auto &m : got)
        for (unsigned char c : m)
            CHECK((c >= 0x20 && c != 0x7F));
    CHECK(got[0].find("\\x1B[2J\\x1B[31mowned\\x07") != std::string::npos);
    CHECK(got[1].find("a\\xC2\\x9B b") != std::string::npos);
    CHECK(escape_control("Entw\xC3\xBC"
                         "rfe \xE2\x82\xAC") == "Entw\xC3\xBC"
                                                "rfe \xE2\x82\xAC");
    CHECK(escape_control("bad\xFF"
                         "byte\r\n") == "bad\\xFFbyte\\x0D\\x0A");
}

TEST_CASE("folder_exclude: any pattern the linear matcher runs, the rest refused by line",
          "[unit]") {
    ConfigDir dir;
    auto ok = dir.load(one_provider + "sync:\n  folder_exclude: '(a*)*b'\n");
    INFO(Catch::Detail::stringify(messages(ok)));
    CHECK(ok.config.has_value()); // valid; matched in linear time (test_folder_pattern.cpp)
    auto refused = dir.load(one_provider + "sync:\n  folder_exclude: '^(?!INBOX)'\n");
    CHECK(messages(refused) ==
          std::vector<std::string>{dir.main() +
                                   ":9: sync.folder_exclude: expected a regular expression "
                                   "(ECMAScript syntax without backreferences, lookaround or "
                                   "\\b); \"^(?!INBOX)\" is refused: lookahead is not "
                                   "supported at offset 2"});
}

TEST_CASE("folder_exclude: a list of patterns and special uses", "[unit]") {
    ConfigDir dir;
    auto list = dir.load(one_provider + "sync:\n"
                                        "  folder_exclude:\n"
                                        "    - '^Spam$'\n"
                                        "    - '\\Junk'\n"
                                        "    - \"\\\\trash\"\n"
                                        "    - '^Old/'\n");
    INFO(Catch::Detail::stringify(messages(list)));
    REQUIRE(list.config.has_value());
    CHECK(list.config->sync.folder_exclude == "(?:^Spam$)|(?:^Old/)");
    CHECK(list.config->sync.folder_exclude_special_use ==
          std::vector<std::string>{"\\Junk", "\\Trash"});
    auto one_use = dir.load(one_provider + "sync:\n  folder_exclude: '\\All'\n");
    REQUIRE(one_use.config.has_value());
    CHECK(one_use.config->sync.folder_exclude.empty());
    CHECK(one_use.config->sync.folder_exclude_special_use == std::vector<std::string>{"\\All"});
    // A bad entry is named by its index and line; nothing of the list is taken.
    auto bad = dir.load(one_provider + "sync:\n"             // 8
                                       "  folder_exclude:\n" // 9
                                       "    - '\\Junk'\n"    // 10
                                       "    - '^(Spam'\n"    // 11
                                       "    - {a: b}\n");    // 12
    const auto got = messages(bad);
    REQUIRE(got.size() == 2);
    CHECK(got[0].rfind(dir.main() + ":11: sync.folder_exclude[1]: expected a regular expression",
                       0) == 0);
    CHECK(got[1] == dir.main() + ":12: sync.folder_exclude[2]: expected a regular expression or "
                                 "a special use such as \\Junk, got a mapping");
}

TEST_CASE("providers[].sync.folder_map: old names or patterns, each with new", "[unit]") {
    ConfigDir dir;
    auto ok = dir.load(one_provider + "    sync:\n"                           // 8
                                      "      folder_map:\n"                   // 9
                                      "        - old: Gesendete Objekte\n"    // 10
                                      "          new: Sent\n"                 // 11
                                      "        - pattern: '^Archiv\\d{4}$'\n" // 12
                                      "          new: Archive\n");            // 13
    INFO(Catch::Detail::stringify(messages(ok)));
    REQUIRE(ok.config.has_value());
    const auto &map = ok.config->providers.at(0).sync.folder_map;
    REQUIRE(map.size() == 2);
    CHECK(map[0].old_name == "Gesendete Objekte");
    CHECK(map[0].new_name == "Sent");
    CHECK(map[1].pattern == "^Archiv\\d{4}$");
    CHECK(map[1].new_name == "Archive");
    auto bad = dir.load(one_provider + "    sync:\n"                  // 8
                                       "      folder_map:\n"          // 9
                                       "        - old: Spam\n"        // 10
                                       "          pattern: Spam\n"    // 11
                                       "          new: Junk\n"        // 12
                                       "        - new: Junk\n"        // 13
                                       "        - old: INBOX\n"       // 14
                                       "          new: Alt\n"         // 15
                                       "        - old: Alt\n"         // 16
                                       "          new: inbox\n"       // 17
                                       "        - pattern: '(?=x)'\n" // 18
                                       "          new: X\n"           // 19
                                       "        - old: Spam\n");      // 20
    const std::string f = dir.main() + ":";
    const std::string key = "providers[0].sync.folder_map";
    CHECK(messages(bad) ==
          std::vector<std::string>{
              f + "10: " + key + "[0]: give `old` or `pattern`, not both",
              f + "13: " + key +
                  "[1]: missing; expected `old` (a folder name) or `pattern` (a "
                  "regular expression over folder names)",
              f + "14: " + key +
                  "[2].old: INBOX always stays INBOX; map its subfolders by their "
                  "own names",
              f + "17: " + key +
                  "[3].new: expected a folder other than INBOX (the engines keep "
                  "INBOX for INBOX)",
              f + "18: " + key +
                  "[4].pattern: expected a regular expression (ECMAScript syntax "
                  "without backreferences, lookaround or \\b); \"(?=x)\" is "
                  "refused: lookahead is not supported at offset 1",
              f + "20: " + key + "[5].new: missing; expected a folder name on the new server"});
}
