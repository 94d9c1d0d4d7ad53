// Creating a migration task: a new migrations row, its 'created' event and the NOTIFY that
// wakes the worker, for `imap-migrator migrations create --from-csv`. The login path writes the
// same rows within its one-statement transaction (login_flow.cpp).
#pragma once

#include "crypto/secrets.hpp"
#include "db/store.hpp"

#include <string>
#include <string_view>

namespace imapmig {

// The associated data that binds a sealed old password to its migration row.
std::string migration_secret_context(std::string_view provider, std::string_view old_login);

struct NewMigrationTask {
    std::string_view account_id;
    std::string_view provider;  // ProviderConfig::name
    std::string_view old_login; // lower-case address at the old provider
    // Sealed with migration_secret_context(provider, old_login) as associated data.
    const SealedSecret &secret;
    std::string_view event_message; // the 'created' event's message
};

// Must run inside the caller's transaction: the NOTIFY is delivered at its commit.
// Returns the new migration's id. Errors are the database's (a duplicate is permanent).
Result<std::string> insert_migration_task(Connection &conn, const NewMigrationTask &task);

} // namespace imapmig
