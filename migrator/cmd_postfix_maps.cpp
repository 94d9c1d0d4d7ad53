// imap-migrator postfix-maps --dbtype postgres DIR: Postfix lookup tables for our schema.
#include "cli.hpp"

#include "admin/postfix_maps.hpp"

#include <filesystem>
#include <iostream>

namespace imapmig::cli {

namespace {

struct MapsArgs {
    std::string dbtype = "postgres";
    std::string dir;
};

Result<MapsArgs> parse_args(const std::vector<std::string> &args) {
    MapsArgs out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (a == "--dbtype" && i + 1 < args.size())
            out.dbtype = args[++i];
        else if (a.starts_with("--dbtype="))
            out.dbtype = a.substr(9);
        else if (a.starts_with("-"))
            return permanent_error(a == "--dbtype" ? "--dbtype needs a value"
                                                   : "unknown option " + a);
        else if (!out.dir.empty())
            return permanent_error("one DIR only");
        else
            out.dir = a;
    }
    if (out.dbtype != "postgres" && out.dbtype != "postgresql" && out.dbtype != "pgsql")
        return permanent_error("--dbtype: only postgres is supported (our schema lives in "
                               "PostgreSQL)");
    if (out.dir.empty())
        return permanent_error("postfix-maps needs a DIR to write the map files into");
    return out;
}

void print_main_cf(const std::string &dir) {
    std::cout << "\nAdd to /etc/postfix/main.cf (postconf -e ... or by hand):\n"
              << postfix_main_cf_lines(dir)
              << "# deliver to Dovecot over LMTP (Dovecot: service lmtp, protocols += lmtp)\n"
                 "virtual_transport = lmtp:unix:private/dovecot-lmtp\n"
                 "# senders must own the address they send as\n"
                 "smtpd_sender_restrictions = reject_sender_login_mismatch\n"
                 "\nCheck a map: postmap -q ADDRESS pgsql:"
              << dir << "/virtual-alias-maps.cf\n";
}

} // namespace

int cmd_postfix_maps(Context &ctx) {
    auto args = parse_args(ctx.args);
    if (!args)
        return usage_error("postfix-maps: " + args.error().message);
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    auto target = postfix_pgsql_target(config->database);
    if (!target)
        return fail(target.error().message);
    // Postfix reads a relative name as a main.cf parameter prefix, not a file.
    std::error_code ec;
    const std::string dir = std::filesystem::absolute(args.value().dir, ec).lexically_normal();
    if (ec)
        return fail(args.value().dir + ": " + ec.message());
    auto written = write_postfix_maps(dir.ends_with("/") ? dir.substr(0, dir.size() - 1) : dir,
                                      target.value());
    if (!written)
        return fail(written.error().message);
    for (const auto &path : written.value())
        std::cout << "wrote " << path << " (mode 0640: it holds the database credentials)\n";
    print_main_cf(dir.ends_with("/") ? dir.substr(0, dir.size() - 1) : dir);
    return exit_ok;
}

} // namespace imapmig::cli
