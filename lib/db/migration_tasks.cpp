#include "db/migration_tasks.hpp"

namespace imapmig {

std::string migration_secret_context(std::string_view provider, std::string_view old_login) {
    return "imapmigration/v1\n" + std::string(provider) + "\n" + std::string(old_login);
}

Result<std::string> insert_migration_task(Connection &c, const NewMigrationTask &t) {
    const std::string_view blob(reinterpret_cast<const char *>(t.secret.blob.data()),
                                t.secret.blob.size());
    auto migration =
        c.exec("migration create",
               "INSERT INTO migrations (account_id, provider, old_login, secret, "
               "secret_key_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
               {t.account_id, t.provider, t.old_login, Param::binary(blob), t.secret.key_id});
    if (!migration)
        return migration.error();
    std::string id = migration.value().str(0, 0);
    auto event = c.exec("migration event",
                        "INSERT INTO migration_events (migration_id, kind, message) "
                        "VALUES ($1, 'created', $2)",
                        {id, t.event_message});
    if (!event)
        return event.error();
    // Delivered at commit: wakes the worker for the first sync.
    auto notify = c.exec("migration notify", "SELECT pg_notify('imap_migration', $1)", {id});
    if (!notify)
        return notify.error();
    return id;
}

} // namespace imapmig
