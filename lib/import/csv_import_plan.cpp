#include "import/csv_import_plan.hpp"

#include "crypto/passwords.hpp"

#include <algorithm>

namespace imapmig {

namespace {

std::string where(int line) {
    return line == 0 ? "in the database" : "on line " + std::to_string(line);
}

std::string domain_of(const std::string &address) {
    return address.substr(address.rfind('@') + 1);
}

enum class NameKind { domain, domain_alias, relay };

const char *const create_earlier = " (create it in the database or earlier in the file)";

class Planner {
public:
    Planner(ImportCatalog &catalog, bool continue_if_exists)
        : cat_(catalog), continue_(continue_if_exists) {}

    void plan(size_t index, ImportLine &line) {
        line_ = line.line;
        step_ = PlannedStep{index, PlannedAction::create, {}};
        const size_t type = line.record.index();
        const bool ok = std::visit([this](auto &r) { return check(r); }, line.record);
        if (!ok)
            return;
        if (step_.action == PlannedAction::create)
            ++plan_.counts[type].created;
        else if (step_.action == PlannedAction::skip)
            ++plan_.counts[type].skipped;
        else
            ++plan_.counts[type].merged;
        plan_.steps.push_back(std::move(step_));
    }

    ImportPlan take() { return std::move(plan_); }

private:
    bool fail(std::string field, std::string message) {
        plan_.errors.push_back({line_, std::move(field), std::move(message)});
        return false;
    }

    // An object that exists already: skipped with --continue-if-exists, else an error.
    bool exists(const char *field, const std::string &what, int line) {
        if (!continue_)
            return fail(field, what + " already exists " + where(line) +
                                   " (--continue-if-exists skips existing objects)");
        step_.action = PlannedAction::skip;
        return true;
    }

    // A domain name may be a domain, a domain alias or a relay domain, never two of them.
    bool name_taken(const std::string &name, NameKind as_what) {
        std::string_view other;
        int line = 0;
        if (auto d = cat_.domains.find(name);
            d != cat_.domains.end() && as_what != NameKind::domain)
            other = "a domain", line = d->second.line;
        else if (auto a = cat_.domain_aliases.find(name);
                 a != cat_.domain_aliases.end() && as_what != NameKind::domain_alias)
            other = "a domain alias", line = a->second;
        else if (auto r = cat_.relay_domains.find(name);
                 r != cat_.relay_domains.end() && as_what != NameKind::relay)
            other = "a relay domain", line = r->second;
        if (other.empty())
            return false;
        fail("name", name + " is already " + std::string(other) + " " + where(line));
        return true;
    }

    bool require_domain(const char *field, const std::string &name) {
        if (cat_.domains.count(name) != 0)
            return true;
        return fail(field, "domain " + name + " does not exist" + create_earlier);
    }

    bool check(DomainRecord &r) {
        if (name_taken(r.name, NameKind::domain))
            return false;
        if (auto d = cat_.domains.find(r.name); d != cat_.domains.end())
            return exists("name", "domain " + r.name, d->second.line);
        cat_.domains[r.name] = {line_, r.quota_mb, r.default_mailbox_quota_mb};
        return true;
    }

    bool check(DomainAliasRecord &r) {
        if (name_taken(r.name, NameKind::domain_alias))
            return false;
        if (auto a = cat_.domain_aliases.find(r.name); a != cat_.domain_aliases.end())
            return exists("name", "domain alias " + r.name, a->second);
        if (!require_domain("targeted domain", r.target))
            return false;
        cat_.domain_aliases[r.name] = line_;
        return true;
    }

    bool check(RelayDomainRecord &r) {
        if (name_taken(r.name, NameKind::relay))
            return false;
        if (auto a = cat_.relay_domains.find(r.name); a != cat_.relay_domains.end())
            return exists("name", "relay domain " + r.name, a->second);
        cat_.relay_domains[r.name] = line_;
        return true;
    }

    bool check(AccountRecord &r) {
        if (auto u = cat_.usernames.find(r.username); u != cat_.usernames.end())
            return exists("loginname", "account " + r.username, u->second);
        if (!r.address.empty()) {
            if (auto a = cat_.addresses.find(r.address); a != cat_.addresses.end())
                return fail("address",
                            "address " + r.address + " is the mailbox of account " + a->second);
            auto d = cat_.domains.find(domain_of(r.address));
            if (d == cat_.domains.end())
                return fail("address",
                            "domain " + domain_of(r.address) + " does not exist" + create_earlier);
            if (!r.quota_mb)
                r.quota_mb = d->second.default_mailbox_quota_mb;
        }
        for (const auto &name : r.domains)
            if (!require_domain("domain", name))
                return false;
        cat_.usernames[r.username] = line_;
        if (!r.address.empty())
            cat_.addresses[r.address] = r.username;
        return true;
    }

    // A recipient in one of our domains must be a mailbox or an alias by now.
    bool check_recipient(const std::string &rcpt) {
        const std::string domain = domain_of(rcpt);
        if (cat_.domains.count(domain) == 0 || cat_.addresses.count(rcpt) != 0 ||
            cat_.aliases.count(rcpt) != 0)
            return true;
        return fail("recipient", rcpt + " is in the local domain " + domain +
                                     " but is neither a mailbox nor an alias" + create_earlier);
    }

    bool check(AliasRecord &r) {
        if (!require_domain("address", domain_of(r.address)))
            return false;
        for (const auto &rcpt : r.recipients)
            if (!check_recipient(rcpt))
                return false;
        auto existing = cat_.aliases.find(r.address);
        if (existing == cat_.aliases.end()) {
            cat_.aliases[r.address] = {line_, {r.recipients.begin(), r.recipients.end()}};
            return true;
        }
        if (!exists("address", "alias " + r.address, existing->second.line))
            return false;
        for (const auto &rcpt : r.recipients)
            if (existing->second.recipients.insert(rcpt).second)
                step_.added_recipients.push_back(rcpt);
        if (!step_.added_recipients.empty())
            step_.action = PlannedAction::merge;
        return true;
    }

    ImportCatalog &cat_;
    bool continue_;
    ImportPlan plan_;
    PlannedStep step_;
    int line_ = 0;
};

} // namespace

ImportPlan plan_import(ParsedImport &parsed, ImportCatalog &catalog, bool continue_if_exists) {
    Planner planner(catalog, continue_if_exists);
    for (size_t i = 0; i < parsed.lines.size(); ++i)
        planner.plan(i, parsed.lines[i]);
    return planner.take();
}

void add_counts(ImportCounts &total, const ImportCounts &more) {
    for (size_t i = 0; i < total.size(); ++i) {
        total[i].created += more[i].created;
        total[i].skipped += more[i].skipped;
        total[i].merged += more[i].merged;
    }
}

std::vector<std::string> weak_password_accounts(const ParsedImport &parsed,
                                                const ImportPlan &plan) {
    std::vector<std::string> out;
    for (const auto &step : plan.steps) {
        if (step.action != PlannedAction::create || step.index >= parsed.lines.size())
            continue;
        const auto *a = std::get_if<AccountRecord>(&parsed.lines[step.index].record);
        if (a != nullptr && weak_in_dovecot_24(a->password.reveal()))
            out.push_back(a->username);
    }
    return out;
}

} // namespace imapmig
