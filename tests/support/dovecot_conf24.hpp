// The pieces of test configs whose syntax differs between Dovecot 2.3 and 2.4, for fixtures
// that write either (dovecot_24() says which line the tree was built for).
#pragma once

#include <string>

namespace testsupport {

// Which shipped conf.d snippets fit: "conf.d" (2.3) or "conf.d/2.4", below the source root.
std::string shipped_conf_dir();

// The passdb's own settings as the line spells them: 2.3 keeps the args string
// ("blocking=yes threads=N connections=N"), 2.4 turns each into a setting line of the passdb
// block (use_worker, imapmigration_hash_threads, imapmigration_sql_connections). An unknown
// word is passed on unchanged (as `word`), so that Dovecot's own check refuses it.
std::string passdb_settings_24(const std::string &args);

// A libpq conninfo ("host=/x port=5 dbname=d user=u") as the lines of a 2.4 `pgsql { parameters
// { } }` block, indented by four spaces.
std::string pgsql_parameters_24(const std::string &conninfo);

// auth_username_format that lower-cases the whole login.
std::string lowercase_username_format();

} // namespace testsupport
