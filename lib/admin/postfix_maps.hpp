// Postfix lookup tables (pgsql_table(5)) for our schema: one file per map, each with the
// database connection and one query. Disabled domains, accounts, aliases and domain aliases are
// never served. Verified with Postfix 3.7's postmap -q.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct PostfixMap {
    std::string file;      // "virtual-alias-maps.cf"
    std::string parameter; // main.cf parameter it serves: "virtual_alias_maps"
    std::string comment;   // what a lookup answers
    std::string query;     // uses %s (the whole key) only
};

// Every map we write, in main.cf order.
const std::vector<PostfixMap> &postfix_maps();

// How Postfix reaches the database, from the config's libpq conninfo.
struct PostfixPgsqlTarget {
    std::string hosts; // the value of `hosts =`
    std::string user;
    SecretString password;
    std::string dbname;
};

// Parses conninfo with PQconninfoParse. A TCP host becomes `inet:host:port`; a socket directory
// `unix:/dir` with the default port, else a postgresql:// URI (Postfix's unix: form has no port;
// with a URI Postfix ignores the user/password/dbname lines, so the URI carries them). No host:
// libpq's Debian default /var/run/postgresql. Errors never show the password.
Result<PostfixPgsqlTarget> postfix_pgsql_target(const std::string &conninfo);

// The text of one map file.
std::string render_postfix_map(const PostfixPgsqlTarget &target, const PostfixMap &map);

// Writes every map into dir (created if missing) with mode 0640, group postfix when it exists
// and we may; replaces files atomically. Returns the paths written.
Result<std::vector<std::string>> write_postfix_maps(const std::string &dir,
                                                    const PostfixPgsqlTarget &target);

// The main.cf lines that use the maps in dir.
std::string postfix_main_cf_lines(const std::string &dir);

} // namespace imapmig
