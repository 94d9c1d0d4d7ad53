// `imap-migrator migrations create --from-csv FILE`: migration tasks for accounts whose old
// passwords the admin already has. One line per account, in the CSV dialect of the import:
//
//   <address>; <old login>; <old password>
//
// The account <address> must exist here; the old login's domain must be declared under a
// provider that serves the account's domain (a domains entry whose local_domain it is).
// Tasks are created exactly as the login path creates them (db/migrations_table.hpp).
#pragma once

#include "base/address.hpp"
#include "config/config.hpp"
#include "crypto/secrets.hpp"
#include "db/store.hpp"
#include "import/csv_import.hpp"

#include <string>
#include <vector>

namespace imapmig {

struct MigrationLine {
    int line = 0;
    MailAddress address;
    MailAddress old_login;
    SecretString old_password;
};

struct ParsedMigrations {
    std::vector<MigrationLine> lines;
    std::vector<ImportError> errors; // fields: "address", "old login", "old password"
};

// Pure: syntax, encoding and field checks. Never echoes a value.
ParsedMigrations parse_migration_lines(std::string_view file_text, char sepchar);

struct MigrationImportOptions {
    bool continue_if_exists = false; // skip accounts that already have a task
    bool dry_run = false;            // check everything, write nothing
};

struct MigrationImportResult {
    int created = 0;
    int skipped = 0;
    std::vector<ImportError> errors; // non-empty: nothing was written
};

// Checks every line against the database and the config and, unless dry_run or there were
// errors, creates the tasks in one transaction (the caller's: begin before, commit after).
// The Result fails only for infrastructure problems (database).
Result<MigrationImportResult> create_migrations(Connection &conn, const Config &config,
                                                const KeyRing &keys, const ParsedMigrations &parsed,
                                                const MigrationImportOptions &options);

} // namespace imapmig
