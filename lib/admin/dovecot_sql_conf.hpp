// The Dovecot SQL passdb/userdb configuration for our schema: the text of
// conf.d/dovecot-sql-imapmigration.conf.ext, embedded at build time so the command that prints
// it can never drift from the file the package ships.
#pragma once

#include <string>
#include <string_view>

namespace imapmig {

// The shipped file, verbatim.
std::string_view shipped_dovecot_sql_conf();

struct DovecotSqlConfOptions {
    std::string database;        // the config's libpq conninfo
    bool with_connect = false;   // print it: it may hold a password
    std::string password_scheme; // default_pass_scheme; empty: keep the file's
};

// The shipped text with `connect` (and default_pass_scheme) set for this installation. Without
// with_connect the connect line is a comment that says how to get it.
std::string render_dovecot_sql_conf(std::string_view shipped, const DovecotSqlConfOptions &options);

} // namespace imapmig
