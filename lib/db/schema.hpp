// The versioned schema and its upgrade runner. Schema files are lib/db/schema/NNNN_name.sql,
// embedded at build time; each is applied in its own transaction under an advisory lock, so an
// upgrade that fails or is killed half way leaves the database at the previous version.
//
// Two markers shape an upgrade path over the years:
// - a required stop: a file with the line `-- imapmig: required-stop: WHAT TO DO` must be reached
//   on its own (`db upgrade --to N`) before anything after it is applied, because the admin has
//   something to do in between (e.g. convert data with the tools of that release). A fresh,
//   empty database has nothing to carry across and is not stopped.
// - a squashed baseline: when old files are folded into one, the chain starts above 1 and the
//   binary knows which release still upgrades databases older than that (see schema.cpp).
#pragma once

#include "base/error.hpp"
#include "db/store.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace imapmig {

struct EmbeddedSchemaFile {
    const char *file_name; // NNNN_name.sql
    const char *sql;
};
const std::vector<EmbeddedSchemaFile> &embedded_schema_files(); // generated

struct SchemaMigration {
    int version = 0;
    std::string name;
    std::string sql;
    bool required_stop = false;
    std::string stop_note; // what the admin does at the stop; may be empty
};

// The migrations one binary knows, in order.
struct SchemaChain {
    // Consecutive versions. The first is 1, or a squashed baseline that creates the whole schema
    // of its version from nothing.
    std::vector<SchemaMigration> migrations;
    // The release that still upgrades a database older than the baseline (empty when the chain
    // starts at 1).
    std::string release_for_older;

    int first() const { return migrations.empty() ? 0 : migrations.front().version; }
    int latest() const { return migrations.empty() ? 0 : migrations.back().version; }
    const SchemaMigration &at(int version) const {
        return migrations.at(static_cast<size_t>(version - first()));
    }
};

// Builds a chain from NNNN_name.sql files (sorted by name) and reads their markers. Throws
// std::logic_error when the files do not start at `first` or are not consecutive.
SchemaChain parse_schema_chain(const std::vector<EmbeddedSchemaFile> &files, int first,
                               std::string release_for_older);

// This binary's chain, parsed and checked at first use.
const SchemaChain &embedded_schema_chain();
int latest_schema_version();

// The versions that take a database at `current` (0: empty) to `target`, in order; empty when it
// is there already. A permanent error, whose message says what to run instead, for a database
// newer than the chain, too old for it, a target it does not know or below `current`, or a
// required stop between current and target.
Result<std::vector<int>> plan_schema_upgrade(const SchemaChain &chain, int current, int target);

struct SchemaStatus {
    int current = 0; // 0: empty database
    int latest = 0;
    std::vector<int> pending;
    // Why a plain `db upgrade` would refuse to run (see plan_schema_upgrade).
    std::optional<std::string> blocked;
};
Result<SchemaStatus> schema_status(Connection &conn,
                                   const SchemaChain &chain = embedded_schema_chain());

using SchemaProgress = std::function<void(const std::string &)>;

// Applies plan_schema_upgrade(chain, current, target) under the advisory lock, one transaction
// per version; target 0 means chain.latest(). progress (may be empty) receives one line per
// applied version, and a last line when a required stop was reached. Returns the versions
// applied. On failure the error names the version the database was left at.
Result<std::vector<int>> upgrade_schema(Connection &conn, const SchemaProgress &progress,
                                        int target = 0,
                                        const SchemaChain &chain = embedded_schema_chain());

} // namespace imapmig
