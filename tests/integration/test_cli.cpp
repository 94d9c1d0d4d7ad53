// imap-migrator as an admin runs it.
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include "catch_compat.hpp"

#include <sys/stat.h>

using namespace testsupport;

TEST_CASE("imap-migrator --help, --version and usage errors", "[integration][cli]") {
    auto help = run({migrator_path(), "--help"});
    CHECK(help.exit_code == 0);
    for (const char *cmd :
         {"check-config", "db upgrade", "db status", "key generate", "-c, --config"})
        CHECK(help.out.find(cmd) != std::string::npos);
    auto version = run({migrator_path(), "--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("imap-migrator ", 0) == 0);
    CHECK(run({migrator_path(), "db", "upgrade", "--help"}).out.find("Usage:") !=
          std::string::npos);

    auto unknown = run({migrator_path(), "frobnicate"});
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.err.find("unknown command 'frobnicate'") != std::string::npos);
    CHECK(run({migrator_path()}).exit_code == 2);
    CHECK(run({migrator_path(), "-c"}).exit_code == 2);
    CHECK(run({migrator_path(), "check-config", "extra"}).exit_code == 2);
}

TEST_CASE("check-config, key generate and db commands", "[integration][cli]") {
    TempDir dir("imapmig-cli");
    PgCluster pg;
    const std::string db = pg.create_database("cli");
    const std::string key = dir.file("k.key");
    const std::string cfg = dir.file("imap-migration.yaml");
    write_file(cfg, "database: \"" + db + "\"\nsecret_key_file: " + key +
                        "\nproviders:\n  - name: old\n    host: imap.old.example\n"
                        "    domains:\n      - name: old.example\n");

    // Without the key file the config is refused, naming the key.
    auto missing = run({migrator_path(), "-c", cfg, "check-config"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find(cfg + ":2: secret_key_file:") != std::string::npos);

    auto gen = run({migrator_path(), "-c", cfg, "key", "generate"});
    REQUIRE(gen.exit_code == 0);
    struct stat st {};
    REQUIRE(stat(key.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(st.st_size == 32);
    CHECK(run({migrator_path(), "-c", cfg, "key", "generate"}).exit_code == 1); // never overwrites

    auto ok = run({migrator_path(), "--config", cfg, "check-config"});
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("OK (1 provider(s), 1 domain(s))") != std::string::npos);

    auto status = run({migrator_path(), "-c", cfg, "db", "status"});
    CHECK(status.exit_code == 0);
    CHECK(status.out.find("schema version: 0") != std::string::npos);
    CHECK(status.out.find("pending") != std::string::npos);

    auto up = run({migrator_path(), "-c", cfg, "db", "upgrade"});
    CHECK(up.exit_code == 0);
    CHECK(up.out.find("applied schema 1 (initial)") != std::string::npos);
    auto up2 = run({migrator_path(), "-c", cfg, "db", "upgrade"});
    CHECK(up2.exit_code == 0);
    CHECK(up2.out.find("schema is up to date") != std::string::npos);
    CHECK(run({migrator_path(), "-c", cfg, "db", "status"}).out.find("status: up to date") !=
          std::string::npos);

    write_file(cfg, "database: \"" + db + "\"\nsecret_key_file: " + key +
                        "\nproviders:\n  - name: old\n    host: imap.old.example\n"
                        "    security: none\n    domains:\n      - name: old.example\n");
    auto plain = run({migrator_path(), "-c", cfg, "check-config"});
    CHECK(plain.exit_code == 1);
    CHECK(plain.err.find(cfg + ":6: providers[0].security:") != std::string::npos);

    // A database that cannot be reached is an error naming it, without its password.
    write_file(cfg,
               "database: \"host=127.0.0.1 port=1 dbname=x password=Sekr1t\"\nsecret_key_file: " +
                   key + "\nproviders: []\n");
    auto down = run({migrator_path(), "-c", cfg, "db", "status"});
    CHECK(down.exit_code == 1);
    CHECK(down.err.find("PostgreSQL connection") != std::string::npos);
    CHECK(down.err.find("Sekr1t") == std::string::npos);
}

// The table is built by hand from binary results (lib/db/migrations_table.cpp,
// migrator/list_table.cpp) and must stay byte for byte what printf printed from to_char's text:
// timestamps either side of 2000-01-01 (the binary epoch), BC, past 9999 and infinite, in a zone
// with a half-hour offset; names and errors longer than their columns.
TEST_CASE("migrations list prints the table byte for byte", "[integration][cli]") {
    TempDir dir("imapmig-list");
    PgCluster pg;
    const std::string db = pg.create_database("list");
    const std::string cfg = dir.file("imap-migration.yaml");
    write_file(cfg, "database: \"" + db + "\"\nsecret_key_file: " + dir.file("k.key") +
                        "\nproviders:\n  - name: old\n    host: imap.old.example\n"
                        "    domains:\n      - name: old.example\n");
    REQUIRE(run({migrator_path(), "-c", cfg, "key", "generate"}).exit_code == 0);
    REQUIRE(run({migrator_path(), "-c", cfg, "db", "upgrade"}).exit_code == 0);
    pg_query(db, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L',"
                 " current_database(), 'America/St_Johns'); END $$");
    pg_query(db,
             "INSERT INTO accounts (username, password) SELECT CASE WHEN g = 5"
             " THEN 'a-name-longer-than-thirty-two-bytes-' || g || '@old.example'"
             " ELSE 'user' || g || '@old.example' END, '{PLAIN}x' FROM generate_series(1, 14) g;"
             "INSERT INTO migrations (account_id, provider, old_login, state, last_sync_at,"
             " last_error, messages_copied)"
             " SELECT id, CASE WHEN id % 2 = 0 THEN 'a-long-provider' ELSE 'old' END,"
             " 'old' || id, (ARRAY['synced', 'failed', 'pending', 'credentials_rejected'])"
             "[1 + id % 4], (ARRAY[NULL, now(), '1999-12-31 23:59:59.999999+00',"
             " '2000-01-01 00:00:00+00', '0044-03-15 12:00:00.5+00 BC', '12345-06-07 01:02:03+00',"
             " 'infinity', '-infinity', '1900-02-28 23:30:00+00', '2024-02-29 12:00:00+00',"
             " '0001-01-01 00:00:00+00', '4713-11-24 00:00:00+00 BC', now(), now()]::timestamptz[])"
             "[id], CASE id % 5 WHEN 1 THEN repeat('x', 60) WHEN 2 THEN repeat('y', 61)"
             " WHEN 3 THEN 'tab' || chr(9) || 'and newline' || chr(10) END,"
             " CASE WHEN id = 7 THEN 9223372036854775807 ELSE id * 1000 END"
             " FROM accounts");
    for (const std::vector<std::string> &filter :
         {std::vector<std::string>{}, {"--state", "synced"}, {"--limit", "5"}}) {
        std::vector<std::string> args = {migrator_path(), "-c", cfg, "migrations", "list"};
        args.insert(args.end(), filter.begin(), filter.end());
        auto list = run(args);
        REQUIRE(list.exit_code == 0);
        // What the command printed before: printf over to_char's text.
        char line[512];
        std::snprintf(line, sizeof line, "%-6s %-21s %-32s %-10s %9s  %-19s  %s\n", "ID", "STATE",
                      "USER", "PROVIDER", "MESSAGES", "LAST SYNC", "LAST ERROR");
        std::string want = line;
        const std::string state = filter.size() == 2 && filter[0] == "--state" ? filter[1] : "";
        const std::string limit = filter.size() == 2 && filter[0] == "--limit" ? filter[1] : "ALL";
        for (const auto &r : pg_query_params(
                 db,
                 "SELECT m.id, m.state, a.username, m.provider, m.messages_copied,"
                 " coalesce(to_char(m.last_sync_at, 'YYYY-MM-DD HH24:MI:SS'), '-'),"
                 " coalesce(m.last_error, '') FROM migrations m JOIN accounts a"
                 " ON a.id = m.account_id WHERE $1 = '' OR m.state = $1 ORDER BY m.id LIMIT " +
                     limit,
                 {state})) {
            const std::string err = r[6].size() > 60 ? r[6].substr(0, 57) + "..." : r[6];
            std::snprintf(line, sizeof line, "%-6lld %-21s %-32s %-10s %9lld  %-19s  %s\n",
                          std::stoll(r[0]), r[1].c_str(), r[2].c_str(), r[3].c_str(),
                          std::stoll(r[4]), r[5].c_str(), err.c_str());
            want += line;
        }
        CHECK(list.out == want);
    }
}
