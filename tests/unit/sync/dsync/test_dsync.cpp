// The dsync engine's pieces that need no server: its config keys, the doveadm config and
// command line it writes, and how it reads doveadm's output.
#include "config/config.hpp"
#include "sync/dsync/dsync_config.hpp"
#include "sync/dsync/dsync_output.hpp"
#include "sync/dsync/namespace_probe.hpp"

#include "catch_compat.hpp"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace imapmig;

namespace {

namespace fs = std::filesystem;

// imap-migration.yaml in a temp dir, with a key file; line 3 is the first line of body.
class YamlFile {
public:
    YamlFile() {
        std::string tmpl = fs::temp_directory_path() / "imapmig-dsync-XXXXXX";
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir_ = tmpl;
        std::ofstream(dir_ + "/k.key") << std::string(32, 'k');
        REQUIRE(chmod((dir_ + "/k.key").c_str(), 0600) == 0);
    }
    ~YamlFile() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string path() const { return dir_ + "/imap-migration.yaml"; }
    ConfigLoadResult load(const std::string &body) {
        std::ofstream(path()) << "database: \"dbname=mail\"\nsecret_key_file: " << dir_
                              << "/k.key\n"
                              << body;
        return load_config(path());
    }

private:
    std::string dir_;
};

const std::string two_providers = "providers:\n"                // 3
                                  "  - name: first\n"           // 4
                                  "    host: imap.first.test\n" // 5
                                  "    domains:\n"              // 6
                                  "      - name: first.test\n"  // 7
                                  "  - name: second\n"          // 8
                                  "    host: imap.second.test\n"
                                  "    domains:\n"
                                  "      - name: second.test\n";

std::vector<std::string> messages(const ConfigLoadResult &r) {
    std::vector<std::string> out;
    for (const auto &e : r.errors)
        out.push_back(e.to_string());
    return out;
}

Config sample_config() {
    Config c;
    c.dovecot_bin_dir = "/usr/bin";
    c.sync.dovecot_config = "/etc/dovecot/dovecot.conf";
    ProviderConfig p;
    p.name = "oldmail";
    p.host = "imap.old.example";
    p.port = 993;
    p.ca_file = "/etc/ssl/old-ca.pem";
    c.providers.push_back(p);
    return c;
}

} // namespace

TEST_CASE("sync.engine: global default, global setting and per-provider override", "[unit]") {
    YamlFile f;
    SECTION("default: offlineimap everywhere") {
        auto r = f.load(two_providers);
        INFO(Catch::Detail::stringify(messages(r)));
        REQUIRE(r.config);
        CHECK(r.config->sync.engine == SyncEngine::offlineimap);
        CHECK(r.config->engine_for(r.config->providers[0]) == SyncEngine::offlineimap);
    }
    SECTION("global dsync, one provider back on offlineimap") {
        auto r = f.load("sync:\n  engine: dsync\n  dovecot_config: /etc/dovecot/other.conf\n" +
                        two_providers + "    sync:\n      engine: offlineimap\n");
        INFO(Catch::Detail::stringify(messages(r)));
        REQUIRE(r.config);
        CHECK(r.config->sync.dovecot_config == "/etc/dovecot/other.conf");
        CHECK(r.config->engine_for(r.config->providers[0]) == SyncEngine::dsync);
        CHECK(r.config->engine_for(r.config->providers[1]) == SyncEngine::offlineimap);
        CHECK(to_string(SyncEngine::dsync) == "dsync");
        CHECK(to_string(SyncEngine::offlineimap) == "offlineimap");
    }
    SECTION("unknown engine values name the file, line, key and the choices") {
        auto r = f.load("sync:\n  engine: rsync\n" + two_providers +
                        "    sync:\n      engine: imapsync\n      speed: 3\n");
        CHECK_FALSE(r.config);
        CHECK(
            messages(r) ==
            std::vector<std::string>{
                f.path() + ":4: sync.engine: expected one of offlineimap, dsync, got \"rsync\"",
                f.path() + ":15: providers[1].sync.engine: expected one of offlineimap, "
                           "dsync, got \"imapsync\"",
                f.path() +
                    ":16: providers[1].sync.speed: unknown key; expected one of engine, folder_map",
            });
    }
    SECTION("dovecot_config must be absolute") {
        auto r = f.load("sync:\n  dovecot_config: dovecot.conf\n" + two_providers);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].to_string() ==
              f.path() +
                  ":4: sync.dovecot_config: expected an absolute path, got \"dovecot.conf\"");
    }
    SECTION("dsync syncs one way: direction both is refused with it") {
        auto r = f.load("sync:\n  direction: both\n" + two_providers +
                        "    sync:\n      engine: dsync\n");
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].key == "sync.direction");
        CHECK(r.errors[0].message.find("provider second") != std::string::npos);
        CHECK(f.load("sync:\n  direction: both\n" + two_providers).config);
    }
    SECTION("dsync creates every folder: create_folders false is refused with it") {
        auto r = f.load("sync:\n  create_folders: false\n" + two_providers +
                        "    sync:\n      engine: dsync\n");
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].to_string() ==
              f.path() + ":3: sync.create_folders: `false` is not supported by the dsync engine "
                         "(provider second): doveadm creates every folder it syncs; remove the "
                         "setting, or use sync.engine: offlineimap");
        CHECK(f.load("sync:\n  create_folders: false\n" + two_providers).config);
    }
}

TEST_CASE("dovecot_quote keeps '#', '$' and '<' literal and refuses control characters", "[unit]") {
    CHECK(dovecot_quote("B0b-0ld-Secret#").value() == "\"B0b-0ld-Secret#\"");
    CHECK(dovecot_quote("a\"b\\c $x <f").value() == "\"a\\\"b\\\\c $x <f\"");
    CHECK(dovecot_quote("").value() == "\"\"");
    auto bad = dovecot_quote("line\nbreak");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("line") == std::string::npos);
}

TEST_CASE("the per-run doveadm config: server config, imapc account, CA, no header GUIDs",
          "[unit]") {
    Config c = sample_config();
    SecretString pw("pa\"ss#word");
    auto text = render_dsync_config(c, c.providers[0], "bob@old.example", pw);
    REQUIRE(text);
    const std::string t(text.value().reveal());
    CHECK(t.find("!include /etc/dovecot/dovecot.conf\n") != std::string::npos);
    CHECK(t.find("imapc_host = \"imap.old.example\"\n") != std::string::npos);
    CHECK(t.find("imapc_port = 993\n") != std::string::npos);
    CHECK(t.find("imapc_ssl = imaps\n") != std::string::npos);
    CHECK(t.find("imapc_ssl_verify = yes\n") != std::string::npos);
    CHECK(t.find("ssl_client_ca_file = \"/etc/ssl/old-ca.pem\"\n") != std::string::npos);
    CHECK(t.find("imapc_user = \"bob@old.example\"\n") != std::string::npos);
    CHECK(t.find("imapc_password = </dev/fd/4\n") != std::string::npos);
    CHECK(t.find("pa\"ss#word") == std::string::npos); // never in the file
    // GUIDs derived from the headers make two messages with identical headers one.
    CHECK(t.find("guid-forced") == std::string::npos);
    CHECK(t.find("namespace") == std::string::npos);
    CHECK(t.find("imapc_features") == std::string::npos); // 2.3: no modseqs by default

    // Dovecot 2.4: its version first, its certificate setting, imapc's modseqs off.
    const std::string v24(
        render_dsync_config(c, c.providers[0], "bob@old.example", pw, {}, DovecotLine{"2.4.0"})
            .value()
            .reveal());
    CHECK(v24.rfind("dovecot_config_version = 2.4.0\n", 0) == 0);
    CHECK(v24.find("ssl_client_require_valid_cert = yes\n") != std::string::npos);
    CHECK(v24.find("imapc_ssl_verify") == std::string::npos);
    CHECK(v24.find("imapc_features = no-modseq no-metadata\n") != std::string::npos);
    CHECK(v24.find("guid-forced") == std::string::npos);

    c.providers[0].security = TlsMode::starttls;
    c.providers[0].verify_certificate = false;
    c.providers[0].ca_file.clear();
    const std::string s(render_dsync_config(c, c.providers[0], "bob", pw).value().reveal());
    CHECK(s.find("imapc_ssl = starttls\n") != std::string::npos);
    CHECK(s.find("imapc_ssl_verify = no\n") != std::string::npos);
    CHECK(s.find("ssl_client_ca_file = \"/etc/ssl/certs/ca-certificates.crt\"\n") !=
          std::string::npos);
    c.providers[0].security = TlsMode::none;
    CHECK(std::string(render_dsync_config(c, c.providers[0], "bob", pw).value().reveal())
              .find("imapc_ssl = no\n") != std::string::npos);

    auto bad = render_dsync_config(c, c.providers[0], "bob", SecretString("a\rb"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("a\rb") == std::string::npos);
}

TEST_CASE("keep_pop3_uidls: pop3_migration with a pop3c namespace, its password from its own "
          "pipe",
          "[unit]") {
    Config c = sample_config();
    c.providers[0].pop3_port = 995;
    c.providers[0].keep_pop3_uidls = true;
    SecretString pw("pa\"ss#word");
    const std::string t(
        render_dsync_config(c, c.providers[0], "bob@old.example", pw).value().reveal());
    CHECK(t.find("mail_plugins = $mail_plugins pop3_migration\n") != std::string::npos);
    CHECK(t.find("namespace imapmig_pop3 {\n  prefix = IMAPMIG-POP3/\n  separator = /\n"
                 "  location = pop3c:\n  inbox = no\n  list = no\n  hidden = yes\n}\n") !=
          std::string::npos);
    CHECK(t.find("plugin {\n  pop3_migration_mailbox = IMAPMIG-POP3/INBOX\n}\n") !=
          std::string::npos);
    CHECK(t.find("pop3c_host = \"imap.old.example\"\n") != std::string::npos);
    CHECK(t.find("pop3c_port = 995\n") != std::string::npos);
    CHECK(t.find("pop3c_ssl = pop3s\n") != std::string::npos);
    CHECK(t.find("pop3c_ssl_verify = yes\n") != std::string::npos);
    CHECK(t.find("pop3c_user = \"bob@old.example\"\n") != std::string::npos);
    // A pipe is read once: the POP3 password has a pipe of its own.
    CHECK(t.find("imapc_password = </dev/fd/4\n") != std::string::npos);
    CHECK(t.find("pop3c_password = </dev/fd/5\n") != std::string::npos);
    CHECK(t.find("pa\"ss#word") == std::string::npos);
    // Dovecot's default stays: an unmatched message fails the run instead of leaving mail out.
    CHECK(t.find("ignore_missing_uidls") == std::string::npos);
    CHECK(t.find("ignore_extra_uidls") == std::string::npos);

    const std::string v24(
        render_dsync_config(c, c.providers[0], "bob@old.example", pw, {}, DovecotLine{"2.4.0"})
            .value()
            .reveal());
    CHECK(v24.find("mail_plugins {\n  pop3_migration = yes\n}\n") != std::string::npos);
    CHECK(v24.find("  mail_driver = pop3c\n  mail_path = \n") != std::string::npos);
    CHECK(v24.find("\npop3_migration_mailbox = IMAPMIG-POP3/INBOX\n") != std::string::npos);
    CHECK(v24.find("plugin {") == std::string::npos);
    CHECK(v24.find("pop3c_password = </dev/fd/5\n") != std::string::npos);

    c.providers[0].security = TlsMode::starttls;
    c.providers[0].verify_certificate = false;
    const std::string s(render_dsync_config(c, c.providers[0], "bob", pw).value().reveal());
    CHECK(s.find("pop3c_ssl = starttls\n") != std::string::npos);
    CHECK(s.find("pop3c_ssl_verify = no\n") != std::string::npos);
    c.providers[0].security = TlsMode::none;
    CHECK(std::string(render_dsync_config(c, c.providers[0], "bob", pw).value().reveal())
              .find("pop3c_ssl = no\n") != std::string::npos);

    // Every doveadm that reads the run config gets both pipes; without POP3, only the first.
    ProgramSpec with_pop3;
    add_dsync_passwords(with_pop3, c.providers[0], pw);
    REQUIRE(with_pop3.inputs.size() == 2);
    CHECK(with_pop3.inputs[0].as == dsync_password_fd);
    CHECK(with_pop3.inputs[1].as == dsync_pop3_password_fd);
    CHECK(with_pop3.inputs[1].content.reveal() == pw.reveal());
    REQUIRE(with_pop3.secrets.size() == 1);
    CHECK(with_pop3.secrets[0] == pw.reveal());
    c.providers[0].keep_pop3_uidls = false;
    ProgramSpec without;
    add_dsync_passwords(without, c.providers[0], pw);
    REQUIRE(without.inputs.size() == 1);
    CHECK(without.inputs[0].as == dsync_password_fd);
    CHECK(std::string(render_dsync_config(c, c.providers[0], "bob", pw).value().reveal())
              .find("pop3") == std::string::npos);
}

TEST_CASE("keep_pop3_uidls: off by default, and only with the dsync engine", "[unit]") {
    YamlFile yaml;
    auto plain = yaml.load(two_providers);
    REQUIRE(plain.config.has_value());
    CHECK_FALSE(plain.config->providers[0].keep_pop3_uidls);

    auto offlineimap = yaml.load(two_providers + "    keep_pop3_uidls: true\n");
    CHECK_FALSE(offlineimap.config.has_value());
    const auto errors = messages(offlineimap);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find(":12: providers[1].keep_pop3_uidls: ") != std::string::npos);
    CHECK(errors[0].find("dsync") != std::string::npos);

    auto dsync = yaml.load(two_providers + "    keep_pop3_uidls: true\n    sync:\n"
                                           "      engine: dsync\n");
    INFO(Catch::Detail::stringify(messages(dsync)));
    REQUIRE(dsync.config.has_value());
    CHECK(dsync.config->providers[1].keep_pop3_uidls);
    CHECK_FALSE(dsync.config->providers[0].keep_pop3_uidls);

    auto global =
        yaml.load("sync:\n  engine: dsync\n" + two_providers + "    keep_pop3_uidls: yes\n");
    INFO(Catch::Detail::stringify(messages(global)));
    CHECK(global.config.has_value());
}

TEST_CASE("the doveadm command line: one-way pull, state, exclusions, no secret", "[unit]") {
    Config c = sample_config();
    auto argv = dsync_arguments(c, "/run/imap-migrator/m1/doveadm.conf", "bob@new.example",
                                "AQAAAHm4+Jk=", {"Junk", "Trash/Old"});
    CHECK(argv == std::vector<std::string>{"/usr/bin/doveadm", "-c",
                                           "/run/imap-migrator/m1/doveadm.conf", "sync", "-1", "-R",
                                           "-s", "AQAAAHm4+Jk=", "-u", "bob@new.example", "-x",
                                           "Junk", "-x", "Trash/Old", "imapc:"});
    CHECK(dsync_arguments(c, "/r", "u", "", {})[7] == "");
    // The folders-only pass: no mail received before 2038.
    auto pass = dsync_arguments(c, "/r", "u", "", {"Junk"}, true);
    CHECK(std::vector<std::string>(pass.begin() + 10, pass.end()) ==
          std::vector<std::string>{"-t", "2147483647", "-x", "Junk", "imapc:"});
}

TEST_CASE("namespaces without a separator get the new server's own one in the run config",
          "[unit]") {
    const std::string doveconf = "namespace inbox {\n"
                                 "  disabled = no\n"
                                 "  inbox = yes\n"
                                 "  mailbox Sent {\n"
                                 "    separator = \n" // not the namespace's
                                 "    special_use = \\Sent\n"
                                 "  }\n"
                                 "  prefix = \n"
                                 "  separator = \n"
                                 "}\n"
                                 "namespace shared {\n"
                                 "  prefix = shared/%u/\n"
                                 "  separator = /\n"
                                 "}\n";
    CHECK(namespaces_without_separator(doveconf) == std::vector<std::string>{"inbox"});
    CHECK(namespaces_without_separator("namespace inbox {\n  separator = .\n}\n").empty());

    CHECK(list_separator("* PREAUTH ok\r\n* LIST (\\Noselect) \".\" \"\"\r\na OK\r\n") == '.');
    CHECK(list_separator("* LIST (\\Noselect) \"/\" \"\"\r\n") == '/');
    CHECK(list_separator("* LIST (\\Noselect) \"\\\\\" \"\"\r\n") == '\\');
    CHECK_FALSE(list_separator("* LIST (\\Noselect) NIL \"\"\r\n"));
    CHECK_FALSE(list_separator("a NO failed\r\n"));

    Config c = sample_config();
    SecretString pw("secret");
    NamespaceSettings ns{'.', {"inbox", "other_ns"}, "", {}};
    const std::string t(render_dsync_config(c, c.providers[0], "bob", pw, ns).value().reveal());
    CHECK(t.find("namespace inbox {\n  separator = \".\"\n}\n") != std::string::npos);
    CHECK(t.find("namespace other_ns {\n  separator = \".\"\n}\n") != std::string::npos);
    CHECK(t.find("imapc_list_prefix") == std::string::npos);
    ns.old_list_prefix = "INBOX";
    CHECK(std::string(render_dsync_config(c, c.providers[0], "bob", pw, ns).value().reveal())
              .find("imapc_list_prefix = \"INBOX\"\n") != std::string::npos);
    ns.names = {"bad name"};
    auto bad = render_dsync_config(c, c.providers[0], "bob", pw, ns);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("set its separator explicitly") != std::string::npos);
}

TEST_CASE("folder_exclude and folder_include become doveadm -x exclusions", "[unit]") {
    SyncConfig s;
    const std::vector<std::string> folders = {"INBOX", "Junk", "Archive", "Archive/2023", "Spam"};
    CHECK(excluded_folders(s, folders).empty());
    s.folder_exclude = "^(Junk|Spam)$";
    CHECK(excluded_folders(s, folders) == std::vector<std::string>{"Junk", "Spam"});
    s.folder_exclude.clear();
    s.folder_include = {"INBOX", "Archive"};
    CHECK(excluded_folders(s, folders) == std::vector<std::string>{"Junk", "Archive/2023", "Spam"});
}

TEST_CASE("doveadm's error lines: a rejected old login, temporary failures, noise", "[unit]") {
    SECTION("AUTHENTICATIONFAILED then the lib-event abort (exit 134)") {
        DsyncLog log;
        for (const char *line : {
                 "dsync(bob@other.example): Info: imapc(127.0.0.1:21143): Connected to "
                 "127.0.0.1:21143 (local 127.0.0.1:52446)",
                 "dsync(bob@other.example): Error: imapc(127.0.0.1:21143): Authentication "
                 "failed: [AUTHENTICATIONFAILED] Authentication failed.",
                 "dsync(bob@other.example): Error: Failed to initialize user: imapc: Login to "
                 "127.0.0.1 failed: Authentication failed: [AUTHENTICATIONFAILED] "
                 "Authentication failed.",
                 "dsync(bob@other.example): Panic: file lib-event.c: line 506 "
                 "(event_pop_global): assertion failed: (event == current_global_event)",
                 "dsync(bob@other.example): Error: Raw backtrace: #0 t_askpass[0x7ff06c121430]",
             })
            log.feed(line);
        CHECK(log.old_login_rejected());
        REQUIRE(log.errors().size() == 2);
        CHECK(log.errors()[0] == "imapc(127.0.0.1:21143): Authentication failed: "
                                 "[AUTHENTICATIONFAILED] Authentication failed.");
        CHECK(log.describe_failure(134 << 8).find("AUTHENTICATIONFAILED") != std::string::npos);
    }
    SECTION("a temporary refusal is not a rejection") {
        DsyncLog log;
        log.feed("dsync(u): Error: imapc(h:1): Authentication failed: [UNAVAILABLE] Try later");
        CHECK_FALSE(log.old_login_rejected());
        CHECK(log.errors().size() == 1);
    }
    SECTION("a refused connection is an error, not a rejection") {
        DsyncLog log;
        log.feed("dsync(u): Error: imapc(127.0.0.1:1): connect(127.0.0.1:1) failed: Connection "
                 "refused");
        CHECK_FALSE(log.old_login_rejected());
        CHECK(log.describe_failure(75 << 8).find("Connection refused") != std::string::npos);
    }
    SECTION("the stats socket of a non-root run is noise; no errors: the exit status") {
        DsyncLog log;
        log.feed("Error: net_connect_unix(/run/dovecot/stats-writer) failed: Permission denied");
        log.feed("dsync(u): Warning: Killed with signal 15");
        CHECK(log.errors().empty());
        CHECK(log.describe_failure(75 << 8) == "doveadm sync exited with status 75");
    }
}

TEST_CASE("doveadm mailbox status and list output", "[unit]") {
    auto folders = parse_mailbox_status("Sent Items messages=5 vsize=1200\n"
                                        "INBOX messages=20 vsize=40000\n"
                                        "garbage line\n"
                                        "Archive/2023 messages=0 vsize=0\n");
    REQUIRE(folders.size() == 3);
    CHECK(folders[0].name == "Sent Items");
    CHECK(folders[0].messages == 5);
    CHECK(folders[0].vsize == 1200);
    CHECK(folders[1].name == "INBOX");
    CHECK(folders[2].messages == 0);
    CHECK(parse_mailbox_status("").empty());
    CHECK(parse_mailbox_list("INBOX\nSent Items\n\nArchive/2023\n") ==
          std::vector<std::string>{"INBOX", "Sent Items", "Archive/2023"});
    CHECK(parse_mailbox_uidvalidity("INBOX uidvalidity=1796547803\n"
                                    "Sent Items uidvalidity=17\n"
                                    "Junk uidvalidity=0\n"
                                    "Trash uidvalidity=x\n"
                                    "uidvalidity=5\n") ==
          std::map<std::string, uint32_t>{{"INBOX", 1796547803}, {"Sent Items", 17}});
}
