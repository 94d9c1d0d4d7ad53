// Converting a postfixadmin 3.3 database (Debian's `postfixadmin` package, schema version 1847)
// into our schema. Reading is plain libpq against the postfixadmin database; the mapping is pure
// and produces the same records a CSV import does, so csv_import_plan checks them (existing
// objects, references) and csv_import_store writes them.
//
// What maps to what:
//   domain (not ALL, not an alias domain, not a backup MX) -> domains: quota -> quota_mb,
//     maxquota (the per-mailbox maximum, in MB) -> default_mailbox_quota_mb; -1 (disabled) and
//     0 both mean unlimited
//   alias_domain -> domain_aliases
//   mailbox -> accounts with address local_part@domain; quota in bytes -> whole MB, never below
//     the old limit; the password hash is kept in a form Dovecot verifies
//   alias -> aliases (catch-all @domain kept; a mailbox's automatic self-alias skipped; goto split
//     on commas and trimmed; vacation auto-reply targets dropped)
//   admin + domain_admins -> role DomainAdmins with administered domains; admin.superadmin or a
//     domain_admins row for ALL -> SuperAdmins. An admin who has a mailbox gives that account its
//     role; one without becomes an account without address.
// Everything that is not converted lands in the report, never silently dropped.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "db/store.hpp"
#include "import/csv_import_plan.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct PfaDomain {
    std::string name;
    int64_t aliases = 0, mailboxes = 0; // postfixadmin's count limits
    int64_t maxquota = 0, quota = 0;    // MB; -1 disabled, 0 unlimited
    std::string transport;
    bool backupmx = false;
    bool active = true;
};

struct PfaAliasDomain {
    std::string alias_domain, target_domain;
    bool active = true;
};

struct PfaMailbox {
    std::string username;
    SecretString password;
    std::string name;
    int64_t quota_bytes = 0;
    std::string domain, local_part;
    bool active = true;
    bool has_contact_details = false; // phone or email_other set
};

struct PfaAlias {
    std::string address, goto_list, domain;
    bool active = true;
};

struct PfaAdmin {
    std::string username;
    SecretString password;
    bool superadmin = false;
    bool active = true;
};

struct PfaDomainAdmin {
    std::string username, domain;
    bool active = true;
};

struct PostfixadminData {
    std::string version; // config.version, e.g. "1847"
    std::vector<PfaDomain> domains;
    std::vector<PfaAliasDomain> alias_domains;
    std::vector<PfaMailbox> mailboxes;
    std::vector<PfaAlias> aliases;
    std::vector<PfaAdmin> admins;
    std::vector<PfaDomainAdmin> domain_admins;
    std::vector<std::string> vacations; // vacation.email
    std::vector<std::string> fetchmail; // fetchmail.mailbox (never its remote credentials)
};

// Reads every table we convert or report on, in one read-only repeatable-read transaction.
// Errors name the table, never a value; a database without postfixadmin's tables is permanent.
Result<PostfixadminData> read_postfixadmin(Connection &source);

// One line of the "not converted" report: what, how many, the first few names, what to do.
struct ReportItem {
    std::string what;
    std::string note;
    int count = 0;
    std::vector<std::string> examples; // at most report_examples
};
constexpr size_t report_examples = 5;
// "what: count (name, name, ...) note", as the imports print a report line.
std::string format_report_item(const ReportItem &item);

struct PostfixadminOptions {
    // Forced scheme for bare hashes ("" = recognise $1$, $5$, $6$, $2y$, $argon2...$).
    std::string passwords_scheme;
};

struct PostfixadminConversion {
    ParsedImport records;             // ImportLine::line numbers the records from 1
    std::vector<std::string> sources; // sources[line - 1]: "mailbox ann@a.example"
    // Alias recipients that are aliases in a reference cycle: added after all aliases exist.
    std::vector<std::pair<std::string, std::string>> deferred_recipients; // alias, recipient
    std::vector<ReportItem> report;
    int self_aliases = 0;     // skipped: Postfix delivers to mailboxes directly
    int disabled_logins = 0;  // accounts imported disabled because of their password
    int mailbox_accounts = 0; // accounts with a mailbox (the others are administrators only)
};

PostfixadminConversion convert_postfixadmin(const PostfixadminData &data,
                                            const PostfixadminOptions &options);

// The stored form of a postfixadmin hash, or an error saying why Dovecot could not verify it
// (never echoing the hash). forced_scheme applies to bare hashes only.
Result<std::string> convert_password_hash(std::string_view hash, std::string_view forced_scheme);

// Mailbox quota in bytes -> whole MB (Dovecot's M = MiB), never below the old limit: exact MiB,
// else postfixadmin's default quota_multiplier (1024000, what the admin typed), else rounded up.
int64_t quota_bytes_to_mb(int64_t bytes);

// Checks the conversion against our database (catalog) like a CSV file; errors are described
// with the postfixadmin object ("postfixadmin mailbox ann@a.example: field ...: ...").
struct PostfixadminPlan {
    ImportPlan plan;
    std::vector<std::string> errors;
};
PostfixadminPlan plan_postfixadmin(PostfixadminConversion &conversion, ImportCatalog &catalog,
                                   bool continue_if_exists);

// Writes a checked plan inside the caller's transaction.
Result<void> write_postfixadmin(Connection &target, const PostfixadminConversion &conversion,
                                const PostfixadminPlan &plan);

} // namespace imapmig
