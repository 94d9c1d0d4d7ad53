// imap-migrator postfix-maps: every map file queried with Postfix's own `postmap -q` against a
// database filled through our schema (by `import`).
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include "catch_compat.hpp"

#include <algorithm>
#include <sys/stat.h>

using namespace testsupport;

namespace {

const std::string hash = "{SHA512-CRYPT}$6$0123456789abcdef$abcdefghijklmnopqrstuvwxyz";

struct MapsDb {
    TempDir dir{"imapmig-pfm"};
    PgCluster pg;
    std::string db = pg.create_database("mail");
    std::string cfg = dir.file("imap-migration.yaml");
    std::string maps = dir.file("maps");
    std::string postfix_conf = dir.file("postfix");
    std::string target; // the database the config names

    explicit MapsDb(const std::string &conninfo = "") : target(conninfo.empty() ? db : conninfo) {
        const std::string key = dir.file("k.key");
        run_checked({migrator_path(), "key", "generate", key});
        write_file(cfg, "database: \"" + target + "\"\nsecret_key_file: " + key +
                            "\nproviders:\n  - name: old\n    host: imap.old.example\n"
                            "    domains:\n      - name: old.example\n");
        run_checked({migrator_path(), "-c", cfg, "db", "upgrade"});
        make_dir(postfix_conf);
        write_file(postfix_conf + "/main.cf", ""); // postmap wants a config directory
    }

    RunResult migrator(std::vector<std::string> args) {
        args.insert(args.begin(), {migrator_path(), "-c", cfg});
        return run(args);
    }

    // Through `import`, plus what only postfixadmin produces: an alias that keeps a copy in
    // its own mailbox (postfixadmin's "forward and keep a copy").
    void import(const std::string &csv) {
        write_file(dir.file("in.csv"), csv);
        auto r = migrator({"import", dir.file("in.csv")});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        pg_query(target, "INSERT INTO alias_recipients (alias_id, recipient) SELECT id, address "
                         "FROM aliases WHERE address = 'bob@a.example'");
    }

    // postmap -q KEY: the value with comma-separated parts sorted; "-" when not found.
    std::string query(const std::string &map, const std::string &key) {
        auto r = run({"postmap", "-c", postfix_conf, "-q", key, "pgsql:" + maps + "/" + map});
        INFO(map << " " << key << ": " << r.err);
        REQUIRE((r.exit_code == 0 || r.exit_code == 1)); // 1: not found
        REQUIRE(r.err.empty());
        if (r.exit_code == 1)
            return "-";
        std::string value = r.out.substr(0, r.out.find('\n'));
        std::vector<std::string> parts;
        for (size_t start = 0; start <= value.size();) {
            const size_t comma = std::min(value.find(',', start), value.size());
            parts.push_back(value.substr(start, comma - start));
            start = comma + 1;
        }
        std::sort(parts.begin(), parts.end());
        std::string out;
        for (const auto &p : parts)
            out += (out.empty() ? "" : ",") + p;
        return out;
    }
};

const std::string fixture_csv =
    "domain; a.example; 0; 0; y\n"
    "domain; off.example; 0; 0; n\n"
    "domainalias; alias.example; a.example; y\n"
    "domainalias; offalias.example; a.example; n\n"
    "relaydomain; relay.example; mx.relay.example; 2525; smtp; y; n\n"
    "relaydomain; offrelay.example; mx.relay.example; 25; relay; n; n\n"
    "account; ann@a.example; " +
    hash +
    "; Ann; ; y; SimpleUsers; ann@a.example\n"
    "account; bob@a.example; " +
    hash +
    "; Bob; ; y; SimpleUsers; bob@a.example\n"
    "account; dis@a.example; " +
    hash +
    "; Dis; ; n; SimpleUsers; dis@a.example\n"
    "account; olga@off.example; " +
    hash +
    "; Olga; ; y; SimpleUsers; olga@off.example\n"
    "alias; info@a.example; y; ann@a.example; bob@a.example; ext@else.example\n"
    "alias; bob@a.example; y; ann@a.example\n"
    "alias; old@a.example; n; ann@a.example\n"
    "alias; @a.example; y; info@a.example\n"
    "alias; team@off.example; y; ann@a.example\n";

void check_maps(MapsDb &t) {
    const auto q = [&](const std::string &map, const std::string &key) {
        return t.query(map + ".cf", key);
    };
    CHECK(q("virtual-mailbox-domains", "a.example") == "a.example");
    CHECK(q("virtual-mailbox-domains", "off.example") == "-");
    CHECK(q("virtual-mailbox-domains", "alias.example") == "-");
    CHECK(q("virtual-mailbox-domains", "none.example") == "-");

    CHECK(q("virtual-mailbox-maps", "ann@a.example") == "OK");
    CHECK(q("virtual-mailbox-maps", "dis@a.example") == "-");
    CHECK(q("virtual-mailbox-maps", "olga@off.example") == "-");
    CHECK(q("virtual-mailbox-maps", "info@a.example") == "-");

    CHECK(q("virtual-alias-domains", "alias.example") == "alias.example");
    CHECK(q("virtual-alias-domains", "offalias.example") == "-");
    CHECK(q("virtual-alias-domains", "a.example") == "-");

    CHECK(q("virtual-alias-maps", "info@a.example") ==
          "ann@a.example,bob@a.example,ext@else.example");
    CHECK(q("virtual-alias-maps", "bob@a.example") == "ann@a.example,bob@a.example");
    CHECK(q("virtual-alias-maps", "ann@a.example") ==
          "ann@a.example");                                           // not eaten by the catch-all
    CHECK(q("virtual-alias-maps", "@a.example") == "info@a.example"); // the catch-all
    CHECK(q("virtual-alias-maps", "nobody@a.example") == "-"); // Postfix then asks @a.example
    CHECK(q("virtual-alias-maps", "old@a.example") == "-");    // disabled alias
    CHECK(q("virtual-alias-maps", "dis@a.example") == "-");    // disabled account
    CHECK(q("virtual-alias-maps", "team@off.example") == "-"); // disabled domain
    CHECK(q("virtual-alias-maps", "olga@off.example") == "-");
    CHECK(q("virtual-alias-maps", "ann@alias.example") == "ann@a.example");
    CHECK(q("virtual-alias-maps", "info@alias.example") == "info@a.example");
    CHECK(q("virtual-alias-maps", "nobody@alias.example") == "-");
    CHECK(q("virtual-alias-maps", "@alias.example") == "info@a.example"); // target's catch-all
    CHECK(q("virtual-alias-maps", "ann@offalias.example") == "-");
    CHECK(q("virtual-alias-maps", "@offalias.example") == "-");

    CHECK(q("relay-domains", "relay.example") == "relay.example");
    CHECK(q("relay-domains", "offrelay.example") == "-");
    CHECK(q("relay-domains", "a.example") == "-");
    CHECK(q("transport-maps", "relay.example") == "smtp:[mx.relay.example]:2525");
    CHECK(q("transport-maps", "offrelay.example") == "-");
    CHECK(q("transport-maps", "ann@relay.example") == "-");

    CHECK(q("sender-login-maps", "ann@a.example") == "ann@a.example");
    CHECK(q("sender-login-maps", "info@a.example") == "ann@a.example,bob@a.example");
    CHECK(q("sender-login-maps", "ann@alias.example") == "ann@a.example");
    CHECK(q("sender-login-maps", "@a.example") == "-"); // a catch-all is nobody's sender address
    CHECK(q("sender-login-maps", "old@a.example") == "-");
    CHECK(q("sender-login-maps", "dis@a.example") == "-");
    CHECK(q("sender-login-maps", "nobody@a.example") == "-");
}

void require_postmap() {
    struct stat st {};
    INFO("Postfix is not installed: run scripts/install-deps.sh (postfix postfix-pgsql)");
    REQUIRE(::stat("/usr/sbin/postmap", &st) == 0);
    REQUIRE(::stat("/usr/lib/postfix/postfix-pgsql.so", &st) == 0);
}

} // namespace

TEST_CASE("postfix-maps: every map answers through postmap (socket, non-default port)",
          "[integration][postfix]") {
    require_postmap();
    MapsDb t;
    t.import(fixture_csv);
    auto r = t.migrator({"postfix-maps", "--dbtype", "postgres", t.maps});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("virtual_alias_maps = pgsql:" + t.maps + "/virtual-alias-maps.cf\n") !=
          std::string::npos);
    CHECK(r.out.find("smtpd_sender_login_maps = pgsql:" + t.maps + "/sender-login-maps.cf\n") !=
          std::string::npos);
    struct stat st {};
    REQUIRE(::stat((t.maps + "/virtual-alias-maps.cf").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(read_file(t.maps + "/virtual-mailbox-domains.cf").find("hosts = postgresql://") !=
          std::string::npos);
    check_maps(t);

    // MX here and `cutover: proxy`: mail for a user still proxied waits in Postfix's queue
    // (retry) until the first complete sync, then goes to Dovecot; a migration that needs an
    // admin (failed, stopped, ...) has its mail delivered here rather than bounced in the end.
    const auto migrating = [&](const std::string &state, bool proxied, bool first_synced) {
        pg_query(t.db, "DELETE FROM migrations");
        pg_query(t.db, "INSERT INTO migrations (account_id, provider, old_login, state, "
                       "proxy_until_synced, first_synced_at) SELECT id, 'old', address, '" +
                           state + "', " + (proxied ? "true" : "false") + ", " +
                           (first_synced ? "now()" : "NULL") +
                           " FROM accounts WHERE address = 'ann@a.example'");
        return t.query("transport-maps.cf", "ann@a.example");
    };
    const std::string deferred = "retry:4.2.0 mailbox being migrated";
    for (const char *state : {"pending", "syncing", "incomplete"}) {
        INFO(state);
        CHECK(migrating(state, true, false).rfind(deferred, 0) == 0);
        CHECK(migrating(state, true, true) == "-");
        CHECK(migrating(state, false, false) == "-"); // cutover: immediate
    }
    for (const char *state : {"failed", "stopped", "credentials_rejected", "finished"}) {
        INFO(state);
        CHECK(migrating(state, true, false) == "-");
    }
    CHECK(t.query("transport-maps.cf", "bob@a.example") == "-");
    CHECK(t.query("transport-maps.cf", "relay.example") == "smtp:[mx.relay.example]:2525");
}

TEST_CASE("postfix-maps: a TCP conninfo with a password", "[integration][postfix]") {
    require_postmap();
    PgCluster pg;
    pg.create_database("mail");
    MapsDb t(pg.tcp_conninfo("mail") + " password=Map-Db-Secret");
    t.import(fixture_csv);
    auto r = t.migrator({"postfix-maps", t.maps});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK((r.out + r.err).find("Map-Db-Secret") == std::string::npos);
    const std::string file = read_file(t.maps + "/transport-maps.cf");
    CHECK(file.find("hosts = inet:127.0.0.1:" + std::to_string(pg.port()) + "\n") !=
          std::string::npos);
    CHECK(file.find("password = Map-Db-Secret\n") != std::string::npos);
    CHECK(t.query("transport-maps.cf", "relay.example") == "smtp:[mx.relay.example]:2525");
    CHECK(t.query("virtual-alias-maps.cf", "@alias.example") == "info@a.example");
    CHECK(t.migrator({"postfix-maps", "--dbtype", "mysql", t.maps}).exit_code == 2);
    CHECK(t.migrator({"postfix-maps"}).exit_code == 2);
}
