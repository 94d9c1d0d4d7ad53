// imap-migrator import, migrations create --from-csv and dovecot-sql-conf, as an admin runs them.
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include "crypto/passwords.hpp"
#include "crypto/secrets.hpp"
#include "db/migrations_table.hpp"

#include "catch_compat.hpp"

using namespace testsupport;

namespace {

const std::string sha_hash = "{SHA512-CRYPT}$6$0123456789abcdef$abcdefghijklmnopqrstuvwxyz";

// A database with our schema and a config naming it, its key and one provider.
struct ImportDb {
    TempDir dir{"imapmig-imp"};
    PgCluster pg;
    std::string db = pg.create_database("mail");
    std::string key = dir.file("k.key");
    std::string cfg = dir.file("imap-migration.yaml");

    ImportDb() {
        run_checked({migrator_path(), "key", "generate", key});
        write_file(cfg, "database: \"" + db + "\"\nsecret_key_file: " + key +
                            "\naccounts:\n  password_scheme: SHA512-CRYPT\n"
                            "providers:\n  - name: oldmail\n    host: imap.old.example\n"
                            "    domains:\n      - name: old.example\n"
                            "        local_domain: new.example\n"
                            "      - name: legacy.example\n        local_domain: new.example\n"
                            "  - name: othermail\n    host: imap.other.example\n"
                            "    domains:\n      - name: other.example\n");
        run_checked({migrator_path(), "-c", cfg, "db", "upgrade"});
    }

    std::string csv(const std::string &name, const std::string &content) {
        write_file(dir.file(name), content);
        return dir.file(name);
    }

    RunResult migrator(std::vector<std::string> args) {
        args.insert(args.begin(), {migrator_path(), "-c", cfg});
        return run(args);
    }

    std::string sql(const std::string &q) { return pg_scalar(db, q); }

    // Every row of every table the commands write, for "nothing changed" checks.
    std::string dump() {
        std::string out;
        for (const char *t :
             {"domains", "domain_aliases", "relay_domains", "accounts", "administered_domains",
              "aliases", "alias_recipients", "migrations", "migration_events"})
            out += std::string(t) + ":\n" +
                   sql(std::string("SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY "
                                   "x::text), '') FROM ") +
                       t + " x") +
                   "\n";
        return out;
    }
};

const std::string good_csv = "# a Modoboa-style export\n"
                             "domain; new.example; 1000; 100; true\n"
                             "domain; Second.Example; 0; 0; yes\n"
                             "\n"
                             "domainalias; alias.example; new.example; y\n"
                             "relaydomain; relay.example; mx.relay.example; 2525; smtp; 1; no\n"
                             "account; ann@new.example; " +
                             sha_hash +
                             "; \"Ann; Marie\"; M\xC3\xBCller; y; SimpleUsers; ann@new.example\n"
                             "account; bob@new.example; " +
                             sha_hash +
                             "; Bob; ; n; SimpleUsers; bob@new.example; 250\n"
                             "account; boss; " +
                             sha_hash +
                             "; The; Boss; y; DomainAdmins; ; ; new.example; second.example\n"
                             "alias; info@new.example; y; ann@new.example; bob@new.example\n"
                             "alias; @second.example; y; info@new.example\n";

} // namespace

TEST_CASE("import: a good file creates every object, with a summary", "[integration][import]") {
    ImportDb t;
    auto r = t.migrator({"import", t.csv("good.csv", good_csv)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == t.dir.file("good.csv") + ": 9 line(s) imported\n"
                                            "summary:\n"
                                            "  domains         created 2, skipped 0\n"
                                            "  domain aliases  created 1, skipped 0\n"
                                            "  relay domains   created 1, skipped 0\n"
                                            "  accounts        created 3, skipped 0\n"
                                            "  aliases         created 2, skipped 0, merged 0\n");
    CHECK(t.sql("SELECT string_agg(name || ' ' || quota_mb || ' ' || default_mailbox_quota_mb || "
                "' ' || enabled, ',' ORDER BY name) FROM domains") ==
          "new.example 1000 100 true,second.example 0 0 true");
    CHECK(t.sql("SELECT d.name FROM domain_aliases a JOIN domains d ON d.id = a.target_domain_id "
                "WHERE a.name = 'alias.example'") == "new.example");
    CHECK(t.sql("SELECT target_host || ':' || target_port || ' ' || service || ' ' || enabled || "
                "' ' || verify_recipients FROM relay_domains") ==
          "mx.relay.example:2525 smtp true false");
    CHECK(t.sql("SELECT string_agg(username || '|' || coalesce(address, '-') || '|' || "
                "first_name || '|' || last_name || '|' || enabled || '|' || role || '|' || "
                "quota_mb || '|' || password, E'\\n' ORDER BY username) FROM accounts") ==
          "ann@new.example|ann@new.example|Ann; Marie|M\xC3\xBCller|true|SimpleUsers|100|" +
              sha_hash + "\n" + "bob@new.example|bob@new.example|Bob||false|SimpleUsers|250|" +
              sha_hash + "\n" + "boss|-|The|Boss|true|DomainAdmins|0|" + sha_hash);
    CHECK(t.sql("SELECT string_agg(d.name, ',' ORDER BY d.name) FROM administered_domains ad "
                "JOIN domains d ON d.id = ad.domain_id") == "new.example,second.example");
    CHECK(t.sql("SELECT string_agg(a.address || '>' || r.recipient, ',' ORDER BY a.address, "
                "r.recipient) FROM aliases a JOIN alias_recipients r ON r.alias_id = a.id") ==
          "@second.example>info@new.example,info@new.example>ann@new.example,"
          "info@new.example>bob@new.example");
}

TEST_CASE("import: a bad line names file, line and field, and nothing is written",
          "[integration][import]") {
    ImportDb t;
    REQUIRE(
        t.migrator({"import", t.csv("base.csv", "domain; base.example; 0; 0; y\n")}).exit_code ==
        0);
    const std::string before = t.dump();
    struct Case {
        std::string content;
        std::string message;
    };
    const std::string ok_lines = "domain; new.example; 0; 0; y\n# c\n\n"
                                 "account; ann@new.example; " +
                                 sha_hash + "; ; ; y; SimpleUsers; ann@new.example\n";
    const std::vector<Case> cases = {
        {ok_lines + "domain; new2.example; 10; 20; y\n",
         ":5: field default mailbox quota: may not exceed the domain quota (10 MB)"},
        {ok_lines + "account; bob@new.example; Clear-Text-Pw1; ; ; y; SimpleUsers; "
                    "bob@new.example\n",
         ":5: field password: expected {SCHEME}hash (for clear-text passwords use "
         "--crypt-passwords)"},
        {ok_lines + "account; bob@nowhere.example; " + sha_hash +
             "; ; ; y; SimpleUsers; bob@nowhere.example\n",
         ":5: field address: domain nowhere.example does not exist (create it in the database "
         "or earlier in the file)"},
        {ok_lines + "\n\naccount; x@new.example; " + sha_hash + "; ; ; y; Admins; x@new.example\n",
         ":7: field group: expected SuperAdmins, DomainAdmins, Resellers or SimpleUsers"},
        {ok_lines + "alias; a@new.example; y; ann@new.example; \"b@x.example\n",
         ":5: field recipient: quoted field has no closing double quote"},
        {ok_lines + "account; c@new.example; " + sha_hash +
             "; Ren\xE9; ; y; SimpleUsers; "
             "c@new.example\n",
         ":5: field first name: not valid UTF-8 (the file must be UTF-8 encoded)"},
        {ok_lines + "domain; base.example; 0; 0; y\n",
         ":5: field name: domain base.example already exists in the database "
         "(--continue-if-exists skips existing objects)"},
        {ok_lines + "account; boss; " + sha_hash + "; ; ; y; DomainAdmins; ; ; gone.example\n",
         ":5: field domain: domain gone.example does not exist (create it in the database or "
         "earlier in the file)"},
    };
    int n = 0;
    for (const auto &c : cases) {
        const std::string file = t.csv("bad" + std::to_string(++n) + ".csv", c.content);
        auto r = t.migrator({"import", file});
        INFO(c.content);
        CHECK(r.exit_code == 1);
        CHECK(r.err == file + c.message + "\n" + file +
                           ": nothing of this file was written\n"
                           "imap-migrator: import stopped at " +
                           file + "\n");
        CHECK(r.err.find("Clear-Text-Pw1") == std::string::npos);
        CHECK(t.dump() == before);
    }
}

TEST_CASE("import: files are separate transactions; later files stop after a failed one",
          "[integration][import]") {
    ImportDb t;
    const auto a = t.csv("a.csv", "domain; a.example; 0; 0; y\n");
    const auto b = t.csv("b.csv", "domain; b.example; 0; 0; y\ndomain; bad_name; 0; 0; y\n");
    const auto c = t.csv("c.csv", "domain; c.example; 0; 0; y\n");
    auto r = t.migrator({"import", a, b, c});
    CHECK(r.exit_code == 1);
    CHECK(t.sql("SELECT string_agg(name, ',') FROM domains") == "a.example");
    CHECK(r.err.find(b + ":2: field name: expected a domain name") != std::string::npos);
    CHECK(r.out.find("  domains         created 1, skipped 0\n") != std::string::npos);
}

TEST_CASE("import: --continue-if-exists skips existing objects and merges aliases",
          "[integration][import]") {
    ImportDb t;
    REQUIRE(t.migrator({"import", t.csv("good.csv", good_csv)}).exit_code == 0);
    auto again = t.migrator({"import", t.dir.file("good.csv")});
    CHECK(again.exit_code == 1);
    CHECK(again.err.rfind(t.dir.file("good.csv") +
                              ":2: field name: domain new.example already exists in the database "
                              "(--continue-if-exists skips existing objects)\n",
                          0) == 0);

    const auto more = t.csv("more.csv", good_csv + "domain; third.example; 0; 0; y\n"
                                                   "alias; info@new.example; y; ann@new.example; "
                                                   "ext@elsewhere.example\n");
    auto r = t.migrator({"import", "--continue-if-exists", more});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == more + ": 11 line(s) imported\n"
                          "summary:\n"
                          "  domains         created 1, skipped 2\n"
                          "  domain aliases  created 0, skipped 1\n"
                          "  relay domains   created 0, skipped 1\n"
                          "  accounts        created 0, skipped 3\n"
                          "  aliases         created 0, skipped 2, merged 1\n");
    CHECK(t.sql("SELECT string_agg(r.recipient, ',' ORDER BY r.recipient) FROM aliases a JOIN "
                "alias_recipients r ON r.alias_id = a.id WHERE a.address = 'info@new.example'") ==
          "ann@new.example,bob@new.example,ext@elsewhere.example");
    CHECK(t.sql("SELECT count(*) FROM domains") == "3");
}

TEST_CASE("import: --dry-run lists every error and writes nothing", "[integration][import]") {
    ImportDb t;
    const std::string before = t.dump();
    const auto f =
        t.csv("dry.csv", "domain; a.example; 0; 0; y\n"
                         "domain; b..example; 0; 0; y\n"
                         "account; u@a.example; nohash; ; ; y; SimpleUsers; u@a.example\n"
                         "\n"
                         "alias; x@b.example; y; u@a.example\n"
                         "relaydomain; r.example; mx.r.example; 99999; relay; y; n\n");
    auto r = t.migrator({"import", "--dry-run", f});
    CHECK(r.exit_code == 1);
    CHECK(r.err == f +
                       ":2: field name: expected a domain name (letters, digits, hyphens, at "
                       "least one dot; IDNs in xn-- form)\n" +
                       f +
                       ":3: field password: expected {SCHEME}hash (for clear-text passwords "
                       "use --crypt-passwords)\n" +
                       f +
                       ":5: field address: domain b.example does not exist (create it in "
                       "the database or earlier in the file)\n" +
                       f + ":6: field target port: expected a port number from 1 to 65535\n" + f +
                       ": 4 error(s)\n");
    CHECK(t.dump() == before);

    auto good = t.migrator({"import", "--dry-run", t.csv("good.csv", good_csv)});
    CHECK(good.exit_code == 0);
    CHECK(good.out.find("9 line(s) checked, nothing written (dry run)") != std::string::npos);
    CHECK(good.out.find("summary (dry run: what the import would do):\n"
                        "  domains         created 2, skipped 0\n") != std::string::npos);
    CHECK(t.dump() == before);
}

TEST_CASE("import: --crypt-passwords and --sepchar", "[integration][import]") {
    ImportDb t;
    const std::string pw = "Cl3ar,Text;Pw";
    const auto f = t.csv("c.csv", "domain,new.example,0,0,y\n"
                                  "account,ann@new.example,\"" +
                                      pw + "\",Ann,,y,SimpleUsers,ann@new.example\n");
    auto r = t.migrator({"import", "--crypt-passwords", "--sepchar", ",", f});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string stored = t.sql("SELECT password FROM accounts");
    CHECK(stored.rfind("{SHA512-CRYPT}$6$", 0) == 0);
    auto ok = imapmig::verify_password(stored, imapmig::SecretString(pw));
    REQUIRE(ok.ok());
    CHECK(ok.value());
    CHECK(r.out.find(pw) == std::string::npos);

    auto usage = t.migrator({"import", "--sepchar", "\"", f});
    CHECK(usage.exit_code == 2);
    CHECK(t.migrator({"import"}).exit_code == 2);
    CHECK(t.migrator({"import", "--bogus", f}).exit_code == 2);
    auto missing = t.migrator({"import", t.dir.file("missing.csv")});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find("cannot read " + t.dir.file("missing.csv")) != std::string::npos);
}

TEST_CASE("import: accounts with hashes Dovecot 2.4 calls weak are named in the summary",
          "[integration][import]") {
    ImportDb t;
    const std::string md5crypt = "{MD5-CRYPT}$1$c9809462$CJlGOsYlAf6LBeiX6aNNj0";
    const auto f = t.csv("w.csv", "domain; new.example; 0; 0; y\n"
                                  "account; ann@new.example; " +
                                      md5crypt +
                                      "; ; ; y; SimpleUsers; ann@new.example\n"
                                      "account; bob@new.example; " +
                                      sha_hash +
                                      "; ; ; y; SimpleUsers; bob@new.example\n"
                                      "account; boss; {crypt}ab01234567890; ; ; n; SuperAdmins\n");
    const std::string weak_line =
        "  passwords in schemes Dovecot 2.4 calls weak: 2 (ann@new.example, boss) imported as "
        "they are: Dovecot 2.4 verifies them only with `auth_allow_weak_schemes = yes` (2.3 "
        "always): set it until these users have changed their passwords\n";
    auto dry = t.migrator({"import", "--dry-run", f});
    CHECK(dry.exit_code == 0);
    CHECK(dry.out.find("  aliases         created 0, skipped 0, merged 0\n" + weak_line) !=
          std::string::npos);
    auto r = t.migrator({"import", f});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.ends_with("  aliases         created 0, skipped 0, merged 0\n" + weak_line));
    CHECK(t.sql("SELECT password FROM accounts WHERE username = 'ann@new.example'") == md5crypt);
    // Existing accounts keep their stored password: nothing to name.
    auto again = t.migrator({"import", "--continue-if-exists", f});
    CHECK(again.exit_code == 0);
    CHECK(again.out.find("calls weak") == std::string::npos);
    // Clear text is hashed in accounts.password_scheme, whatever it looks like.
    auto clear = t.migrator({"import", "--crypt-passwords",
                             t.csv("c.csv", "account; cl@new.example; {MD5}x; ; ; y; "
                                            "SimpleUsers; cl@new.example\n")});
    CHECK(clear.exit_code == 0);
    CHECK(clear.out.find("calls weak") == std::string::npos);
}

TEST_CASE("migrations create --from-csv: tasks like the login path's", "[integration][import]") {
    ImportDb t;
    REQUIRE(t.migrator({"import", t.csv("good.csv", good_csv)}).exit_code == 0);
    const std::string ann_pw = "Ann-0ld;Secret", bob_pw = "B0b-0ld-Secret";
    const auto f = t.csv("m.csv", "# address; old login; old password\n"
                                  "ann@new.example; Ann@Old.example; \"" +
                                      ann_pw +
                                      "\"\n"
                                      "bob@new.example; bob@legacy.example; " +
                                      bob_pw + "\n");
    auto r = t.migrator({"migrations", "create", "--from-csv", f});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == f + ": 2 migration task(s) created, 0 skipped (the account already has one)\n");
    CHECK(t.sql("SELECT string_agg(a.username || ' ' || m.provider || ' ' || m.old_login || ' ' "
                "|| m.state || ' ' || e.kind || ' ' || e.message, ',' ORDER BY a.username) "
                "FROM migrations m JOIN accounts a ON a.id = m.account_id "
                "JOIN migration_events e ON e.migration_id = m.id") ==
          "ann@new.example oldmail ann@old.example pending created created from CSV,"
          "bob@new.example oldmail bob@legacy.example pending created created from CSV");

    auto key = imapmig::load_key_file(t.key);
    REQUIRE(key.ok());
    auto ring = imapmig::KeyRing::from_keys({key.value()});
    auto opens = [&](const std::string &login, const std::string &pw) {
        auto rows = pg_query_params(t.db,
                                    "SELECT secret_key_id, encode(secret, 'hex') FROM migrations "
                                    "WHERE old_login = $1",
                                    {login});
        REQUIRE(rows.size() == 1);
        auto sealed = imapmig::sealed_secret_from_hex(rows[0][0], rows[0][1]);
        auto opened = ring.open(sealed, imapmig::migration_secret_context("oldmail", login));
        REQUIRE(opened.ok());
        CHECK(opened.value().reveal() == pw);
    };
    opens("ann@old.example", ann_pw);
    opens("bob@legacy.example", bob_pw);
    CHECK(r.out.find(ann_pw) == std::string::npos);

    const std::string before = t.dump();
    auto again = t.migrator({"migrations", "create", "--from-csv", f});
    CHECK(again.exit_code == 1);
    CHECK(again.err == f +
                           ":2: field address: account ann@new.example already has a migration "
                           "task (--continue-if-exists skips it)\n" +
                           f + ": nothing of this file was written\n");
    auto skip = t.migrator({"migrations", "create", "--continue-if-exists", "--from-csv", f});
    CHECK(skip.exit_code == 0);
    CHECK(skip.out ==
          f + ": 0 migration task(s) created, 2 skipped (the account already has one)\n");
    CHECK(t.dump() == before);
}

TEST_CASE("migrations create --from-csv: bad lines, all listed in a dry run",
          "[integration][import]") {
    ImportDb t;
    REQUIRE(t.migrator({"import", t.csv("good.csv", good_csv)}).exit_code == 0);
    const std::string before = t.dump();
    const auto f = t.csv("m.csv", "ann@new.example; ann@old.example; Secret-Pw-1\n"
                                  "nobody@new.example; nobody@old.example; Secret-Pw-2\n"
                                  "bob@new.example; bob@undeclared.example; Secret-Pw-3\n"
                                  "bob@new.example; bob@other.example; Secret-Pw-4\n"
                                  "bob@new.example; ann@old.example; Secret-Pw-5\n"
                                  "bob@new.example; bob@old.example\n");
    auto r = t.migrator({"migrations", "create", "--dry-run", "--from-csv", f});
    CHECK(r.exit_code == 1);
    CHECK(r.err ==
          f +
              ":2: field address: account nobody@new.example does not exist here (import it "
              "first)\n" +
              f +
              ":3: field old login: domain undeclared.example is not declared under any "
              "provider in the configuration\n" +
              f +
              ":4: field old login: provider othermail has no domains entry whose "
              "local_domain is new.example, the domain of the account\n" +
              f +
              ":5: field old login: this old login already has a migration task for another "
              "account\n" +
              f +
              ":6: field old password: missing (a line has 3 fields: address; old login; "
              "old password)\n" +
              f + ": 5 error(s)\n");
    CHECK(r.err.find("Secret-Pw") == std::string::npos);
    auto real = t.migrator({"migrations", "create", "--from-csv", f});
    CHECK(real.exit_code == 1);
    CHECK(real.err.rfind(f + ":2: field address: account nobody@new.example does not exist", 0) ==
          0);
    CHECK(t.dump() == before);
}

TEST_CASE("dovecot-sql-conf prints the shipped queries, connect only on request",
          "[integration][import]") {
    if (dovecot_24()) // 2.4's form (no connect line): test_dovecot_line.cpp
        return;
    ImportDb t;
    const std::string shipped =
        read_file(source_root() + "/conf.d/dovecot-sql-imapmigration.conf.ext");
    auto r = t.migrator({"dovecot-sql-conf"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find(t.db) == std::string::npos);
    CHECK(r.out.find("# connect = <the database of imap-migration.yaml") != std::string::npos);
    CHECK(r.out.find("\ndefault_pass_scheme = SHA512-CRYPT\n") != std::string::npos);
    for (const char *q : {"password_query = \\\n", "user_query = \\\n", "iterate_query = \\\n"}) {
        auto at = shipped.find(q);
        REQUIRE(at != std::string::npos);
        auto block = shipped.substr(at, shipped.find("\n\n", at) - at);
        CHECK(r.out.find(block) != std::string::npos);
    }
    auto with = t.migrator({"dovecot-sql-conf", "--with-connect"});
    CHECK(with.out.find("\nconnect = " + t.db + "\n") != std::string::npos);
    CHECK(t.migrator({"dovecot-sql-conf", "--bogus"}).exit_code == 2);
}

TEST_CASE("imported accounts log into the new Dovecot", "[integration][import]") {
    MigrationEnv env;
    env.start_new_dovecot();
    const std::string pw = "Imp0rted-Pw!";
    auto hash = imapmig::hash_password("SHA512-CRYPT", imapmig::SecretString(pw));
    REQUIRE(hash.ok());
    const std::string file = env.dir.file("in.csv");
    write_file(file, "domain; imported.example; 0; 0; y\n"
                     "account; dana@imported.example; " +
                         hash.value() +
                         "; Dana; ; y; SimpleUsers; dana@imported.example; 10\n"
                         "account; eric@imported.example; " +
                         hash.value() + "; Eric; ; n; SimpleUsers; eric@imported.example\n");
    auto r = env.migrator({"import", file});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(env.imap_login("dana@imported.example", pw).status == "OK");
    CHECK(env.imap_login("dana@imported.example", "wrong-pw").status == "NO");
    CHECK(env.imap_login("eric@imported.example", pw).status == "NO"); // disabled
    CHECK(env.logs_free_of_passwords());
}
