// master-user: the passwd-file line for Dovecot's master passdb, from local_imap's password file.
#include "cli.hpp"

#include "crypto/passwords.hpp"
#include "crypto/secrets.hpp"

#include <iostream>

namespace imapmig::cli {

int cmd_master_user(Context &ctx) {
    if (!ctx.args.empty())
        return usage_error("master-user takes no arguments");
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    if (!config->local_imap)
        return fail(ctx.config_path + ": local_imap is not configured");
    auto password = read_password_file(config->local_imap->master_password_file);
    if (!password)
        return fail(password.error().message);
    auto hash = hash_password(config->accounts.password_scheme, password.value());
    if (!hash)
        return fail(hash.error().message);
    std::cout << config->local_imap->master_user << ":" << hash.value() << "\n";
    return exit_ok;
}

} // namespace imapmig::cli
