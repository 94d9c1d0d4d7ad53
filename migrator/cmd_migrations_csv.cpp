// imap-migrator migrations create --from-csv FILE: bulk migration tasks (see migration_import.hpp).
#include "cli.hpp"
#include "import_common.hpp"

#include "import/migration_import.hpp"

#include <iostream>

namespace imapmig::cli {

namespace {

int run_migration_csv(const CsvCommandArgs &args, const Config &config, const KeyRing &keys) {
    auto text = read_whole_file(args.from_csv);
    if (!text)
        return fail(text.error().message);
    ParsedMigrations parsed = parse_migration_lines(text.value(), args.sepchar);
    auto conn = Connection::open(config.database);
    if (!conn)
        return fail(conn.error().message);
    auto tx = Transaction::begin(conn.value());
    if (!tx)
        return fail(tx.error().message);
    auto result = create_migrations(conn.value(), config, keys, parsed,
                                    {args.continue_if_exists, args.dry_run});
    if (!result)
        return fail(args.from_csv + ": " + result.error().message +
                    "\nno migration task was created");
    if (!result.value().errors.empty()) {
        report_import_errors(args.from_csv, result.value().errors, args.dry_run);
        return exit_error;
    }
    if (!args.dry_run)
        if (auto c = tx.value().commit(); !c)
            return fail(c.error().message + "\nno migration task was created");
    std::cout << args.from_csv << ": " << result.value().created << " migration task(s) "
              << (args.dry_run ? "would be created (dry run)" : "created") << ", "
              << result.value().skipped << " skipped (the account already has one)\n";
    return exit_ok;
}

} // namespace

int cmd_migrations_create(Context &ctx) {
    auto args = parse_csv_command_args(ctx.args, false, true);
    if (!args)
        return usage_error("migrations create: " + args.error().message);
    if (args.value().from_csv.empty() || !args.value().files.empty())
        return usage_error("migrations create needs --from-csv FILE");
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    auto keys = KeyRing::load(config->secret_key_file, config->previous_secret_key_files);
    if (!keys)
        return fail(keys.error().message);
    return run_migration_csv(args.value(), *config, keys.value());
}

} // namespace imapmig::cli
