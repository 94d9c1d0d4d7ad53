// The versioned schema and its upgrade runner. Schema files are lib/schema/NNNN_name.sql,
// embedded at build time; each is applied in its own transaction under an advisory lock.
#pragma once

#include "error.hpp"
#include "store.hpp"

#include <functional>
#include <string>
#include <vector>

namespace imapmig {

struct EmbeddedSchemaFile {
    const char *file_name; // NNNN_name.sql
    const char *sql;
};
const std::vector<EmbeddedSchemaFile> &embedded_schema_files(); // generated

struct SchemaMigration {
    int version;
    std::string name;
    const char *sql;
};
// Parsed and checked at first use: versions start at 1 and are consecutive.
const std::vector<SchemaMigration> &schema_migrations();
int latest_schema_version();

struct SchemaStatus {
    int current = 0; // 0: empty database
    int latest = 0;
    std::vector<int> pending;
};
Result<SchemaStatus> schema_status(Connection &conn);

// Applies the missing migrations in order; refuses a database newer than this binary.
// progress receives one line per applied migration. Returns the versions applied.
Result<std::vector<int>> upgrade_schema(Connection &conn,
                                        const std::function<void(const std::string &)> &progress);

} // namespace imapmig
