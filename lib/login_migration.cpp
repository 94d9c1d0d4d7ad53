#include "login_migration.hpp"

#include "address.hpp"
#include "migration_tasks.hpp"
#include "passwords.hpp"
#include "provider_guard.hpp"

#include <chrono>
#include <exception>

namespace imapmig {

namespace {

LoginDecision decide(LoginOutcome outcome, LogLevel level, std::string message) {
    return {outcome, level, std::move(message), {}};
}

std::string provider_label(const ProviderConfig &p) {
    return "provider " + p.name + " (" + p.host + ":" + std::to_string(p.port) + ")";
}

} // namespace

std::string migration_secret_context(std::string_view provider, std::string_view old_login) {
    return "imapmigration/v1\n" + std::string(provider) + "\n" + std::string(old_login);
}

LoginMigrator::LoginMigrator(const Config &config, KeyRing keys,
                             std::unique_ptr<CredentialChecker> checker)
    : config_(config), keys_(std::move(keys)), checker_(std::move(checker)) {}

LoginDecision LoginMigrator::verify(const LoginAttempt &attempt) {
    auto prepared = prepare(attempt);
    if (auto *d = std::get_if<LoginDecision>(&prepared))
        return std::move(*d);
    auto &pending = std::get<PendingCheck>(prepared);
    const CheckResult check =
        checker_->check(pending.target.provider, pending.target.old_address.str(), attempt.password);
    return complete(std::move(pending), check, attempt.password);
}

namespace {

// After a rename the login continues under the local address.
LoginDecision renamed(LoginDecision d, const std::string &local_address, std::string_view login) {
    if (d.outcome == LoginOutcome::ok && local_address != login)
        d.new_user = local_address;
    return d;
}

} // namespace

std::variant<LoginDecision, PendingCheck> LoginMigrator::prepare(const LoginAttempt &attempt) {
    try {
        auto address = parse_mail_address(attempt.user);
        if (!address)
            return decide(LoginOutcome::user_unknown, LogLevel::info,
                          "refused login name: " + address.error().message);
        if (auto pw = check_password_input(attempt.password.reveal()); !pw)
            return decide(LoginOutcome::user_unknown, LogLevel::info,
                          "refused password input: " + pw.error().message);
        auto route = config_.route_for_old_domain(address.value().domain);
        if (route.provider == nullptr)
            return decide(LoginOutcome::user_unknown, LogLevel::debug,
                          "domain " + address.value().domain +
                              " is not declared under any provider");
        Target target{address.value(), address.value().local + "@" + route.domain->local_domain,
                      *route.provider, *route.domain};
        const std::string local_address = target.local_address;
        auto prepared = prepare_declared(std::move(target), attempt);
        if (auto *d = std::get_if<LoginDecision>(&prepared))
            return renamed(std::move(*d), local_address, attempt.user);
        return prepared;
    } catch (const std::exception &e) {
        return decide(LoginOutcome::temporary_failure, LogLevel::error,
                      std::string("internal error: ") + e.what());
    }
}

LoginDecision LoginMigrator::complete(PendingCheck pending, const CheckResult &check,
                                      const SecretString &password) {
    try {
        pending.slot.reset(); // the provider connection is closed: free the slot first
        return renamed(complete_check(pending.target, pending.remote_ip, check, password),
                       pending.target.local_address, pending.login);
    } catch (const std::exception &e) {
        return decide(LoginOutcome::temporary_failure, LogLevel::error,
                      std::string("internal error: ") + e.what());
    }
}

Result<Connection *> LoginMigrator::connection() {
    if (conn_ && !conn_->broken())
        return &*conn_;
    conn_.reset();
    auto c = Connection::open(config_.database);
    if (!c)
        return c.error();
    conn_.emplace(std::move(c.value()));
    return &*conn_;
}

LoginDecision LoginMigrator::database_failure(const Error &error) {
    if (conn_ && conn_->broken())
        conn_.reset();
    return decide(LoginOutcome::temporary_failure, LogLevel::error, error.message);
}

std::variant<LoginDecision, PendingCheck>
LoginMigrator::prepare_declared(Target t, const LoginAttempt &attempt) {
    Result<Rows> existing = bug_error("not run");
    // A server restart is only noticed by the first query: reconnect once and retry.
    for (int tries = 0; tries < 2; ++tries) {
        auto conn = connection();
        if (!conn)
            return database_failure(conn.error());
        existing =
            conn.value()->exec("account lookup",
                               "SELECT a.password, a.enabled AND d.enabled, m.id IS NOT NULL "
                               "FROM accounts a LEFT JOIN domains d ON d.id = a.domain_id "
                               "LEFT JOIN migrations m ON m.account_id = a.id AND m.old_login = $2 "
                               "WHERE a.username = $1",
                               {t.local_address, t.old_address.str()});
        if (existing || !conn_->broken())
            break;
        conn_.reset();
    }
    if (!existing)
        return database_failure(existing.error());
    if (!existing.value().empty())
        return existing_account(t, existing.value(), attempt.password);

    FailureLimiter limiter(*conn_, config_.login_protection);
    auto verdict = limiter.check(t.old_address.str(), std::string(attempt.remote_ip));
    if (!verdict)
        return database_failure(verdict.error());
    if (verdict.value().refused) {
        const char *who = verdict.value().scope == FailureScope::ip ? "remote IP" : "login";
        return decide(LoginOutcome::password_mismatch,
                      verdict.value().first_refusal ? LogLevel::info : LogLevel::debug,
                      std::string("refused without asking ") + provider_label(t.provider) +
                          ": too many rejected logins for this " + who + " in the last " +
                          std::to_string(config_.login_protection.failure_window_seconds) + " s");
    }
    auto slot = ProviderSlot::acquire(
        *conn_, t.provider, std::chrono::seconds(config_.login_protection.slot_wait_seconds));
    if (!slot)
        return database_failure(slot.error());
    if (!slot.value())
        return decide(LoginOutcome::temporary_failure, LogLevel::error,
                      provider_label(t.provider) + ": all " +
                          std::to_string(t.provider.max_connections) +
                          " connections busy (max_connections); try again later");
    return PendingCheck{std::move(t), std::string(attempt.user), std::string(attempt.remote_ip),
                        std::move(slot.value())};
}

LoginDecision LoginMigrator::complete_check(const Target &t, const std::string &remote_ip,
                                            const CheckResult &check,
                                            const SecretString &password) {
    if (!conn_ || conn_->broken())
        return decide(LoginOutcome::temporary_failure, LogLevel::error,
                      "database connection lost while " + provider_label(t.provider) +
                          " checked the login");
    FailureLimiter limiter(*conn_, config_.login_protection);
    switch (check.outcome) {
    case CheckOutcome::rejected:
        if (auto r = limiter.record_rejection(t.old_address.str(), remote_ip); !r)
            return database_failure(r.error());
        return decide(LoginOutcome::password_mismatch, LogLevel::info,
                      provider_label(t.provider) + " rejected the credentials (" + check.detail +
                          ")");
    case CheckOutcome::temporary:
        return decide(LoginOutcome::temporary_failure, LogLevel::error,
                      provider_label(t.provider) + ": " + check.detail);
    case CheckOutcome::accepted:
        break;
    }
    (void)limiter.clear_user(t.old_address.str());
    return create_local_account(t, password);
}

LoginDecision LoginMigrator::create_local_account(const Target &t, const SecretString &password) {
    auto hash = hash_password(config_.accounts.password_scheme, password);
    if (!hash)
        return decide(LoginOutcome::temporary_failure, LogLevel::error,
                      "hashing the password failed: " + hash.error().message);
    const std::string old_login = t.old_address.str();
    SealedSecret sealed =
        keys_.seal(password, migration_secret_context(t.provider.name, old_login));
    Connection &c = *conn_;

    auto tx = Transaction::begin(c);
    if (!tx)
        return database_failure(tx.error());
    bool domain_created = false;
    auto domain = c.exec("domain lookup", "SELECT id, enabled FROM domains WHERE name = $1",
                         {t.domain.local_domain});
    if (domain && domain.value().empty()) {
        if (!config_.accounts.auto_create_domains)
            return decide(LoginOutcome::temporary_failure, LogLevel::error,
                          "domain " + t.domain.local_domain +
                              " does not exist here and accounts.auto_create_domains is off: "
                              "create the domain or turn auto creation on");
        // DO NOTHING + re-read: a concurrent first login may be creating the same domain.
        auto ins = c.exec(
            "domain create",
            "INSERT INTO domains (name, default_mailbox_quota_mb) VALUES ($1, $2) "
            "ON CONFLICT (name) DO NOTHING RETURNING id",
            {t.domain.local_domain, std::to_string(config_.accounts.default_mailbox_quota_mb)});
        if (!ins)
            return database_failure(ins.error());
        domain_created = !ins.value().empty();
        domain = c.exec("domain lookup", "SELECT id, enabled FROM domains WHERE name = $1",
                        {t.domain.local_domain});
    }
    if (!domain)
        return database_failure(domain.error());
    if (!domain.value().boolean(0, 1))
        return decide(LoginOutcome::user_disabled, LogLevel::info,
                      "domain " + t.domain.local_domain + " is disabled here");
    const std::string domain_id = domain.value().str(0, 0);

    auto account = c.exec("account create",
                          "INSERT INTO accounts (username, address, domain_id, password, quota_mb) "
                          "SELECT $1, $1, d.id, $3, d.default_mailbox_quota_mb FROM domains d "
                          "WHERE d.id = $2 ON CONFLICT DO NOTHING RETURNING id",
                          {t.local_address, domain_id, hash.value()});
    if (!account)
        return database_failure(account.error());
    if (account.value().empty())
        return concurrent_first_login(t, old_login);

    auto migration =
        insert_migration_task(c, {account.value().str(0, 0), t.provider.name, old_login, sealed,
                                  "first login with the old credentials"});
    if (!migration)
        return database_failure(migration.error());
    const std::string migration_id = migration.value();
    if (auto r = tx.value().commit(); !r)
        return database_failure(r.error());
    return decide(LoginOutcome::ok, LogLevel::info,
                  "created " +
                      std::string(domain_created ? "domain " + t.domain.local_domain + ", " : "") +
                      "account " + t.local_address + " and migration " + migration_id + " from " +
                      provider_label(t.provider));
}

// The local passdb answers for existing accounts. It misses one of ours in two cases: a
// concurrent first login committed it after the local lookup, or the user still logs in with
// the old address of a renamed domain. Then the local hash decides, as the local passdb
// would have, and the login continues under the local address.
LoginDecision LoginMigrator::existing_account(const Target &t, const Rows &row,
                                              const SecretString &password) {
    const bool ours = row.boolean(0, 2), enabled = row.boolean(0, 1);
    if (!ours || !enabled)
        return decide(LoginOutcome::user_unknown, LogLevel::debug,
                      "account " + t.local_address + " exists here: the local passdb decides");
    auto verified = verify_password(row.text(0, 0), password);
    if (!verified)
        return decide(LoginOutcome::user_unknown, LogLevel::debug,
                      "account " + t.local_address + " exists here: " + verified.error().message);
    if (!verified.value())
        return decide(LoginOutcome::password_mismatch, LogLevel::info,
                      "account " + t.local_address +
                          " was just created by another login; password mismatch");
    return decide(LoginOutcome::ok, LogLevel::info,
                  "account " + t.local_address + " was just created by a concurrent login");
}

// Another login of the same user won the race. It was checked against the same provider, so
// this login succeeds too, provided the account really is that migration's.
LoginDecision LoginMigrator::concurrent_first_login(const Target &t, const std::string &old_login) {
    auto owner = conn_->exec("migration lookup",
                             "SELECT m.id FROM accounts a JOIN migrations m ON m.account_id = a.id "
                             "WHERE a.username = $1 AND m.provider = $2 AND m.old_login = $3",
                             {t.local_address, t.provider.name, old_login});
    if (!owner)
        return database_failure(owner.error());
    if (owner.value().empty())
        return decide(LoginOutcome::user_unknown, LogLevel::info,
                      "account " + t.local_address +
                          " appeared here meanwhile without this migration: not ours");
    return decide(LoginOutcome::ok, LogLevel::info,
                  "account " + t.local_address + " and migration " + owner.value().str(0, 0) +
                      " were created by a concurrent login");
}

} // namespace imapmig
