#include "import/postfixadmin_import.hpp"

#include "base/address.hpp"
#include "crypto/passwords.hpp"
#include "import/csv_import_store.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace imapmig {

namespace {

// A locked hash: no password verifies against it (the account is disabled as well).
const char *const locked_password = "{CRYPT}!";

std::string domain_of(const std::string &address) {
    return address.substr(address.rfind('@') + 1);
}

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char &c : out)
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    return out;
}

// The scheme Dovecot uses for a bare crypt(3)-style hash, "" if unrecognised.
std::string scheme_of_bare_hash(std::string_view hash) {
    static const std::pair<std::string_view, std::string_view> prefixes[] = {
        {"$1$", "MD5-CRYPT"},       {"$5$", "SHA256-CRYPT"},  {"$6$", "SHA512-CRYPT"},
        {"$2y$", "BLF-CRYPT"},      {"$2b$", "BLF-CRYPT"},    {"$2a$", "BLF-CRYPT"},
        {"$argon2id$", "ARGON2ID"}, {"$argon2i$", "ARGON2I"},
    };
    for (const auto &[prefix, scheme] : prefixes)
        if (hash.starts_with(prefix))
            return std::string(scheme);
    return {};
}

// "Ann Marie Müller" -> {"Ann Marie", "Müller"}; one word is a first name.
std::pair<std::string, std::string> split_name(const std::string &name) {
    const std::string n = trim(name);
    const auto space = n.rfind(' ');
    if (space == std::string::npos)
        return {n, ""};
    return {trim(n.substr(0, space)), trim(n.substr(space + 1))};
}

int64_t mb_or_unlimited(int64_t value) {
    return value > 0 ? value : 0;
}

class Reporter {
public:
    void add(const std::string &what, const std::string &note, const std::string &name) {
        auto it = std::find_if(items_.begin(), items_.end(),
                               [&](const ReportItem &i) { return i.what == what; });
        if (it == items_.end())
            it = items_.insert(items_.end(), ReportItem{what, note, 0, {}});
        ++it->count;
        if (it->examples.size() < report_examples)
            it->examples.push_back(name);
    }
    std::vector<ReportItem> take() { return std::move(items_); }

private:
    std::vector<ReportItem> items_;
};

struct AdminRights {
    bool super = false;
    std::vector<std::string> domains;
};

class Converter {
public:
    Converter(const PostfixadminData &d, const PostfixadminOptions &o) : data_(d), options_(o) {}

    PostfixadminConversion run() {
        for (const auto &a : data_.alias_domains)
            alias_domain_names_.insert(a.alias_domain);
        for (const auto &d : data_.domains)
            convert_domain(d);
        for (const auto &a : data_.alias_domains)
            convert_alias_domain(a);
        collect_admin_rights();
        for (const auto &m : data_.mailboxes)
            convert_mailbox(m);
        convert_admins_without_mailbox();
        convert_aliases();
        report_unconverted();
        out_.report = report_.take();
        return std::move(out_);
    }

private:
    void add(std::string source, ImportRecord record) {
        out_.sources.push_back(std::move(source));
        out_.records.lines.push_back({static_cast<int>(out_.sources.size()), std::move(record)});
    }

    void not_converted(const std::string &what, const std::string &note, const std::string &name) {
        report_.add(what, note, name);
    }

    // --- domains -------------------------------------------------------------------------

    void convert_domain(const PfaDomain &d) {
        if (d.name == "all" || alias_domain_names_.count(d.name) != 0)
            return; // postfixadmin's superadmin marker; alias domains become domain aliases
        if (d.backupmx)
            return not_converted("backup MX domains",
                                 "not converted: relayed, not hosted here; "
                                 "add them as relaydomain lines of `import` if still needed",
                                 d.name);
        if (!valid_hostname(d.name))
            return not_converted("domains with an invalid name", "not converted", d.name);
        DomainRecord r{d.name, mb_or_unlimited(d.quota), mb_or_unlimited(d.maxquota), d.active};
        if (r.quota_mb > 0 && r.default_mailbox_quota_mb > r.quota_mb) {
            r.default_mailbox_quota_mb = r.quota_mb;
            not_converted("mailbox quota maxima above the domain quota",
                          "lowered to the domain quota", d.name);
        }
        if (d.aliases > 0 || d.mailboxes > 0)
            not_converted("domain limits (max aliases / mailboxes)",
                          "not converted: our schema has no such limits", d.name);
        if (!local_transport(d.transport))
            not_converted("domain transports",
                          "not converted: Postfix delivers every domain "
                          "through virtual_transport (see postfix-maps)",
                          d.name);
        domains_.insert(d.name);
        add("domain " + d.name, r);
    }

    static bool local_transport(const std::string &t) {
        return t.empty() || t == "virtual" || t == "virtual:" || t == "dovecot" ||
               t.starts_with("lmtp");
    }

    void convert_alias_domain(const PfaAliasDomain &a) {
        if (domains_.count(a.target_domain) == 0)
            return not_converted("alias domains of unconverted domains", "not converted",
                                 a.alias_domain + " -> " + a.target_domain);
        if (!valid_hostname(a.alias_domain))
            return not_converted("domains with an invalid name", "not converted", a.alias_domain);
        add("alias domain " + a.alias_domain,
            DomainAliasRecord{a.alias_domain, a.target_domain, a.active});
    }

    // --- administrators ------------------------------------------------------------------

    void collect_admin_rights() {
        for (const auto &a : data_.admins) {
            if (!a.active) {
                not_converted("inactive administrators",
                              "not converted: their admin rights are "
                              "dropped (a mailbox of the same name is converted)",
                              a.username);
                continue;
            }
            rights_[a.username].super = a.superadmin;
        }
        for (const auto &da : data_.domain_admins)
            add_domain_right(da);
    }

    void add_domain_right(const PfaDomainAdmin &da) {
        auto admin = std::find_if(data_.admins.begin(), data_.admins.end(),
                                  [&](const PfaAdmin &a) { return a.username == da.username; });
        if (admin == data_.admins.end())
            return not_converted("domain_admins rows without an admin", "not converted",
                                 da.username + " " + da.domain);
        if (!admin->active)
            return; // reported with the administrator
        if (!da.active)
            return not_converted("inactive domain_admins rows", "not converted",
                                 da.username + " " + da.domain);
        if (da.domain == "all") {
            rights_[da.username].super = true;
        } else if (domains_.count(da.domain) == 0) {
            not_converted("administered domains that are not converted", "not converted",
                          da.username + " " + da.domain);
        } else {
            rights_[da.username].domains.push_back(da.domain);
        }
    }

    void apply_rights(AccountRecord &r) {
        auto it = rights_.find(r.username);
        if (it == rights_.end())
            return;
        r.role = it->second.super ? AccountRole::super_admin : AccountRole::domain_admin;
        if (!it->second.super)
            r.domains = it->second.domains;
    }

    // --- accounts ------------------------------------------------------------------------

    // Sets the stored password; an unusable hash gives a disabled account with a locked one.
    void set_password(AccountRecord &r, const SecretString &hash) {
        auto stored = convert_password_hash(hash.reveal(), options_.passwords_scheme);
        if (stored) {
            r.password = SecretString(stored.value());
            // The same import on 2.3 and 2.4 (no version here): the admin decides on the setting.
            if (weak_in_dovecot_24(stored.value()))
                not_converted(std::string(weak_passwords_what), std::string(weak_passwords_note),
                              r.username);
            return;
        }
        r.password = SecretString(locked_password);
        r.enabled = false;
        ++out_.disabled_logins;
        not_converted("passwords Dovecot cannot verify",
                      "imported DISABLED with a locked password: set a new password and enable "
                      "them, or re-run with --passwords-scheme S if you know the scheme (e.g. "
                      "PLAIN, PLAIN-MD5)",
                      r.username);
    }

    void convert_mailbox(const PfaMailbox &m) {
        if (domains_.count(m.domain) == 0)
            return not_converted("mailboxes of unconverted domains", "not converted", m.username);
        auto address = parse_mail_address(m.local_part + "@" + m.domain);
        if (!address || m.username.empty())
            return not_converted("mailboxes with an invalid address", "not converted", m.username);
        AccountRecord r;
        r.username = m.username;
        std::tie(r.first_name, r.last_name) = split_name(m.name);
        r.enabled = m.active;
        r.address = address.value().str();
        r.quota_mb = quota_bytes_to_mb(m.quota_bytes);
        apply_rights(r);
        set_password(r, m.password);
        if (m.has_contact_details)
            not_converted("mailbox phone numbers / other e-mail addresses",
                          "not converted: our schema has no such fields", m.username);
        mailbox_addresses_.insert(r.address);
        mailbox_users_.insert(r.username);
        ++out_.mailbox_accounts;
        add("mailbox " + m.username, std::move(r));
    }

    void convert_admins_without_mailbox() {
        for (const auto &a : data_.admins) {
            if (!a.active || mailbox_users_.count(a.username) != 0)
                continue;
            AccountRecord r;
            r.username = a.username;
            apply_rights(r);
            set_password(r, a.password);
            add("admin " + a.username, std::move(r));
        }
    }

    // --- aliases -------------------------------------------------------------------------

    bool is_vacation_target(const PfaAlias &a, const std::string &rcpt) const {
        std::string marker = a.address;
        std::replace(marker.begin(), marker.end(), '@', '#');
        return rcpt.starts_with(marker + "@");
    }

    std::vector<std::string> recipients_of(const PfaAlias &a) {
        std::vector<std::string> out;
        std::string_view rest = a.goto_list;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string rcpt = trim(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
            if (rcpt.empty() || std::find(out.begin(), out.end(), rcpt) != out.end())
                continue;
            if (is_vacation_target(a, rcpt))
                continue; // vacation rows are reported as a whole
            if (!parse_mail_address(rcpt))
                not_converted("alias recipients that are not mail addresses", "dropped",
                              a.address + " -> " + rcpt);
            else
                out.push_back(rcpt);
        }
        return out;
    }

    bool valid_alias_address(const std::string &address) {
        if (address.starts_with("@"))
            return valid_hostname(address.substr(1));
        return parse_mail_address(address).ok();
    }

    // The alias as a record, or nullopt (skipped, reported or a self-alias).
    std::optional<AliasRecord> alias_record(const PfaAlias &a) {
        if (domains_.count(a.domain) == 0 || domain_of(a.address) != a.domain) {
            not_converted("aliases of unconverted domains", "not converted", a.address);
            return std::nullopt;
        }
        if (!valid_alias_address(a.address)) {
            not_converted("aliases with an invalid address", "not converted", a.address);
            return std::nullopt;
        }
        AliasRecord r{a.address, a.active, recipients_of(a)};
        if (r.recipients.size() == 1 && r.recipients[0] == a.address &&
            mailbox_addresses_.count(a.address) != 0) {
            ++out_.self_aliases;
            return std::nullopt;
        }
        return r;
    }

    // A local recipient must be a mailbox or an alias of the conversion: else it is dropped.
    void drop_unknown_local(AliasRecord &r, const std::set<std::string> &aliases) {
        std::erase_if(r.recipients, [&](const std::string &rcpt) {
            if (domains_.count(domain_of(rcpt)) == 0 || mailbox_addresses_.count(rcpt) != 0 ||
                aliases.count(rcpt) != 0)
                return false;
            not_converted("alias recipients in our domains that are neither mailbox nor alias",
                          "dropped", r.address + " -> " + rcpt);
            return true;
        });
    }

    void convert_aliases() {
        std::vector<AliasRecord> records;
        std::set<std::string> addresses;
        for (const auto &a : data_.aliases)
            if (auto r = alias_record(a)) {
                addresses.insert(r->address);
                records.push_back(std::move(*r));
            }
        for (auto &r : records)
            drop_unknown_local(r, addresses);
        for (auto &r : order_aliases(std::move(records), addresses)) {
            if (r.recipients.empty() && deferred_for(r.address) == 0) {
                not_converted("aliases without recipients", "not converted", r.address);
                continue;
            }
            const std::string address = r.address;
            add("alias " + address, std::move(r));
        }
    }

    size_t deferred_for(const std::string &address) const {
        return std::count_if(out_.deferred_recipients.begin(), out_.deferred_recipients.end(),
                             [&](const auto &d) { return d.first == address; });
    }

    // Aliases that are recipients come first; in a reference cycle, the recipients not created
    // yet are deferred (added once every alias exists).
    std::vector<AliasRecord> order_aliases(std::vector<AliasRecord> pending,
                                           const std::set<std::string> &aliases) {
        std::vector<AliasRecord> ordered;
        std::set<std::string> done;
        auto ready = [&](const AliasRecord &r) {
            return std::all_of(r.recipients.begin(), r.recipients.end(), [&](const auto &rcpt) {
                return aliases.count(rcpt) == 0 || done.count(rcpt) != 0 ||
                       (rcpt == r.address && mailbox_addresses_.count(rcpt) != 0);
            });
        };
        while (!pending.empty()) {
            auto it = std::find_if(pending.begin(), pending.end(), ready);
            if (it == pending.end()) {
                it = pending.begin();
                defer_unready(*it, aliases, done);
            }
            done.insert(it->address);
            ordered.push_back(std::move(*it));
            pending.erase(it);
        }
        return ordered;
    }

    void defer_unready(AliasRecord &r, const std::set<std::string> &aliases,
                       const std::set<std::string> &done) {
        std::erase_if(r.recipients, [&](const std::string &rcpt) {
            if (aliases.count(rcpt) == 0 || done.count(rcpt) != 0 ||
                (rcpt == r.address && mailbox_addresses_.count(rcpt) != 0))
                return false;
            out_.deferred_recipients.emplace_back(r.address, rcpt);
            return true;
        });
    }

    // --- the rest ------------------------------------------------------------------------

    void report_unconverted() {
        for (const auto &v : data_.vacations)
            not_converted("vacation (auto-reply) settings",
                          "not converted: set them up again in Dovecot (Sieve vacation); their "
                          "autoreply targets were removed from the aliases",
                          v);
        for (const auto &f : data_.fetchmail)
            not_converted("fetchmail jobs",
                          "not converted: to move such mail by IMAP, use `migrations create "
                          "--from-csv`",
                          f);
    }

    const PostfixadminData &data_;
    const PostfixadminOptions &options_;
    PostfixadminConversion out_;
    Reporter report_;
    std::set<std::string> alias_domain_names_;
    std::set<std::string> domains_;
    std::set<std::string> mailbox_addresses_;
    std::set<std::string> mailbox_users_;
    std::map<std::string, AdminRights> rights_;
};

std::string source_of(const PostfixadminConversion &c, int line) {
    if (line < 1 || static_cast<size_t>(line) > c.sources.size())
        return "postfixadmin";
    return "postfixadmin " + c.sources[static_cast<size_t>(line) - 1];
}

// The planner and the writer speak of file lines; ours are postfixadmin objects.
std::string with_sources(const PostfixadminConversion &c, const std::string &message) {
    static const std::regex line_ref("on line ([0-9]+)");
    std::string out;
    auto it = std::sregex_iterator(message.begin(), message.end(), line_ref);
    size_t last = 0;
    for (; it != std::sregex_iterator(); ++it) {
        out += message.substr(last, static_cast<size_t>(it->position()) - last);
        out += "as " + source_of(c, std::stoi((*it)[1].str()));
        last = static_cast<size_t>(it->position() + it->length());
    }
    return out + message.substr(last);
}

void add_deferred_steps(const PostfixadminConversion &c, ImportPlan &plan) {
    for (const auto &[alias, rcpt] : c.deferred_recipients) {
        const auto &lines = c.records.lines;
        auto it = std::find_if(lines.begin(), lines.end(), [&](const ImportLine &l) {
            const auto *a = std::get_if<AliasRecord>(&l.record);
            return a != nullptr && a->address == alias;
        });
        if (it != lines.end())
            plan.steps.push_back(
                {static_cast<size_t>(it - lines.begin()), PlannedAction::merge, {rcpt}});
    }
}

} // namespace

Result<std::string> convert_password_hash(std::string_view hash, std::string_view forced_scheme) {
    if (hash.empty())
        return permanent_error("the password hash is empty");
    if (hash.front() == '{') {
        if (auto c = check_password_hash(hash); !c)
            return c.error();
        return std::string(hash);
    }
    const std::string scheme =
        forced_scheme.empty() ? scheme_of_bare_hash(hash) : upper(forced_scheme);
    if (scheme.empty())
        return permanent_error("unrecognised password hash format (not $1$, $5$, $6$, $2y$ or "
                               "$argon2...$); --passwords-scheme names the scheme");
    std::string stored = "{" + scheme + "}" + std::string(hash);
    if (auto c = check_password_hash(stored); !c)
        return c.error();
    return stored;
}

int64_t quota_bytes_to_mb(int64_t bytes) {
    constexpr int64_t mib = 1024 * 1024;
    constexpr int64_t postfixadmin_mb = 1024000; // its default quota_multiplier
    if (bytes <= 0)
        return 0; // 0 unlimited, -1 disabled
    if (bytes % mib == 0)
        return bytes / mib;
    if (bytes % postfixadmin_mb == 0)
        return bytes / postfixadmin_mb;
    return (bytes + mib - 1) / mib;
}

PostfixadminConversion convert_postfixadmin(const PostfixadminData &data,
                                            const PostfixadminOptions &options) {
    return Converter(data, options).run();
}

PostfixadminPlan plan_postfixadmin(PostfixadminConversion &conversion, ImportCatalog &catalog,
                                   bool continue_if_exists) {
    PostfixadminPlan out;
    out.plan = plan_import(conversion.records, catalog, continue_if_exists);
    for (const auto &e : out.plan.errors)
        out.errors.push_back(source_of(conversion, e.line) + ": field " + e.field + ": " +
                             with_sources(conversion, e.message));
    add_deferred_steps(conversion, out.plan);
    return out;
}

Result<void> write_postfixadmin(Connection &target, const PostfixadminConversion &conversion,
                                const PostfixadminPlan &plan) {
    auto w = write_import_plan(target, conversion.records, plan.plan, {}, "postfixadmin");
    if (w)
        return w;
    // "postfixadmin:LINE: field ..." -> "postfixadmin <object>: field ..."
    static const std::regex prefix("^postfixadmin:([0-9]+): ");
    std::smatch m;
    const std::string &msg = w.error().message;
    if (!std::regex_search(msg, m, prefix))
        return w;
    return Error{w.error().kind, source_of(conversion, std::stoi(m[1].str())) + ": " +
                                     with_sources(conversion, m.suffix().str())};
}

std::string format_report_item(const ReportItem &item) {
    std::string line = item.what + ": " + std::to_string(item.count) + " (";
    for (size_t i = 0; i < item.examples.size(); ++i)
        line += (i ? ", " : "") + item.examples[i];
    if (static_cast<size_t>(item.count) > item.examples.size())
        line += ", ...";
    return line + ") " + item.note;
}

} // namespace imapmig
