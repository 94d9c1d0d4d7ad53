// imap-migrator import-postfixadmin --from CONNINFO: a postfixadmin 3.3 database into our
// schema, in one transaction, with a summary and a report of what was not converted.
#include "cli.hpp"

#include "crypto/passwords.hpp"
#include "import/csv_import_store.hpp"
#include "import/postfixadmin_import.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>

namespace imapmig::cli {

namespace {

struct PfaArgs {
    std::string from;
    PostfixadminOptions options;
    bool continue_if_exists = false;
    bool dry_run = false;
};

Result<void> take_value(const std::vector<std::string> &args, size_t &i, const std::string &name,
                        std::string &into) {
    const std::string &a = args[i];
    if (a.starts_with(name + "=")) {
        into = a.substr(name.size() + 1);
        return {};
    }
    if (i + 1 == args.size())
        return permanent_error(name + " needs a value");
    into = args[++i];
    return {};
}

Result<PfaArgs> parse_args(const std::vector<std::string> &args) {
    PfaArgs out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        Result<void> r;
        if (a == "--from" || a.starts_with("--from="))
            r = take_value(args, i, "--from", out.from);
        else if (a == "--passwords-scheme" || a.starts_with("--passwords-scheme="))
            r = take_value(args, i, "--passwords-scheme", out.options.passwords_scheme);
        else if (a == "--continue-if-exists")
            out.continue_if_exists = true;
        else if (a == "--dry-run")
            out.dry_run = true;
        else
            return permanent_error("unknown argument " + (a.starts_with("-") ? a : "'" + a + "'"));
        if (!r)
            return r.error();
    }
    if (out.from.empty())
        return permanent_error("--from CONNINFO (the postfixadmin database) is required");
    const auto &known = dovecot_password_schemes();
    std::string scheme = out.options.passwords_scheme;
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::toupper);
    if (!scheme.empty() && std::find(known.begin(), known.end(), scheme) == known.end())
        return permanent_error("--passwords-scheme: unknown scheme (`doveadm pw -l` lists them)");
    return out;
}

void print_summary(const PostfixadminConversion &c, const ImportCounts &counts, bool dry_run) {
    static const char *const names[] = {"domains", "domain aliases", "relay domains", "accounts",
                                        "aliases"};
    std::cout << "summary" << (dry_run ? " (dry run: rolled back, nothing written)" : "") << ":\n";
    for (size_t i = 0; i < counts.size(); ++i) {
        if (i == 2)
            continue; // postfixadmin has no relay domains of ours
        std::cout << "  " << std::left << std::setw(16) << names[i] << "created "
                  << counts[i].created << ", skipped " << counts[i].skipped;
        std::cout << "\n";
    }
    std::cout << "  self-aliases    " << c.self_aliases
              << " not needed (Postfix delivers to mailboxes directly)\n";
}

void print_report(const std::vector<ReportItem> &report) {
    if (report.empty()) {
        std::cout << "not converted: nothing\n";
        return;
    }
    std::cout << "not converted or changed:\n";
    for (const auto &item : report)
        std::cout << "  " << format_report_item(item) << "\n";
}

Result<PostfixadminConversion> read_and_convert(const PfaArgs &args) {
    auto source = Connection::open(args.from);
    if (!source)
        return Error{source.error().kind, "postfixadmin database: " + source.error().message};
    auto data = read_postfixadmin(source.value());
    if (!data)
        return data.error();
    std::cout << "postfixadmin database " << redact_conninfo(args.from) << " (schema version "
              << (data.value().version.empty() ? "unknown" : data.value().version) << ")\n";
    return convert_postfixadmin(data.value(), args.options);
}

// Plans and writes in one transaction; commits unless a dry run.
int convert_into(Connection &target, PostfixadminConversion &conversion, const PfaArgs &args) {
    auto tx = Transaction::begin(target);
    if (!tx)
        return fail(tx.error().message);
    auto catalog = load_import_catalog(target);
    if (!catalog)
        return fail(catalog.error().message);
    PostfixadminPlan plan = plan_postfixadmin(conversion, catalog.value(), args.continue_if_exists);
    if (!plan.errors.empty()) {
        for (const auto &e : plan.errors)
            std::cerr << e << "\n";
        return fail(std::to_string(plan.errors.size()) + " error(s); nothing was written");
    }
    if (auto w = write_postfixadmin(target, conversion, plan); !w)
        return fail(w.error().message + "\nnothing was written");
    if (!args.dry_run)
        if (auto c = tx.value().commit(); !c)
            return fail(c.error().message + "\nnothing was written");
    print_summary(conversion, plan.plan.counts, args.dry_run);
    print_report(conversion.report);
    return exit_ok;
}

} // namespace

int cmd_import_postfixadmin(Context &ctx) {
    auto args = parse_args(ctx.args);
    if (!args)
        return usage_error("import-postfixadmin: " + args.error().message);
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    auto conversion = read_and_convert(args.value());
    if (!conversion)
        return fail(conversion.error().message);
    auto target = connect_database(*config);
    if (!target)
        return exit_error;
    return convert_into(*target, conversion.value(), args.value());
}

} // namespace imapmig::cli
