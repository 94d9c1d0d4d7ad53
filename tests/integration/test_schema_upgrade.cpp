// Schema upgrades that keep data: a v1 database full of rows upgraded to v2, upgrades that fail
// or are killed half way, required stops and databases too old or too new, against a real
// PostgreSQL and through `imap-migrator db upgrade` as an admin runs it.
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include "db/schema.hpp"
#include "db/store.hpp"

#include "catch_compat.hpp"

#include <chrono>
#include <csignal>
#include <map>
#include <thread>

using namespace imapmig;
using namespace testsupport;

namespace {

Connection connect(const std::string &conninfo) {
    auto c = Connection::open(conninfo);
    REQUIRE(c.ok());
    return std::move(c.value());
}

void upgrade_to(const std::string &db, int version) {
    Connection conn = connect(db);
    auto r = upgrade_schema(conn, nullptr, version);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
}

// Rows in every table of schema v1, with values that are not the defaults.
void fill_v1(const std::string &db) {
    pg_query(db, R"SQL(
INSERT INTO domains (name, quota_mb, default_mailbox_quota_mb, enabled)
    VALUES ('new.example', 1000, 100, true), ('other.example', 0, 0, false);
INSERT INTO domain_aliases (name, target_domain_id, enabled)
    SELECT 'alias.example', id, false FROM domains WHERE name = 'new.example';
INSERT INTO relay_domains (name, target_host, target_port, service, enabled, verify_recipients)
    VALUES ('relay.example', 'mx.relay.example', 2525, 'smtp', true, true);
INSERT INTO accounts (username, address, domain_id, password, first_name, last_name, enabled,
                      role, quota_mb)
    SELECT 'alice@new.example', 'alice@new.example', id, '{ARGON2ID}$argon2id$v=19$x', 'Alice',
           'Liddell', true, 'DomainAdmins', 50
    FROM domains WHERE name = 'new.example';
INSERT INTO accounts (username, address, domain_id, password, enabled)
    SELECT 'bob@other.example', 'bob@other.example', id, '{SHA512-CRYPT}$6$salt$hash', false
    FROM domains WHERE name = 'other.example';
INSERT INTO accounts (username, password, role) VALUES ('admin', '{BLF-CRYPT}$2y$05$x', 'SuperAdmins');
INSERT INTO administered_domains
    SELECT a.id, d.id FROM accounts a, domains d WHERE a.username = 'alice@new.example';
INSERT INTO aliases (address, domain_id, enabled)
    SELECT 'postmaster@new.example', id, true FROM domains WHERE name = 'new.example';
INSERT INTO aliases (address, domain_id, enabled)
    SELECT '@other.example', id, false FROM domains WHERE name = 'other.example';
INSERT INTO alias_recipients
    SELECT id, 'alice@new.example' FROM aliases UNION ALL SELECT id, 'ext@elsewhere.example' FROM aliases;
INSERT INTO migrations (account_id, provider, old_login, secret, secret_key_id, state,
                        next_sync_at, last_sync_at, last_error, attempts, lease_owner, lease_expires)
    SELECT id, 'oldmail', 'alice@old.example', '\x0102ff00'::bytea, 'k1', 'failed',
           now() + interval '1 hour', now() - interval '1 hour', 'timed out', 3, 'host1:42',
           now() + interval '5 minutes'
    FROM accounts WHERE username = 'alice@new.example';
INSERT INTO migrations (account_id, provider, old_login, state)
    SELECT id, 'oldmail', 'bob@other.example', 'finished' FROM accounts
    WHERE username = 'bob@other.example';
INSERT INTO migration_events (migration_id, kind, message)
    SELECT id, 'error', 'connection timed out' FROM migrations;
INSERT INTO login_check_failures (kind, key, failures, refusal_logged)
    VALUES ('ip', '192.0.2.1', 3, true), ('user', 'carol@old.example', 1, false);
)SQL");
}

// table -> its columns, in order, as "a, b, c".
std::map<std::string, std::string> columns_of(const std::string &db) {
    std::map<std::string, std::string> out;
    for (const auto &row : pg_query(db, "SELECT table_name, string_agg(quote_ident(column_name), "
                                        "', ' ORDER BY ordinal_position) "
                                        "FROM information_schema.columns "
                                        "WHERE table_schema = 'public' GROUP BY table_name"))
        out[row[0]] = row[1];
    return out;
}

// table -> every row of the given columns (type, nullability and default of each column too), as
// JSON in a stable order. schema_version keeps only the rows of versions <= up_to.
std::map<std::string, std::string>
contents(const std::string &db, const std::map<std::string, std::string> &columns, int up_to) {
    std::map<std::string, std::string> out;
    for (const auto &[table, cols] : columns) {
        const std::string where =
            table == "schema_version" ? " WHERE version <= " + std::to_string(up_to) : "";
        out[table] = pg_scalar(db, "SELECT coalesce(json_agg(r ORDER BY r::text), '[]')::text "
                                   "FROM (SELECT " +
                                       cols + " FROM " + table + where + ") r");
        out[table + " (definition)"] = pg_scalar(
            db, "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' || "
                "coalesce(column_default, '-'), '; ' ORDER BY column_name) "
                "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '" +
                    table + "' AND quote_ident(column_name) = ANY(string_to_array('" + cols +
                    "', ', '))");
    }
    return out;
}

std::string column_exists(const std::string &db, const std::string &table, const std::string &col) {
    return pg_scalar(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = '" +
                             table + "' AND column_name = '" + col + "'");
}

std::string schema_version(const std::string &db) {
    return pg_scalar(db, "SELECT max(version) FROM schema_version");
}

// A config `imap-migrator db ...` accepts: the database and a key file.
struct CliSetup {
    explicit CliSetup(const std::string &db) : dir("imapmig-upg") {
        key = dir.file("k.key");
        config = dir.file("imap-migration.yaml");
        run_checked({migrator_path(), "key", "generate", key});
        write_file(config, "database: \"" + db + "\"\nsecret_key_file: " + key + "\n");
    }
    RunResult db(std::vector<std::string> args) const {
        args.insert(args.begin(), {migrator_path(), "-c", config, "db"});
        return run(args);
    }
    TempDir dir;
    std::string key;
    std::string config;
};

template <class Pred> bool wait_until(Pred pred, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

// Synthetic schema files: the runner takes its chain as a parameter.
const std::vector<EmbeddedSchemaFile> chain_files = {
    {"0001_first.sql", "CREATE TABLE t1 (id int PRIMARY KEY, v text NOT NULL);"},
    {"0002_second.sql", "ALTER TABLE t1 ADD COLUMN w int NOT NULL DEFAULT 7;"},
    {"0003_stop.sql", "-- Splits v.\n-- imapmig: required-stop: run `imap-migrator convert-t1` "
                      "with this release\nALTER TABLE t1 ADD COLUMN v2 text;"},
    {"0004_fourth.sql", "ALTER TABLE t1 DROP COLUMN v;"},
};

SchemaChain synthetic_chain() {
    return parse_schema_chain(chain_files, 1, "");
}

} // namespace

TEST_CASE("a v1 database full of data is upgraded to v2 without losing anything",
          "[integration][schema][upgrade]") {
    PgCluster pg;
    const std::string db = pg.create_database("upg_data");
    upgrade_to(db, 1);
    fill_v1(db);
    const auto v1_columns = columns_of(db);
    const auto before = contents(db, v1_columns, 1);
    REQUIRE(pg_scalar(db, "SELECT count(*) FROM migrations") == "2");

    CliSetup cli(db);
    auto status = cli.db({"status"});
    CHECK(status.out.find("schema version: 1") != std::string::npos);
    CHECK(status.out.find(std::to_string(latest_schema_version() - 1) + " migration(s) pending") !=
          std::string::npos);
    auto up = cli.db({"upgrade"});
    INFO(up.err);
    REQUIRE(up.exit_code == 0);
    CHECK(up.out.find("applied schema 2 (migration_progress)") != std::string::npos);
    CHECK(schema_version(db) == std::to_string(latest_schema_version()));
    // Schema 5: every migration that existed gets its own sync identity and may adopt a sync
    // state written before identities existed; later ones may not.
    CHECK(pg_scalar(db, "SELECT count(DISTINCT sync_identity) = count(*) AND "
                        "bool_and(legacy_state_ok) FROM migrations") == "t");
    CHECK(pg_scalar(db,
                    "SELECT column_default FROM information_schema.columns WHERE "
                    "table_name = 'migrations' AND column_name = 'legacy_state_ok'") == "false");

    // Every v1 column of every row is unchanged, and so is its definition.
    const auto after = contents(db, v1_columns, 1);
    for (const auto &[table, rows] : before) {
        INFO(table);
        CHECK(after.at(table) == rows);
    }
    // New columns hold their defaults.
    CHECK(pg_query(db, "SELECT DISTINCT folders_total, folders_done, messages_copied, "
                       "messages_total, bytes_copied, runs, finish_requested, "
                       "last_run_started IS NULL, finished_at IS NULL FROM migrations") ==
          PgRows{{"0", "0", "0", "0", "0", "0", "f", "t", "t"}});
    CHECK(pg_query(db, "SELECT DISTINCT messages_copied, duration_ms FROM migration_events") ==
          PgRows{{"", ""}});
    CHECK(pg_scalar(db, "SELECT to_regclass('migrations_claim_idx') IS NOT NULL") == "t");
    CHECK(pg_scalar(db, "SELECT to_regclass('migrations_due_idx') IS NULL") == "t");

    // Twice is a no-op: nothing re-applied, the version rows untouched.
    const std::string versions = pg_scalar(db, "SELECT string_agg(version || ' ' || applied_at, "
                                               "',' ORDER BY version) FROM schema_version");
    auto again = cli.db({"upgrade"});
    CHECK(again.exit_code == 0);
    CHECK(again.out ==
          "schema is up to date (version " + std::to_string(latest_schema_version()) + ")\n");
    CHECK(pg_scalar(db, "SELECT string_agg(version || ' ' || applied_at, ',' ORDER BY version) "
                        "FROM schema_version") == versions);
    CHECK(contents(db, v1_columns, 1) == before);
}

TEST_CASE("db upgrade --to stops at the given version", "[integration][schema][upgrade]") {
    PgCluster pg;
    const std::string db = pg.create_database("upg_to");
    CliSetup cli(db);
    auto to1 = cli.db({"upgrade", "--to", "1"});
    REQUIRE(to1.exit_code == 0);
    CHECK(to1.out.find("applied schema 1 (initial)") != std::string::npos);
    CHECK(to1.out.find("applied schema 2") == std::string::npos);
    CHECK(schema_version(db) == "1");
    CHECK(cli.db({"upgrade", "--to=1"}).out.find("already at version 1") != std::string::npos);

    auto bad = cli.db({"upgrade", "--to", "x"});
    CHECK(bad.exit_code == 2);
    auto unknown = cli.db({"upgrade", "--to", "99"});
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.err.find("schema version 99 is not one this imap-migrator knows") !=
          std::string::npos);

    CHECK(cli.db({"upgrade"}).exit_code == 0);
    CHECK(schema_version(db) == std::to_string(latest_schema_version()));
    auto down = cli.db({"upgrade", "--to", "1"});
    CHECK(down.exit_code == 1);
    CHECK(down.err.find("never downgraded") != std::string::npos);
}

TEST_CASE("a failing statement in schema 2 leaves a v1 database exactly at v1",
          "[integration][schema][upgrade]") {
    PgCluster pg;
    const std::string db = pg.create_database("upg_fail");
    upgrade_to(db, 1);
    fill_v1(db);
    // An object in the way of 0002's third statement; its ALTER TABLEs have run by then.
    pg_query(db, "CREATE INDEX migrations_state_idx ON migrations (id)");
    const auto v1_columns = columns_of(db);
    const auto before = contents(db, v1_columns, 1);

    CliSetup cli(db);
    auto up = cli.db({"upgrade"});
    CHECK(up.exit_code == 1);
    CHECK(up.err.find("schema 2 (migration_progress) not applied, database left at version 1") !=
          std::string::npos);
    CHECK(up.err.find("migrations_state_idx") != std::string::npos);
    CHECK(schema_version(db) == "1");
    CHECK(column_exists(db, "migrations", "folders_total") == "0");
    CHECK(column_exists(db, "migration_events", "duration_ms") == "0");
    CHECK(pg_scalar(db, "SELECT to_regclass('migrations_due_idx') IS NOT NULL") == "t");
    CHECK(columns_of(db) == v1_columns);
    CHECK(contents(db, v1_columns, 1) == before);

    // Once the obstacle is gone, the same command succeeds.
    pg_query(db, "DROP INDEX migrations_state_idx");
    CHECK(cli.db({"upgrade"}).exit_code == 0);
    CHECK(schema_version(db) == std::to_string(latest_schema_version()));
    CHECK(contents(db, v1_columns, 1) == before);
}

TEST_CASE("a db upgrade killed inside its transaction leaves the database at v1",
          "[integration][schema][upgrade]") {
    PgCluster pg;
    const std::string db = pg.create_database("upg_kill");
    upgrade_to(db, 1);
    fill_v1(db);
    const auto v1_columns = columns_of(db);
    const auto before = contents(db, v1_columns, 1);
    CliSetup cli(db);

    // Another session holds a lock on migrations: 0002's ALTER TABLE waits for it, inside the
    // upgrade's transaction.
    Connection locker = connect(db);
    REQUIRE(locker.exec_script("lock", "BEGIN; LOCK TABLE migrations IN ACCESS SHARE MODE").ok());

    SpawnOptions opts;
    opts.output_path = cli.dir.file("upgrade.log");
    const pid_t pid = spawn({migrator_path(), "-c", cli.config, "db", "upgrade"}, opts);
    std::string backend;
    const bool waiting = wait_until(
        [&] {
            backend = pg_scalar(db, "SELECT pid FROM pg_stat_activity WHERE wait_event_type = "
                                    "'Lock' AND query LIKE '%ALTER TABLE migrations%'");
            return !backend.empty();
        },
        15000);
    if (!waiting)
        stop_child(pid, SIGKILL, 1000);
    INFO(read_file_or_empty(opts.output_path));
    REQUIRE(waiting);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(wait_until([&] { return child_exited(pid, &status); }, 5000));
    CHECK(WIFSIGNALED(status));

    // The server notices the dead client once the lock is released; its transaction is rolled back.
    REQUIRE(locker.exec_script("unlock", "ROLLBACK").ok());
    REQUIRE(wait_until(
        [&] {
            return pg_scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + backend) ==
                   "0";
        },
        15000));
    CHECK(schema_version(db) == "1");
    CHECK(column_exists(db, "migrations", "folders_total") == "0");
    CHECK(columns_of(db) == v1_columns);
    CHECK(contents(db, v1_columns, 1) == before);

    // A new run finishes the job.
    auto up = cli.db({"upgrade"});
    CHECK(up.exit_code == 0);
    CHECK(schema_version(db) == std::to_string(latest_schema_version()));
    CHECK(contents(db, v1_columns, 1) == before);
}

TEST_CASE("a required stop must be reached on its own", "[integration][schema][upgrade]") {
    PgCluster pg;
    const SchemaChain chain = synthetic_chain();
    REQUIRE(chain.at(3).required_stop);
    REQUIRE(chain.at(3).stop_note == "run `imap-migrator convert-t1` with this release");

    SECTION("a database older than the stop is refused, untouched, with what to run") {
        const std::string db = pg.create_database("upg_stop");
        Connection conn = connect(db);
        REQUIRE(upgrade_schema(conn, nullptr, 1, chain).ok());
        pg_query(db, "INSERT INTO t1 (id, v) VALUES (1, 'one')");

        auto r = upgrade_schema(conn, nullptr, 0, chain);
        REQUIRE_FALSE(r.ok());
        CHECK(
            r.error().message ==
            "schema 3 (stop) is a required stop: the database (schema version 1) must be "
            "upgraded to it first. Run `imap-migrator db upgrade --to 3`, then run "
            "`imap-migrator convert-t1` with this release, then `imap-migrator db upgrade` again");
        CHECK(schema_version(db) == "1");
        auto st = schema_status(conn, chain);
        REQUIRE(st.ok());
        CHECK(st.value().blocked == r.error().message);

        std::vector<std::string> lines;
        auto to_stop = upgrade_schema(
            conn, [&](const std::string &l) { lines.push_back(l); }, 3, chain);
        REQUIRE(to_stop.ok());
        CHECK(to_stop.value() == std::vector<int>{2, 3});
        CHECK(lines.back() == "stopped at required stop 3 (stop): run `imap-migrator convert-t1` "
                              "with this release, then run `imap-migrator db upgrade` again");
        auto rest = upgrade_schema(conn, nullptr, 0, chain);
        REQUIRE(rest.ok());
        CHECK(rest.value() == std::vector<int>{4});
        CHECK(pg_query(db, "SELECT id, w, v2 IS NULL FROM t1") == PgRows{{"1", "7", "t"}});
    }
    SECTION("an empty database goes straight to the latest version") {
        const std::string db = pg.create_database("upg_fresh");
        Connection conn = connect(db);
        auto r = upgrade_schema(conn, nullptr, 0, chain);
        REQUIRE(r.ok());
        CHECK(r.value() == std::vector<int>{1, 2, 3, 4});
    }
}

TEST_CASE("a database older than a squashed baseline names the release to go through",
          "[integration][schema][upgrade]") {
    PgCluster pg;
    const std::string db = pg.create_database("upg_old");
    Connection conn = connect(db);
    REQUIRE(upgrade_schema(conn, nullptr, 2, synthetic_chain()).ok());

    // A later release folded 0001..0002 into a baseline that creates schema 3 from nothing.
    const std::vector<EmbeddedSchemaFile> squashed = {
        {"0003_baseline.sql", "CREATE TABLE t1 (id int PRIMARY KEY, v text, w int, v2 text);"},
        {"0004_fourth.sql", "ALTER TABLE t1 DROP COLUMN v;"},
    };
    const SchemaChain chain = parse_schema_chain(squashed, 3, "0.4.0");
    auto r = upgrade_schema(conn, nullptr, 0, chain);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("database schema version 2 is too old for imap-migrator") !=
          std::string::npos);
    CHECK(r.error().message.find("install imap-migrator 0.4.0 and run `imap-migrator db upgrade` "
                                 "with it") != std::string::npos);
    CHECK(schema_version(db) == "2");

    // An empty database gets the baseline; one at the baseline goes on.
    const std::string fresh = pg.create_database("upg_baseline");
    Connection fresh_conn = connect(fresh);
    auto created = upgrade_schema(fresh_conn, nullptr, 0, chain);
    REQUIRE(created.ok());
    CHECK(created.value() == std::vector<int>{3, 4});
    CHECK(schema_version(fresh) == "4");
}

TEST_CASE("db upgrade and db status refuse a database newer than the binary",
          "[integration][schema][upgrade]") {
    PgCluster pg;
    const std::string db = pg.create_database("upg_newer");
    CliSetup cli(db);
    REQUIRE(cli.db({"upgrade"}).exit_code == 0);
    const int future = latest_schema_version() + 1;
    pg_query_params(db,
                    "INSERT INTO schema_version (version, name, product_version) "
                    "VALUES ($1, 'future', '9.9.9')",
                    {std::to_string(future)});
    auto up = cli.db({"upgrade"});
    CHECK(up.exit_code == 1);
    CHECK(up.err.find("database schema version " + std::to_string(future) +
                      " is newer than this imap-migrator") != std::string::npos);
    CHECK(cli.db({"status"}).exit_code == 1);
    CHECK(schema_version(db) == std::to_string(future));
}
