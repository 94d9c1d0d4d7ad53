// imap-migrator dovecot-sql-conf: the Dovecot SQL passdb/userdb file for this installation.
#include "cli.hpp"

#include "admin/dovecot_sql_conf.hpp"

#include <iostream>

namespace imapmig::cli {

int cmd_dovecot_sql_conf(Context &ctx) {
    bool with_connect = false;
    for (const auto &a : ctx.args) {
        if (a != "--with-connect")
            return usage_error("dovecot-sql-conf: unknown argument " + a);
        with_connect = true;
    }
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    std::cout << render_dovecot_sql_conf(
        shipped_dovecot_sql_conf(),
        {config->database, with_connect, config->accounts.password_scheme});
    return exit_ok;
}

} // namespace imapmig::cli
