// The database side of a CSV import: what exists already (for csv_import_plan) and writing a
// checked plan. The caller owns the transaction: one file = one transaction.
#pragma once

#include "db/store.hpp"
#include "import/csv_import_plan.hpp"

#include <string>

namespace imapmig {

// Every domain, domain alias, relay domain, login, mailbox address and alias (with recipients).
Result<ImportCatalog> load_import_catalog(Connection &conn);

struct ImportWriteOptions {
    bool crypt_passwords = false;
    std::string password_scheme; // for crypt_passwords: the config's accounts.password_scheme
};

// Writes the planned steps in order. An error's message names the place like a parse error,
// "FILE:LINE: field FIELD: what failed" (never a password or a hash).
Result<void> write_import_plan(Connection &conn, const ParsedImport &parsed, const ImportPlan &plan,
                               const ImportWriteOptions &options, std::string_view file);

} // namespace imapmig
