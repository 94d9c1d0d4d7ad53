#include "import/migration_import.hpp"

#include "db/migrations_table.hpp"
#include "import/csv_parser.hpp"

#include <algorithm>
#include <set>

namespace imapmig {

namespace {

const char *const field_names[] = {"address", "old login", "old password"};

std::string field_name(size_t i) {
    return i < 3 ? field_names[i] : std::to_string(i + 1);
}

std::optional<ImportError> check_encoding(int line, const std::vector<std::string> &fields) {
    for (size_t i = 0; i < fields.size(); ++i) {
        if (!valid_utf8(fields[i]))
            return ImportError{line, field_name(i),
                               "not valid UTF-8 (the file must be UTF-8 encoded)"};
        if (i < 2 && std::any_of(fields[i].begin(), fields[i].end(), [](char c) {
                return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
            }))
            return ImportError{line, field_name(i), "contains control characters"};
    }
    if (fields.size() != 3)
        return ImportError{line, field_name(std::min<size_t>(fields.size(), 3)),
                           std::string(fields.size() < 3 ? "missing" : "unexpected extra field") +
                               " (a line has 3 fields: address; old login; old password)"};
    return std::nullopt;
}

std::variant<MigrationLine, ImportError> parse_one(const SourceLine &src, char sep) {
    CsvSplit split = split_csv_line(src.text, sep);
    if (!split.ok)
        return ImportError{src.number, field_name(split.bad_field), split.error};
    if (auto err = check_encoding(src.number, split.fields))
        return *err;
    auto address = parse_mail_address(split.fields[0]);
    if (!address)
        return ImportError{src.number, "address",
                           "expected the account's address local@domain (" +
                               address.error().message + ")"};
    auto old_login = parse_mail_address(split.fields[1]);
    if (!old_login)
        return ImportError{src.number, "old login",
                           "expected the login at the old provider, local@domain (" +
                               old_login.error().message + ")"};
    if (!check_password_input(split.fields[2]))
        return ImportError{src.number, "old password",
                           "expected a password of 1 to " + std::to_string(max_password_length) +
                               " bytes without control characters"};
    return MigrationLine{src.number, address.value(), old_login.value(),
                         SecretString(split.fields[2])};
}

// A line that will get a task.
struct Target {
    std::string account_id;
    const ProviderConfig *provider = nullptr;
};
using Checked = std::optional<Target>;

// Checks lines against the database and the config, remembering what the file itself claims.
class MigrationChecker {
public:
    MigrationChecker(Connection &c, const Config &config, const MigrationImportOptions &o)
        : c_(c), config_(config), options_(o) {}

    // The target of a line to create; nullopt for a skipped or bad line (recorded in out).
    Result<Checked> check(const MigrationLine &l, MigrationImportResult &out) {
        auto account = lookup(l.address.str());
        if (!account)
            return account.error();
        if (!account.value())
            return none(out, l, "address",
                        "account " + l.address.str() + " does not exist here (import it first)");
        const AccountMigrationInfo &a = *account.value();
        const ProviderConfig *provider = provider_for(l, a, out);
        if (provider == nullptr)
            return Checked();
        if (a.has_task || !accounts_.insert(a.account_id).second) {
            if (options_.continue_if_exists) {
                ++out.skipped;
                return Checked();
            }
            return none(out, l, "address",
                        "account " + l.address.str() +
                            " already has a migration task (--continue-if-exists skips it)");
        }
        auto taken = login_taken(*provider, l.old_login.str());
        if (!taken)
            return taken.error();
        if (taken.value())
            return none(out, l, "old login",
                        "this old login already has a migration task for another account");
        return Checked(Target{a.account_id, provider});
    }

private:
    static Result<Checked> none(MigrationImportResult &out, const MigrationLine &l,
                                const char *field, std::string msg) {
        out.errors.push_back({l.line, field, std::move(msg)});
        return Checked();
    }

    Result<std::optional<AccountMigrationInfo>> lookup(const std::string &address) {
        return account_migration_info(c_, address);
    }

    const ProviderConfig *provider_for(const MigrationLine &l, const AccountMigrationInfo &a,
                                       MigrationImportResult &out) {
        auto route = config_.route_for_old_domain(l.old_login.domain);
        if (route.provider == nullptr) {
            out.errors.push_back({l.line, "old login",
                                  "domain " + l.old_login.domain +
                                      " is not declared under any provider in the configuration"});
            return nullptr;
        }
        const auto &domains = route.provider->domains;
        if (std::none_of(domains.begin(), domains.end(),
                         [&](const DomainMapping &m) { return m.local_domain == a.domain; })) {
            out.errors.push_back({l.line, "old login",
                                  "provider " + route.provider->name +
                                      " has no domains entry whose local_domain is " + a.domain +
                                      ", the domain of the account"});
            return nullptr;
        }
        return route.provider;
    }

    Result<bool> login_taken(const ProviderConfig &p, const std::string &old_login) {
        if (!logins_.insert(p.name + "\n" + old_login).second)
            return true;
        return old_login_has_task(c_, p.name, old_login);
    }

    Connection &c_;
    const Config &config_;
    const MigrationImportOptions &options_;
    std::set<std::string> accounts_, logins_;
};

} // namespace

ParsedMigrations parse_migration_lines(std::string_view file_text, char sepchar) {
    ParsedMigrations out;
    for (const SourceLine &src : record_lines(file_text)) {
        auto parsed = parse_one(src, sepchar);
        if (auto *err = std::get_if<ImportError>(&parsed))
            out.errors.push_back(std::move(*err));
        else
            out.lines.push_back(std::move(std::get<MigrationLine>(parsed)));
    }
    return out;
}

Result<MigrationImportResult> create_migrations(Connection &conn, const Config &config,
                                                const KeyRing &keys, const ParsedMigrations &parsed,
                                                const MigrationImportOptions &options) {
    MigrationImportResult out;
    out.errors = parsed.errors;
    MigrationChecker checker(conn, config, options);
    std::vector<std::pair<const MigrationLine *, Target>> todo;
    for (const MigrationLine &l : parsed.lines) {
        auto checked = checker.check(l, out);
        if (!checked)
            return checked.error();
        if (checked.value())
            todo.emplace_back(&l, *checked.value());
    }
    std::sort(out.errors.begin(), out.errors.end(),
              [](const ImportError &a, const ImportError &b) { return a.line < b.line; });
    if (!out.errors.empty() || options.dry_run) {
        out.created = out.errors.empty() ? static_cast<int>(todo.size()) : 0;
        return out;
    }
    for (const auto &[line, target] : todo) {
        const std::string old_login = line->old_login.str();
        const std::string &provider = target.provider->name;
        SealedSecret sealed =
            keys.seal(line->old_password, migration_secret_context(provider, old_login));
        auto id = insert_migration_task(
            conn, {target.account_id, provider, old_login, sealed, "created from CSV"});
        if (!id)
            return Error{id.error().kind,
                         "line " + std::to_string(line->line) + ": " + id.error().message};
        ++out.created;
    }
    return out;
}

} // namespace imapmig
