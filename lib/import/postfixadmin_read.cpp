// Reading a postfixadmin 3.3 database: one read-only snapshot, typed rows, no mapping.
#include "import/postfixadmin_import.hpp"

namespace imapmig {

namespace {

// Lower-cased text column (postfixadmin stores names as typed on older versions).
std::string lower(const Rows &r, int row, int col) {
    std::string s = r.str(row, col);
    for (char &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Runs a SELECT and hands each row to fill; table names the statement in errors.
template <class Fill>
Result<void> each_row(Connection &c, const char *table, const char *sql, Fill fill) {
    auto rows = c.exec(std::string("postfixadmin ") + table, sql);
    if (!rows)
        return Error{rows.error().kind, "reading postfixadmin table " + std::string(table) + ": " +
                                            rows.error().message};
    for (int i = 0; i < rows.value().count(); ++i)
        fill(rows.value(), i);
    return {};
}

Result<void> read_version(Connection &c, PostfixadminData &d) {
    auto rows = c.exec("postfixadmin version",
                       "SELECT to_regclass('config') IS NOT NULL AND "
                       "to_regclass('mailbox') IS NOT NULL AND to_regclass('domain') IS NOT NULL");
    if (!rows)
        return rows.error();
    if (!rows.value().boolean(0, 0))
        return permanent_error("this is not a postfixadmin database (no config, domain and "
                               "mailbox tables in its search path)");
    return each_row(c, "config", "SELECT value FROM config WHERE name = 'version'",
                    [&](const Rows &r, int i) { d.version = r.str(i, 0); });
}

Result<void> read_domains(Connection &c, PostfixadminData &d) {
    return each_row(c, "domain",
                    "SELECT domain, aliases, mailboxes, maxquota, quota, coalesce(transport, ''), "
                    "backupmx, active FROM domain ORDER BY domain",
                    [&](const Rows &r, int i) {
                        d.domains.push_back({lower(r, i, 0), r.integer(i, 1), r.integer(i, 2),
                                             r.integer(i, 3), r.integer(i, 4), r.str(i, 5),
                                             r.boolean(i, 6), r.boolean(i, 7)});
                    });
}

Result<void> read_alias_domains(Connection &c, PostfixadminData &d) {
    return each_row(
        c, "alias_domain",
        "SELECT alias_domain, target_domain, active FROM alias_domain "
        "ORDER BY alias_domain",
        [&](const Rows &r, int i) {
            d.alias_domains.push_back({lower(r, i, 0), lower(r, i, 1), r.boolean(i, 2)});
        });
}

Result<void> read_mailboxes(Connection &c, PostfixadminData &d) {
    return each_row(c, "mailbox",
                    "SELECT username, password, name, quota, coalesce(domain, ''), local_part, "
                    "active, phone <> '' OR email_other <> '' FROM mailbox ORDER BY username",
                    [&](const Rows &r, int i) {
                        d.mailboxes.push_back({lower(r, i, 0), SecretString(r.text(i, 1)),
                                               r.str(i, 2), r.integer(i, 3), lower(r, i, 4),
                                               lower(r, i, 5), r.boolean(i, 6), r.boolean(i, 7)});
                    });
}

Result<void> read_aliases(Connection &c, PostfixadminData &d) {
    return each_row(
        c, "alias", "SELECT address, goto, domain, active FROM alias ORDER BY address",
        [&](const Rows &r, int i) {
            d.aliases.push_back({lower(r, i, 0), lower(r, i, 1), lower(r, i, 2), r.boolean(i, 3)});
        });
}

Result<void> read_admins(Connection &c, PostfixadminData &d) {
    if (auto a = each_row(c, "admin",
                          "SELECT username, password, superadmin, active FROM admin "
                          "ORDER BY username",
                          [&](const Rows &r, int i) {
                              d.admins.push_back({lower(r, i, 0), SecretString(r.text(i, 1)),
                                                  r.boolean(i, 2), r.boolean(i, 3)});
                          });
        !a)
        return a;
    return each_row(
        c, "domain_admins",
        "SELECT username, domain, active FROM domain_admins ORDER BY username, domain",
        [&](const Rows &r, int i) {
            d.domain_admins.push_back({lower(r, i, 0), lower(r, i, 1), r.boolean(i, 2)});
        });
}

Result<void> read_unconverted(Connection &c, PostfixadminData &d) {
    if (auto v = each_row(c, "vacation", "SELECT email FROM vacation ORDER BY email",
                          [&](const Rows &r, int i) { d.vacations.push_back(lower(r, i, 0)); });
        !v)
        return v;
    return each_row(c, "fetchmail", "SELECT mailbox FROM fetchmail ORDER BY mailbox, id",
                    [&](const Rows &r, int i) { d.fetchmail.push_back(lower(r, i, 0)); });
}

} // namespace

Result<PostfixadminData> read_postfixadmin(Connection &source) {
    auto begin =
        source.exec("postfixadmin snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!begin)
        return begin.error();
    PostfixadminData data;
    for (auto step : {read_version, read_domains, read_alias_domains, read_mailboxes, read_aliases,
                      read_admins, read_unconverted})
        if (auto r = step(source, data); !r)
            return r.error();
    if (auto end = source.exec("postfixadmin snapshot end", "COMMIT"); !end)
        return end.error();
    return data;
}

} // namespace imapmig
