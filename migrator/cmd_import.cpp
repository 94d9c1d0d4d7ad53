// imap-migrator import FILE...: the CSV import of DESIGN.md "CSV import".
#include "cli.hpp"
#include "import_common.hpp"

#include "import/csv_import_plan.hpp"
#include "import/csv_import_store.hpp"
#include "import/postfixadmin_import.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>

namespace imapmig::cli {

namespace {

struct ImportRun {
    const CsvCommandArgs &args;
    const Config &config;
    Connection &conn;
    ImportCatalog catalog;
    ImportCounts totals{};
    std::vector<std::string> weak_passwords{}; // accounts created with them, every file
};

bool file_failed(const std::string &message) {
    fail(message);
    return false;
}

// Parses, checks and (unless a dry run) writes one file in one transaction.
bool import_file(ImportRun &run, const std::string &file) {
    auto text = read_whole_file(file);
    if (!text)
        return file_failed(text.error().message);
    ParsedImport parsed = parse_import(text.value(), {run.args.sepchar, run.args.crypt_passwords});
    ImportPlan plan = plan_import(parsed, run.catalog, run.args.continue_if_exists);
    std::vector<ImportError> errors = std::move(parsed.errors);
    errors.insert(errors.end(), plan.errors.begin(), plan.errors.end());
    if (!errors.empty()) {
        report_import_errors(file, std::move(errors), run.args.dry_run);
        return false;
    }
    if (!run.args.dry_run) {
        auto tx = Transaction::begin(run.conn);
        if (!tx)
            return file_failed(tx.error().message);
        ImportWriteOptions options{run.args.crypt_passwords, run.config.accounts.password_scheme};
        if (auto w = write_import_plan(run.conn, parsed, plan, options, file); !w)
            return file_failed(w.error().message + "\n" + file +
                               ": nothing of this file was written");
        if (auto c = tx.value().commit(); !c)
            return file_failed(c.error().message + "\n" + file +
                               ": nothing of this file was written");
    }
    std::cout << file << ": " << parsed.lines.size() << " line(s) "
              << (run.args.dry_run ? "checked, nothing written (dry run)" : "imported") << "\n";
    add_counts(run.totals, plan.counts);
    if (!run.args.crypt_passwords) // else our own scheme hashes them
        for (auto &name : weak_password_accounts(parsed, plan))
            run.weak_passwords.push_back(std::move(name));
    return true;
}

void print_summary(const ImportCounts &totals, const std::vector<std::string> &weak, bool dry_run) {
    static const char *const names[] = {"domains", "domain aliases", "relay domains", "accounts",
                                        "aliases"};
    std::cout << "summary" << (dry_run ? " (dry run: what the import would do)" : "") << ":\n";
    for (size_t i = 0; i < totals.size(); ++i) {
        std::cout << "  " << std::left << std::setw(16) << names[i] << "created "
                  << totals[i].created << ", skipped " << totals[i].skipped;
        if (i == 4)
            std::cout << ", merged " << totals[i].merged;
        std::cout << "\n";
    }
    // The line `import-postfixadmin` prints for these, with as many names as it shows.
    if (weak.empty())
        return;
    ReportItem item{std::string(weak_passwords_what),
                    std::string(weak_passwords_note),
                    static_cast<int>(weak.size()),
                    {}};
    item.examples.assign(weak.begin(), weak.begin() + std::min(weak.size(), report_examples));
    std::cout << "  " << format_report_item(item) << "\n";
}

} // namespace

int cmd_import(Context &ctx) {
    auto args = parse_csv_command_args(ctx.args, true, false);
    if (!args)
        return usage_error("import: " + args.error().message);
    if (args.value().files.empty())
        return usage_error("import needs at least one FILE");
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    auto conn = Connection::open(config->database);
    if (!conn)
        return fail(conn.error().message);
    auto catalog = load_import_catalog(conn.value());
    if (!catalog)
        return fail(catalog.error().message);
    ImportRun run{args.value(), *config, conn.value(), std::move(catalog.value())};
    bool ok = true;
    for (const auto &file : args.value().files) {
        ok = import_file(run, file) && ok;
        // Later files usually build on earlier ones: stop at a failed one, except in a dry run.
        if (!ok && !args.value().dry_run) {
            std::cerr << "imap-migrator: import stopped at " << file << "\n";
            break;
        }
    }
    print_summary(run.totals, run.weak_passwords, args.value().dry_run);
    return ok ? exit_ok : exit_error;
}

} // namespace imapmig::cli
