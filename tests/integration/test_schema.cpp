// Schema upgrades against a real PostgreSQL.
#include "pg_cluster.hpp"

#include "db/schema.hpp"
#include "db/store.hpp"

#include "catch_compat.hpp"

#include <thread>

using namespace imapmig;
using testsupport::pg_scalar;
using testsupport::PgCluster;

namespace {

Connection connect(const std::string &conninfo) {
    auto c = Connection::open(conninfo);
    REQUIRE(c.ok());
    return std::move(c.value());
}

} // namespace

TEST_CASE("schema upgrade from an empty database, then a no-op", "[integration][schema]") {
    PgCluster pg;
    const std::string db = pg.create_database("schema1");
    Connection conn = connect(db);

    auto before = schema_status(conn);
    REQUIRE(before.ok());
    CHECK(before.value().current == 0);
    CHECK(before.value().pending.size() == static_cast<size_t>(latest_schema_version()));

    std::vector<std::string> lines;
    auto applied = upgrade_schema(conn, [&](const std::string &l) { lines.push_back(l); });
    REQUIRE(applied.ok());
    CHECK(applied.value().size() == static_cast<size_t>(latest_schema_version()));
    CHECK(lines.front() == "applied schema 1 (initial)");
    for (const char *table : {"domains", "domain_aliases", "relay_domains", "accounts",
                              "administered_domains", "aliases", "alias_recipients", "migrations",
                              "migration_events", "schema_version", "login_check_failures"})
        CHECK(pg_scalar(db, std::string("SELECT to_regclass('") + table + "') IS NOT NULL") == "t");
    CHECK(pg_scalar(db, "SELECT max(version) FROM schema_version") ==
          std::to_string(latest_schema_version()));

    auto again = upgrade_schema(conn, nullptr);
    REQUIRE(again.ok());
    CHECK(again.value().empty());
    CHECK(pg_scalar(db, "SELECT count(*) FROM schema_version") ==
          std::to_string(latest_schema_version()));

    SECTION("names are stored lower-case, duplicates refused") {
        CHECK_THROWS(
            pg_scalar(db, "INSERT INTO domains (name) VALUES ('Upper.Example') RETURNING id"));
        pg_scalar(db, "INSERT INTO domains (name) VALUES ('lower.example') RETURNING id");
        CHECK_THROWS(
            pg_scalar(db, "INSERT INTO domains (name) VALUES ('lower.example') RETURNING id"));
        CHECK_THROWS(pg_scalar(db, "INSERT INTO accounts (username, address, domain_id, password) "
                                   "SELECT 'u@lower.example', 'u@lower.example', id, 'nohash' "
                                   "FROM domains RETURNING id"));
    }
    SECTION("a database newer than this binary is refused") {
        pg_scalar(db, "INSERT INTO schema_version (version, name, product_version) "
                      "VALUES (999, 'future', '9.9') RETURNING version");
        auto r = upgrade_schema(conn, nullptr);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("database schema version 999 is newer than this "
                                     "imap-migrator") != std::string::npos);
    }
}

TEST_CASE("concurrent upgrades apply each version once", "[integration][schema]") {
    PgCluster pg;
    const std::string db = pg.create_database("schema2");
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            auto c = Connection::open(db);
            if (c && upgrade_schema(c.value(), nullptr))
                ++ok;
        });
    for (auto &t : threads)
        t.join();
    CHECK(ok == 4);
    CHECK(pg_scalar(db, "SELECT count(*) FROM schema_version") ==
          std::to_string(latest_schema_version()));
}

TEST_CASE("a failing schema step leaves the database at the previous version",
          "[integration][schema]") {
    PgCluster pg;
    const std::string db = pg.create_database("schema3");
    // A table in the way makes migration 1 fail half way through its script.
    pg_scalar(db, "CREATE TABLE migrations (id int) ; SELECT 1");
    Connection conn = connect(db);
    auto r = upgrade_schema(conn, nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("schema 1 (initial) not applied, database left at version 0") !=
          std::string::npos);
    // Nothing of the half-run script remains.
    CHECK(pg_scalar(db, "SELECT to_regclass('domains') IS NULL") == "t");
    CHECK(pg_scalar(db, "SELECT to_regclass('schema_version') IS NULL") == "t");
}
