// imap-migrator as an admin runs it.
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

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
