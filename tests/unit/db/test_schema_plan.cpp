// The schema chain and upgrade planner, without a database: file naming, markers, and what
// `db upgrade` would do (or refuse) from each version.
#include "db/schema.hpp"

#include "catch_compat.hpp"

#include <stdexcept>

using namespace imapmig;

namespace {

const std::vector<EmbeddedSchemaFile> files = {
    {"0001_first.sql", "CREATE TABLE t (id int);"},
    {"0002_stop.sql", "-- imapmig: required-stop: run the converter\nALTER TABLE t ADD x int;"},
    {"0003_bare_stop.sql", "-- imapmig: required-stop\nALTER TABLE t ADD y int;"},
    {"0004_last.sql", "ALTER TABLE t ADD z int;"},
};

std::string refusal(const SchemaChain &chain, int current, int target) {
    auto plan = plan_schema_upgrade(chain, current, target);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.error().kind == ErrorKind::permanent);
    return plan.error().message;
}

} // namespace

TEST_CASE("schema files are numbered from the first version on, markers are read", "[unit]") {
    const SchemaChain chain = parse_schema_chain(files, 1, "");
    CHECK(chain.first() == 1);
    CHECK(chain.latest() == 4);
    CHECK(chain.at(1).name == "first");
    CHECK_FALSE(chain.at(1).required_stop);
    CHECK(chain.at(2).required_stop);
    CHECK(chain.at(2).stop_note == "run the converter");
    CHECK(chain.at(3).required_stop);
    CHECK(chain.at(3).stop_note.empty());

    CHECK_THROWS_AS(parse_schema_chain({{"0002_x.sql", ""}}, 1, ""), std::logic_error);
    CHECK_THROWS_AS(parse_schema_chain({{"0001_x.sql", ""}, {"0003_y.sql", ""}}, 1, ""),
                    std::logic_error);
    CHECK_THROWS_AS(parse_schema_chain({{"0001-x.sql", ""}}, 1, ""), std::logic_error);
    CHECK_THROWS_AS(parse_schema_chain({{"0005_base.sql", ""}}, 5, ""), std::logic_error);
    CHECK(parse_schema_chain({{"0005_base.sql", ""}}, 5, "0.9.0").first() == 5);
}

TEST_CASE("this binary's own schema chain is well-formed", "[unit]") {
    const SchemaChain &chain = embedded_schema_chain();
    CHECK(chain.first() == 1);
    CHECK(chain.latest() == latest_schema_version());
    CHECK(chain.latest() >= 2);
    auto fresh = plan_schema_upgrade(chain, 0, chain.latest());
    REQUIRE(fresh.ok());
    CHECK(fresh.value().size() == static_cast<size_t>(chain.latest()));
}

TEST_CASE("the upgrade plan stops at required stops and refuses what it cannot do", "[unit]") {
    const SchemaChain chain = parse_schema_chain(files, 1, "");
    using V = std::vector<int>;
    CHECK(plan_schema_upgrade(chain, 0, 4).value() == V{1, 2, 3, 4}); // empty: no stops
    CHECK(plan_schema_upgrade(chain, 1, 2).value() == V{2});
    CHECK(plan_schema_upgrade(chain, 2, 3).value() == V{3});
    CHECK(plan_schema_upgrade(chain, 3, 4).value() == V{4});
    CHECK(plan_schema_upgrade(chain, 4, 4).value().empty());

    CHECK(refusal(chain, 1, 4).find("schema 2 (stop) is a required stop") != std::string::npos);
    CHECK(refusal(chain, 1, 3)
              .find("`imap-migrator db upgrade --to 2`, then run the converter, "
                    "then `imap-migrator db upgrade` again") != std::string::npos);
    CHECK(refusal(chain, 2, 4)
              .find("Run `imap-migrator db upgrade --to 3`, then "
                    "`imap-migrator db upgrade` again") != std::string::npos);
    CHECK(refusal(chain, 5, 4).find("database schema version 5 is newer") != std::string::npos);
    CHECK(refusal(chain, 3, 2).find("never downgraded") != std::string::npos);
    CHECK(refusal(chain, 1, 9)
              .find("schema version 9 is not one this imap-migrator knows (1 to "
                    "4)") != std::string::npos);

    const SchemaChain squashed =
        parse_schema_chain({{"0003_base.sql", ""}, {"0004_last.sql", ""}}, 3, "0.4.0");
    CHECK(plan_schema_upgrade(squashed, 0, 4).value() == V{3, 4});
    CHECK(plan_schema_upgrade(squashed, 3, 4).value() == V{4});
    CHECK(refusal(squashed, 2, 4).find("install imap-migrator 0.4.0") != std::string::npos);
    CHECK(refusal(squashed, 0, 2).find("not one this imap-migrator knows") != std::string::npos);
}
