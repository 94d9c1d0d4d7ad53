// The second step of a CSV import: checks each parsed line against what exists (the database,
// then the earlier lines of the file) and decides create / skip / merge. Pure: the catalog of
// existing names is loaded by csv_import_store and updated here as lines are planned.
#pragma once

#include "import/csv_import.hpp"

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace imapmig {

// Where a name was seen: 0 = already in the database, else the line of the file that creates it.
struct KnownDomain {
    int line = 0;
    int64_t quota_mb = 0;
    int64_t default_mailbox_quota_mb = 0;
};

struct KnownAlias {
    int line = 0;
    std::set<std::string> recipients;
};

struct ImportCatalog {
    std::unordered_map<std::string, KnownDomain> domains;
    std::unordered_map<std::string, int> domain_aliases;
    std::unordered_map<std::string, int> relay_domains;
    std::unordered_map<std::string, int> usernames;
    std::unordered_map<std::string, std::string> addresses; // mailbox address -> username
    std::unordered_map<std::string, KnownAlias> aliases;
};

enum class PlannedAction { create, skip, merge };

struct PlannedStep {
    size_t index = 0; // into ParsedImport::lines
    PlannedAction action = PlannedAction::create;
    std::vector<std::string> added_recipients; // merge: recipients the alias does not have yet
};

struct TypeCounts {
    int created = 0;
    int skipped = 0;
    int merged = 0;
};
// Indexed like ImportRecord's alternatives: domain, domainalias, relaydomain, account, alias.
using ImportCounts = std::array<TypeCounts, 5>;

struct ImportPlan {
    std::vector<PlannedStep> steps;
    std::vector<ImportError> errors; // in line order
    ImportCounts counts{};
};

// Plans parsed.lines in order. Accounts without a quota get their domain's default mailbox quota
// (written into the record). An existing object is an error unless continue_if_exists (then it is
// skipped; an existing alias gets the new recipients merged). The catalog is updated with every
// line planned without error, so it can carry on to the next file.
ImportPlan plan_import(ParsedImport &parsed, ImportCatalog &catalog, bool continue_if_exists);

void add_counts(ImportCounts &total, const ImportCounts &more);

// Accounts the plan creates with a password hash Dovecot 2.4 refuses unless
// auth_allow_weak_schemes = yes (weak_in_dovecot_24), in file order. Their hashes are imported as
// they are, so that the users keep their passwords; the import output names them (what: count
// (names) note) so that the admin knows why logins fail on 2.4. Only for {SCHEME}hash passwords
// (not --crypt-passwords).
std::vector<std::string> weak_password_accounts(const ParsedImport &parsed, const ImportPlan &plan);
constexpr std::string_view weak_passwords_what = "passwords in schemes Dovecot 2.4 calls weak";
constexpr std::string_view weak_passwords_note =
    "imported as they are: Dovecot 2.4 verifies them only with `auth_allow_weak_schemes = yes` "
    "(2.3 always): set it until these users have changed their passwords";

} // namespace imapmig
