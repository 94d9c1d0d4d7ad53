// The import file format of DESIGN.md "CSV import" (the seed's five line types), parsed into
// typed records. Pure: no database; references between objects are checked by csv_import_plan.
//
//   domain; <name>; <quota>; <default mailbox quota>; <enabled>
//   domainalias; <name>; <targeted domain>; <enabled>
//   relaydomain; <name>; <target host>; <target port>; <service>; <enabled>; <verify recipients>
//   account; <loginname>; <password>; <first name>; <last name>; <enabled>; <group>
//            [; <address> [; <quota> [; <domain> ...]]]
//   alias; <address>; <enabled>; <recipient> [; <recipient> ...]
//
// Booleans are true for true/1/yes/y (any case) and false otherwise; quotas are non-negative
// integers in MB; names are validated and lower-cased. Error messages name the field and what
// was expected, never the value (a shifted column could put a password anywhere).
#pragma once

#include "base/secret_string.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace imapmig {

struct DomainRecord {
    std::string name;
    int64_t quota_mb = 0;
    int64_t default_mailbox_quota_mb = 0;
    bool enabled = true;
};

struct DomainAliasRecord {
    std::string name;
    std::string target; // the targeted domain
    bool enabled = true;
};

struct RelayDomainRecord {
    std::string name;
    std::string target_host;
    int target_port = 25;
    std::string service;
    bool enabled = true;
    bool verify_recipients = false;
};

enum class AccountRole { super_admin, domain_admin, reseller, simple_user };
std::string_view to_string(AccountRole role); // "SuperAdmins", ... as stored

struct AccountRecord {
    std::string username;
    SecretString password; // a {SCHEME}hash, or clear text with --crypt-passwords
    std::string first_name;
    std::string last_name;
    bool enabled = true;
    AccountRole role = AccountRole::simple_user;
    std::string address;              // empty: no mailbox (an administrator only)
    std::optional<int64_t> quota_mb;  // unset: the domain's default mailbox quota
    std::vector<std::string> domains; // administered (DomainAdmins, Resellers)
};

struct AliasRecord {
    std::string address; // local@domain, or @domain for a catch-all
    bool enabled = true;
    std::vector<std::string> recipients; // distinct, in file order
};

using ImportRecord =
    std::variant<DomainRecord, DomainAliasRecord, RelayDomainRecord, AccountRecord, AliasRecord>;

// "domain", "domainalias", "relaydomain", "account", "alias"
std::string_view record_type_name(const ImportRecord &record);

struct ImportLine {
    int line = 0;
    ImportRecord record;
};

struct ImportError {
    int line = 0;
    std::string field; // the seed's name of the field: "name", "default mailbox quota", ...
    std::string message;
    // "FILE:LINE: field FIELD: MESSAGE"
    std::string to_string(std::string_view file) const;
};

struct ImportOptions {
    char sepchar = ';';
    bool crypt_passwords = false; // passwords are clear text, to be hashed
};

struct ParsedImport {
    std::vector<ImportLine> lines;
    std::vector<ImportError> errors; // in line order
};

// Parses a whole file. Every malformed line gives one error; the others give records.
ParsedImport parse_import(std::string_view file_text, const ImportOptions &options);

// The seed's boolean rule: true, 1, yes, y (any case); anything else is false.
bool parse_import_bool(std::string_view text);

} // namespace imapmig
