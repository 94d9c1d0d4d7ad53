// Creating a migration task: the one place that writes a new migrations row, its 'created'
// event and the NOTIFY that wakes the worker. Used by the login path and by
// `imap-migrator migrations create --from-csv`.
#pragma once

#include "secrets.hpp"
#include "store.hpp"

#include <string>
#include <string_view>

namespace imapmig {

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
