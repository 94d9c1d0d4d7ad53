// MigrationState against the schema: the enum and the migrations.state CHECK constraint of the
// latest schema file that defines it list the same states, so a state added on one side only
// fails here instead of at the first UPDATE that writes it.
#include "db/migrations_table.hpp"
#include "db/schema.hpp"

#include "catch_compat.hpp"

#include <algorithm>
#include <optional>
#include <regex>
#include <string>
#include <vector>

using namespace imapmig;

namespace {

std::string without_comments(const std::string &sql) {
    return std::regex_replace(sql, std::regex("--[^\n]*"), "");
}

// The text between the parenthesis at `open` and its partner.
std::string parenthesized(const std::string &s, size_t open) {
    int depth = 0;
    for (size_t i = open; i < s.size(); ++i) {
        depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
        if (depth == 0)
            return s.substr(open + 1, i - open - 1);
    }
    return s.substr(open + 1);
}

// The quoted values of the CHECK on `state` in one statement on the migrations table (CREATE
// TABLE or ALTER TABLE ... ADD CONSTRAINT), or nothing when the statement has none.
std::optional<std::vector<std::string>> state_check(const std::string &statement) {
    static const std::regex on_migrations(
        R"(^\s*(CREATE\s+TABLE(\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE(\s+IF\s+EXISTS)?(\s+ONLY)?))"
        R"(\s+(public\.)?migrations\b)",
        std::regex::icase);
    static const std::regex check_state(R"(CHECK\s*\(\s*state\b)", std::regex::icase);
    std::smatch m;
    if (!std::regex_search(statement, on_migrations) ||
        !std::regex_search(statement, m, check_state))
        return std::nullopt;
    const size_t open = statement.find('(', static_cast<size_t>(m.position(0)));
    const std::string body = parenthesized(statement, open);
    std::vector<std::string> values;
    static const std::regex quoted("'([^']*)'");
    for (std::sregex_iterator it(body.begin(), body.end(), quoted), end; it != end; ++it)
        values.push_back((*it)[1]);
    return values;
}

// The states the latest schema allows, and the file that says so.
std::pair<std::string, std::vector<std::string>> schema_states() {
    std::pair<std::string, std::vector<std::string>> found;
    for (const EmbeddedSchemaFile &f : embedded_schema_files()) {
        const std::string sql = without_comments(f.sql);
        size_t start = 0;
        while (start < sql.size()) {
            size_t end = sql.find(';', start);
            if (end == std::string::npos)
                end = sql.size();
            if (auto states = state_check(sql.substr(start, end - start)))
                found = {f.file_name, *states};
            start = end + 1;
        }
    }
    return found;
}

} // namespace

TEST_CASE("MigrationState lists exactly the states the schema's CHECK constraint allows",
          "[unit]") {
    const auto [file, schema] = schema_states();
    INFO("constraint read from " << file);
    // Empty: no schema file defines it in a form state_check reads; teach it the new form.
    REQUIRE_FALSE(schema.empty());
    std::vector<std::string> ours;
    for (const MigrationStateName &n : migration_state_names)
        ours.emplace_back(n.text);
    std::vector<std::string> sorted_schema = schema, sorted_ours = ours;
    std::sort(sorted_schema.begin(), sorted_schema.end());
    std::sort(sorted_ours.begin(), sorted_ours.end());
    CHECK(sorted_ours == sorted_schema);
}

TEST_CASE("the schema reader finds a constraint replaced by a later file", "[unit]") {
    CHECK(state_check("CREATE TABLE accounts (state text CHECK (state IN ('a')))") == std::nullopt);
    CHECK(state_check("ALTER TABLE migrations DROP CONSTRAINT migrations_state_check") ==
          std::nullopt);
    CHECK(state_check("\nALTER TABLE migrations ADD CONSTRAINT migrations_state_check\n"
                      "  CHECK (state IN ('pending', 'incomplete'))") ==
          std::vector<std::string>{"pending", "incomplete"});
    CHECK(state_check("ALTER TABLE IF EXISTS public.migrations DROP CONSTRAINT c,\n"
                      "  ADD CONSTRAINT c CHECK (state IN ('a', 'b'))") ==
          std::vector<std::string>{"a", "b"});
    CHECK(state_check("ALTER TABLE migration_events ADD CHECK (state IN ('a'))") == std::nullopt);
    CHECK(state_check("ALTER TABLE ONLY migrations ADD CONSTRAINT c CHECK (state = ANY "
                      "(ARRAY['x'::text, 'y'::text]))") == std::vector<std::string>{"x", "y"});
}

TEST_CASE("a migration state reads back from its text", "[unit]") {
    for (const MigrationStateName &n : migration_state_names) {
        CHECK(to_string(n.state) == n.text);
        CHECK(parse_migration_state(n.text) == n.state);
    }
    CHECK(parse_migration_state("Pending") == std::nullopt);
    CHECK(parse_migration_state("") == std::nullopt);
}
