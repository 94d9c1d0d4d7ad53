#include "import/csv_import_store.hpp"

#include "crypto/passwords.hpp"

namespace imapmig {

namespace {

const char *sql_bool(bool b) {
    return b ? "true" : "false";
}

Result<void> load_domains(Connection &c, ImportCatalog &cat) {
    auto rows = c.exec("import catalog domains",
                       "SELECT name, quota_mb, default_mailbox_quota_mb FROM domains");
    if (!rows)
        return rows.error();
    for (int i = 0; i < rows.value().count(); ++i)
        cat.domains[rows.value().str(i, 0)] = {0, rows.value().integer(i, 1),
                                               rows.value().integer(i, 2)};
    return {};
}

Result<void> load_names(Connection &c, const char *what, const char *sql,
                        std::unordered_map<std::string, int> &into) {
    auto rows = c.exec(what, sql);
    if (!rows)
        return rows.error();
    for (int i = 0; i < rows.value().count(); ++i)
        into[rows.value().str(i, 0)] = 0;
    return {};
}

Result<void> load_accounts(Connection &c, ImportCatalog &cat) {
    auto rows = c.exec("import catalog accounts", "SELECT username, address FROM accounts");
    if (!rows)
        return rows.error();
    for (int i = 0; i < rows.value().count(); ++i) {
        cat.usernames[rows.value().str(i, 0)] = 0;
        if (!rows.value().is_null(i, 1))
            cat.addresses[rows.value().str(i, 1)] = rows.value().str(i, 0);
    }
    return {};
}

Result<void> load_aliases(Connection &c, ImportCatalog &cat) {
    auto rows =
        c.exec("import catalog aliases", "SELECT a.address, r.recipient FROM aliases a "
                                         "LEFT JOIN alias_recipients r ON r.alias_id = a.id");
    if (!rows)
        return rows.error();
    for (int i = 0; i < rows.value().count(); ++i) {
        auto &alias = cat.aliases[rows.value().str(i, 0)];
        if (!rows.value().is_null(i, 1))
            alias.recipients.insert(rows.value().str(i, 1));
    }
    return {};
}

std::string domain_of(const std::string &address) {
    return address.substr(address.rfind('@') + 1);
}

// Writes one planned step; errors carry the field they concern as "field: message".
class StepWriter {
public:
    StepWriter(Connection &c, const ImportWriteOptions &o) : c_(c), options_(o) {}

    Result<void> write(const ImportRecord &record, const PlannedStep &step) {
        if (step.action == PlannedAction::skip)
            return {};
        if (step.action == PlannedAction::merge)
            return add_recipients(std::get<AliasRecord>(record).address, step.added_recipients);
        return std::visit([this](const auto &r) { return create(r); }, record);
    }

private:
    // Only the first line of the server's message: its DETAIL ("Failing row contains ...")
    // would show every value of the row, the password hash included.
    static Result<void> done(const Result<Rows> &r, const char *field) {
        if (!r) {
            const std::string &m = r.error().message;
            return Error{r.error().kind, std::string(field) + ": " + m.substr(0, m.find('\n'))};
        }
        return {};
    }

    Result<void> create(const DomainRecord &r) {
        return done(c_.exec("import domain",
                            "INSERT INTO domains (name, quota_mb, default_mailbox_quota_mb, "
                            "enabled) VALUES ($1, $2, $3, $4)",
                            {r.name, std::to_string(r.quota_mb),
                             std::to_string(r.default_mailbox_quota_mb), sql_bool(r.enabled)}),
                    "name");
    }

    Result<void> create(const DomainAliasRecord &r) {
        return done(c_.exec("import domain alias",
                            "INSERT INTO domain_aliases (name, target_domain_id, enabled) "
                            "SELECT $1, id, $3 FROM domains WHERE name = $2",
                            {r.name, r.target, sql_bool(r.enabled)}),
                    "name");
    }

    Result<void> create(const RelayDomainRecord &r) {
        return done(c_.exec("import relay domain",
                            "INSERT INTO relay_domains (name, target_host, target_port, service, "
                            "enabled, verify_recipients) VALUES ($1, $2, $3, $4, $5, $6)",
                            {r.name, r.target_host, std::to_string(r.target_port), r.service,
                             sql_bool(r.enabled), sql_bool(r.verify_recipients)}),
                    "name");
    }

    Result<std::string> stored_password(const AccountRecord &r) {
        if (!options_.crypt_passwords)
            return std::string(r.password.reveal());
        auto hash = hash_password(options_.password_scheme, r.password);
        if (!hash)
            return Error{hash.error().kind, "password: " + hash.error().message};
        return hash;
    }

    Result<void> create(const AccountRecord &r) {
        auto password = stored_password(r);
        if (!password)
            return password.error();
        const bool mailbox = !r.address.empty();
        const std::string domain = mailbox ? domain_of(r.address) : "";
        auto id = c_.exec(
            "import account",
            "INSERT INTO accounts (username, address, domain_id, password, first_name, last_name, "
            "enabled, role, quota_mb) VALUES ($1, $2, (SELECT id FROM domains WHERE name = $3), "
            "$4, $5, $6, $7, $8, $9) RETURNING id",
            {r.username, mailbox ? Param(r.address) : Param(std::nullopt),
             mailbox ? Param(domain) : Param(std::nullopt), password.value(), r.first_name,
             r.last_name, sql_bool(r.enabled), to_string(r.role),
             std::to_string(r.quota_mb.value_or(0))});
        if (auto d = done(id, "loginname"); !d)
            return d;
        for (const auto &name : r.domains) {
            auto adm = c_.exec("import administered domain",
                               "INSERT INTO administered_domains (account_id, domain_id) "
                               "SELECT $1, id FROM domains WHERE name = $2",
                               {id.value().str(0, 0), name});
            if (auto d = done(adm, "domain"); !d)
                return d;
        }
        return {};
    }

    Result<void> create(const AliasRecord &r) {
        auto id = c_.exec("import alias",
                          "INSERT INTO aliases (address, domain_id, enabled) "
                          "SELECT $1, id, $3 FROM domains WHERE name = $2 RETURNING id",
                          {r.address, domain_of(r.address), sql_bool(r.enabled)});
        if (auto d = done(id, "address"); !d)
            return d;
        if (id.value().empty())
            return bug_error("address: the alias's domain vanished during the import");
        return add_recipients(r.address, r.recipients);
    }

    Result<void> add_recipients(const std::string &alias, const std::vector<std::string> &rcpts) {
        for (const auto &rcpt : rcpts) {
            auto r = c_.exec("import alias recipient",
                             "INSERT INTO alias_recipients (alias_id, recipient) "
                             "SELECT id, $2 FROM aliases WHERE address = $1 "
                             "ON CONFLICT DO NOTHING",
                             {alias, rcpt});
            if (auto d = done(r, "recipient"); !d)
                return d;
        }
        return {};
    }

    Connection &c_;
    const ImportWriteOptions &options_;
};

} // namespace

Result<ImportCatalog> load_import_catalog(Connection &conn) {
    ImportCatalog cat;
    for (auto step : {load_domains, load_accounts, load_aliases})
        if (auto r = step(conn, cat); !r)
            return r.error();
    if (auto r = load_names(conn, "import catalog domain aliases",
                            "SELECT name FROM domain_aliases", cat.domain_aliases);
        !r)
        return r.error();
    if (auto r = load_names(conn, "import catalog relay domains", "SELECT name FROM relay_domains",
                            cat.relay_domains);
        !r)
        return r.error();
    return cat;
}

Result<void> write_import_plan(Connection &conn, const ParsedImport &parsed, const ImportPlan &plan,
                               const ImportWriteOptions &options, std::string_view file) {
    StepWriter writer(conn, options);
    for (const PlannedStep &step : plan.steps) {
        const ImportLine &line = parsed.lines[step.index];
        if (auto r = writer.write(line.record, step); !r)
            return Error{r.error().kind, std::string(file) + ":" + std::to_string(line.line) +
                                             ": field " + r.error().message};
    }
    return {};
}

} // namespace imapmig
