#include "login/login_flow.hpp"

#include "base/address.hpp"
#include "db/migration_tasks.hpp"
#include "crypto/passwords.hpp"
#include "db/provider_guard.hpp"

#include <algorithm>
#include <exception>
#include <optional>

namespace imapmig {

namespace {

LoginDecision decide(LoginOutcome outcome, LogLevel level, std::string message) {
    return {outcome, level, std::move(message), {}, std::nullopt};
}

std::string provider_label(const ProviderConfig &p) {
    return "provider " + p.name + " (" + p.host + ":" + std::to_string(p.port) + ")";
}

// The local passdb answers for existing accounts; this sees the ones it may have missed.
const Statement account_lookup_statement{
    "account lookup",
    "SELECT a.password, a.enabled AND d.enabled, m.id IS NOT NULL "
    "FROM accounts a LEFT JOIN domains d ON d.id = a.domain_id "
    "LEFT JOIN migrations m ON m.account_id = a.id AND m.old_login = $2 "
    "WHERE a.username = $1"};

// The domain (created when allowed and missing), the account, the migration task, its event
// and the worker's wake-up, as one statement and so one transaction. Returns one row (domain
// enabled, domain created, account id, migration id), or none when the domain is missing: not
// allowed to create it, or created concurrently after this statement's snapshot. A NULL
// account id means a concurrent first login created the account.
const Statement account_create_statement{
    "account create",
    "WITH new_domain AS ("
    "  INSERT INTO domains (name, default_mailbox_quota_mb)"
    "  SELECT $1, $2::bigint WHERE $3::boolean"
    "    AND NOT EXISTS (SELECT 1 FROM domains WHERE name = $1)"
    "  ON CONFLICT (name) DO NOTHING"
    "  RETURNING id, enabled, default_mailbox_quota_mb), "
    "domain AS ("
    "  SELECT id, enabled, default_mailbox_quota_mb, true AS created FROM new_domain"
    "  UNION ALL"
    "  SELECT id, enabled, default_mailbox_quota_mb, false FROM domains WHERE name = $1), "
    "account AS ("
    "  INSERT INTO accounts (username, address, domain_id, password, quota_mb)"
    "  SELECT $4, $4, id, $5, default_mailbox_quota_mb FROM domain WHERE enabled"
    "  ON CONFLICT DO NOTHING RETURNING id), "
    "migration AS ("
    "  INSERT INTO migrations (account_id, provider, old_login, secret, secret_key_id,"
    "                          proxy_until_synced)"
    "  SELECT id, $6, $7, $8, $9, $11::boolean FROM account RETURNING id), "
    // The proxy's endpoint, for the SQL passdb; written only when it changed, so that first
    // logins do not queue on the provider's row.
    "provider AS ("
    "  INSERT INTO providers (name, host, imap_port, pop3_port, security, verify_certificate)"
    "  SELECT $6, $12, $13::integer, $14::integer, $15, $16::boolean"
    "  WHERE $11::boolean AND NOT EXISTS (SELECT 1 FROM providers WHERE name = $6"
    "    AND host = $12 AND imap_port = $13::integer AND pop3_port = $14::integer"
    "    AND security = $15 AND verify_certificate = $16::boolean)"
    "  ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, imap_port = EXCLUDED.imap_port,"
    "    pop3_port = EXCLUDED.pop3_port, security = EXCLUDED.security,"
    "    verify_certificate = EXCLUDED.verify_certificate, updated_at = now()), "
    "event AS ("
    "  INSERT INTO migration_events (migration_id, kind, message)"
    "  SELECT id, 'created', $10 FROM migration) "
    "SELECT d.enabled, d.created, (SELECT id FROM account), (SELECT id FROM migration),"
    "  (SELECT count(*) FROM (SELECT pg_notify('imap_migration', id::text) FROM migration) n) "
    "FROM domain d"};

const Statement migration_lookup_statement{
    "migration lookup",
    "SELECT m.id FROM accounts a JOIN migrations m ON m.account_id = a.id "
    "WHERE a.username = $1 AND m.provider = $2 AND m.old_login = $3"};

} // namespace

// Where a login of a declared domain goes: the old address, the local one, and its provider.
struct LoginTarget {
    MailAddress old_address;
    std::string local_address;
    const ProviderConfig &provider;
    const DomainMapping &domain;
};

struct LoginFlow::Login {
    uint64_t id;
    LoginRequest request;
    Done done;
    std::optional<LoginTarget> target;
    AsyncSession *session = nullptr;
    int lookups = 0;
    // The provider slot: an advisory lock of this session's connection.
    std::optional<int> slot;
    uint64_t slot_connection = 0;
    std::chrono::steady_clock::time_point slot_deadline{};
    std::chrono::milliseconds pause{20};
    std::unique_ptr<EventLoop::Handle> timer;
    std::string hash; // of the password, for the new account
    bool domain_retried = false;
};

LoginFlow::LoginFlow(const Config &config, const KeyRing &keys, EventLoop &loop, LoginHost &host,
                     int sessions)
    : config_(config), keys_(keys), loop_(loop), host_(host) {
    for (int i = 0; i < std::max(1, sessions); ++i)
        sessions_.push_back(std::make_unique<AsyncSession>(loop, config.database));
}

LoginFlow::~LoginFlow() = default;

void LoginFlow::shutdown(const std::string &why) {
    while (!logins_.empty())
        finish(logins_.begin()->first,
               decide(LoginOutcome::temporary_failure, LogLevel::error, why));
}

LoginFlow::Login *LoginFlow::find(uint64_t id) {
    auto it = logins_.find(id);
    return it == logins_.end() ? nullptr : it->second.get();
}

AsyncSession &LoginFlow::least_busy_session() {
    return **std::min_element(sessions_.begin(), sessions_.end(), [](auto &a, auto &b) {
        return a->in_flight() < b->in_flight();
    });
}

void LoginFlow::query(Login &l, const Statement &st, std::vector<QueryParam> params,
                      std::function<void(Login &, Result<Rows>)> next) {
    const uint64_t id = l.id;
    l.session->query(st, std::move(params), [this, id, next = std::move(next)](Result<Rows> r) {
        if (Login *found = find(id)) {
            try {
                next(*found, std::move(r));
            } catch (const std::exception &e) {
                finish(id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                  std::string("internal error: ") + e.what()));
            }
        }
    });
}

void LoginFlow::start(LoginRequest request, Done done) {
    const uint64_t id = next_id_++;
    auto owned = std::make_unique<Login>();
    Login &l = *owned;
    l.id = id;
    l.request = std::move(request);
    l.done = std::move(done);
    logins_.emplace(id, std::move(owned));
    try {
        auto address = parse_mail_address(l.request.user);
        if (!address)
            return finish(id, decide(LoginOutcome::user_unknown, LogLevel::info,
                                     "refused login name: " + address.error().message));
        if (auto pw = check_password_input(l.request.password.reveal()); !pw)
            return finish(id, decide(LoginOutcome::user_unknown, LogLevel::info,
                                     "refused password input: " + pw.error().message));
        auto route = config_.route_for_old_domain(address.value().domain);
        if (route.provider == nullptr)
            return finish(id, decide(LoginOutcome::user_unknown, LogLevel::debug,
                                     "domain " + address.value().domain +
                                         " is not declared under any provider"));
        l.target.emplace(LoginTarget{address.value(),
                                     address.value().local + "@" + route.domain->local_domain,
                                     *route.provider, *route.domain});
        l.session = &least_busy_session();
        lookup(l);
    } catch (const std::exception &e) {
        finish(id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                          std::string("internal error: ") + e.what()));
    }
}

void LoginFlow::lookup(Login &l) {
    const LoginTarget &t = *l.target;
    query(l, account_lookup_statement, {t.local_address, t.old_address.str()},
          [this](Login &l, Result<Rows> r) {
              // A server restart is only noticed by the next statement: it fails, and the
              // session reconnects for the one after. Retry once.
              if (!r && ++l.lookups < 2)
                  return lookup(l);
              if (!r)
                  return database_failure(l, r.error());
              if (!r.value().empty())
                  return existing_account(l, r.value());
              throttle(l, true);
          });
}

// The local passdb misses one of our accounts in two cases: a concurrent first login
// committed it after the local lookup, or the user still logs in with the old address of a
// renamed domain. Then the local hash decides, as the local passdb would have, and the login
// continues under the local address.
void LoginFlow::existing_account(Login &l, const Rows &row) {
    const std::string local = l.target->local_address;
    const bool ours = row.boolean(0, 2), enabled = row.boolean(0, 1);
    if (!ours || !enabled)
        return finish(l.id, decide(LoginOutcome::user_unknown, LogLevel::debug,
                                   "account " + local + " exists here: the local passdb decides"));
    struct Verify {
        std::string stored;
        SecretString password;
        std::optional<Result<bool>> verified;
    };
    auto v = std::make_shared<Verify>(Verify{row.str(0, 0), l.request.password, {}});
    const uint64_t id = l.id;
    host_.offload([v] { v->verified.emplace(verify_password(v->stored, v->password)); },
                  [this, id, v, local] {
                      const Result<bool> &verified = *v->verified;
                      if (!verified)
                          return finish(id, decide(LoginOutcome::user_unknown, LogLevel::debug,
                                                   "account " + local + " exists here: " +
                                                       verified.error().message));
                      if (!verified.value())
                          return finish(id, decide(LoginOutcome::password_mismatch,
                                                   LogLevel::info,
                                                   "account " + local +
                                                       " was just created by another login; "
                                                       "password mismatch"));
                      finish(id, decide(LoginOutcome::ok, LogLevel::info,
                                        "account " + local +
                                            " was just created by a concurrent login"));
                  });
}

// Per remote IP first (when known), then per login; then a provider slot.
void LoginFlow::throttle(Login &l, bool by_ip) {
    const LoginProtectionConfig &cfg = config_.login_protection;
    const bool applies = by_ip ? !l.request.remote_ip.empty() && cfg.max_failures_per_ip > 0
                               : cfg.max_failures_per_user > 0;
    if (!applies)
        return by_ip ? throttle(l, false) : acquire_slot(l);
    const std::string key = by_ip ? l.request.remote_ip : l.target->old_address.str();
    const int limit = by_ip ? cfg.max_failures_per_ip : cfg.max_failures_per_user;
    query(l, throttle_check_statement,
          {by_ip ? "ip" : "user", key, std::to_string(limit),
           std::to_string(cfg.failure_window_seconds)},
          [this, by_ip](Login &l, Result<Rows> r) {
              if (!r)
                  return database_failure(l, r.error());
              if (!r.value().boolean(0, 0))
                  return by_ip ? throttle(l, false) : acquire_slot(l);
              const char *who = by_ip ? "remote IP" : "login";
              finish(l.id,
                     decide(LoginOutcome::password_mismatch,
                            r.value().boolean(0, 1) ? LogLevel::info : LogLevel::debug,
                            std::string("refused without asking ") +
                                provider_label(l.target->provider) +
                                ": too many rejected logins for this " + who + " in the last " +
                                std::to_string(config_.login_protection.failure_window_seconds) +
                                " s"));
          });
}

// Waits up to slot_wait_seconds for one of the provider's max_connections slots.
void LoginFlow::acquire_slot(Login &l) {
    const ProviderConfig &p = l.target->provider;
    if (l.slot_deadline == std::chrono::steady_clock::time_point{})
        l.slot_deadline = std::chrono::steady_clock::now() +
                          std::chrono::seconds(config_.login_protection.slot_wait_seconds);
    query(l, slot_acquire_statement,
          {std::to_string(provider_lock_key(p.name)),
           std::to_string(ProviderSlot::slots_for(p, ProviderSlot::Use::login))},
          [this](Login &l, Result<Rows> r) {
              if (!r)
                  return database_failure(l, r.error());
              if (!r.value().empty()) {
                  l.slot = static_cast<int>(r.value().integer(0, 0));
                  l.slot_connection = l.session->connection_id();
                  return check(l);
              }
              const ProviderConfig &p = l.target->provider;
              if (std::chrono::steady_clock::now() + l.pause > l.slot_deadline)
                  return finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                             provider_label(p) + ": all " +
                                                 std::to_string(p.max_connections) +
                                                 " connections busy (max_connections); try "
                                                 "again later"));
              const uint64_t id = l.id;
              l.timer = loop_.after(l.pause, [this, id] {
                  if (Login *found = find(id)) {
                      found->timer.reset();
                      acquire_slot(*found);
                  }
              });
              l.pause = std::min(l.pause * 2, std::chrono::milliseconds(250));
          });
}

void LoginFlow::check(Login &l) {
    const uint64_t id = l.id;
    host_.check(l.target->provider, l.target->old_address.str(), l.request.password,
                [this, id](CheckResult result) {
                    if (Login *found = find(id))
                        checked(*found, result);
                });
}

void LoginFlow::release_slot(Login &l) {
    if (!l.slot)
        return;
    // A lost connection took its locks along; a new one holds none of ours.
    if (l.session->connection_id() == l.slot_connection)
        l.session->query(slot_release_statement,
                         {std::to_string(provider_lock_key(l.target->provider.name)),
                          std::to_string(*l.slot)},
                         [](Result<Rows>) {});
    l.slot.reset();
}

void LoginFlow::checked(Login &l, const CheckResult &check) {
    release_slot(l); // the provider connection is closed: free the slot first
    switch (check.outcome) {
    case CheckOutcome::rejected:
        return record_rejection(l, check);
    case CheckOutcome::temporary:
        return finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                   provider_label(l.target->provider) + ": " + check.detail));
    case CheckOutcome::accepted:
        break;
    }
    l.session->query(throttle_clear_statement, {l.target->old_address.str()},
                     [](Result<Rows>) {}); // a stale counter only expires later
    hash(l);
}

void LoginFlow::record_rejection(Login &l, const CheckResult &check) {
    const std::string window = std::to_string(config_.login_protection.failure_window_seconds);
    auto ip_failed = std::make_shared<std::optional<Error>>();
    if (!l.request.remote_ip.empty())
        query(l, throttle_record_statement, {"ip", l.request.remote_ip, window},
              [ip_failed](Login &, Result<Rows> r) {
                  if (!r)
                      *ip_failed = r.error();
              });
    // Same session, so it answers after the per-IP record.
    query(l, throttle_record_statement, {"user", l.target->old_address.str(), window},
          [this, ip_failed, detail = check.detail](Login &l, Result<Rows> r) {
              if (!r)
                  return database_failure(l, r.error());
              if (*ip_failed)
                  return database_failure(l, **ip_failed);
              finish(l.id, decide(LoginOutcome::password_mismatch, LogLevel::info,
                                  provider_label(l.target->provider) +
                                      " rejected the credentials (" + detail + ")"));
          });
}

void LoginFlow::hash(Login &l) {
    struct Hash {
        std::string scheme;
        SecretString password;
        std::optional<Result<std::string>> hashed;
    };
    auto h = std::make_shared<Hash>(Hash{config_.accounts.password_scheme, l.request.password, {}});
    const uint64_t id = l.id;
    host_.offload([h] { h->hashed.emplace(hash_password(h->scheme, h->password)); },
                  [this, id, h] {
                      Login *found = find(id);
                      if (found == nullptr)
                          return;
                      if (!*h->hashed)
                          return finish(id, decide(LoginOutcome::temporary_failure,
                                                   LogLevel::error,
                                                   "hashing the password failed: " +
                                                       h->hashed->error().message));
                      found->hash = std::move(h->hashed->value());
                      create(*found);
                  });
}

void LoginFlow::create(Login &l) {
    const LoginTarget &t = *l.target;
    const std::string old_login = t.old_address.str();
    const SealedSecret sealed =
        keys_.seal(l.request.password, migration_secret_context(t.provider.name, old_login));
    query(l, account_create_statement,
          {t.domain.local_domain, std::to_string(config_.accounts.default_mailbox_quota_mb),
           config_.accounts.auto_create_domains ? "true" : "false", t.local_address, l.hash,
           t.provider.name, old_login,
           QueryParam::binary(std::string(sealed.blob.begin(), sealed.blob.end())),
           sealed.key_id, "first login with the old credentials",
           t.provider.cutover == Cutover::proxy ? "true" : "false", t.provider.host,
           std::to_string(t.provider.port), std::to_string(t.provider.pop3_port),
           std::string(to_string(t.provider.security)),
           t.provider.verify_certificate ? "true" : "false"},
          [this](Login &l, Result<Rows> r) {
              if (!r)
                  return database_failure(l, r.error());
              if (!r.value().empty())
                  return created(l, r.value());
              const std::string &domain = l.target->domain.local_domain;
              if (!config_.accounts.auto_create_domains)
                  return finish(l.id,
                                decide(LoginOutcome::temporary_failure, LogLevel::error,
                                       "domain " + domain +
                                           " does not exist here and "
                                           "accounts.auto_create_domains is off: create the "
                                           "domain or turn auto creation on"));
              // A concurrent first login created the domain after this statement's snapshot:
              // the next statement sees it.
              if (l.domain_retried)
                  return finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                             "domain " + domain +
                                                 " could not be created nor found"));
              l.domain_retried = true;
              create(l);
          });
}

void LoginFlow::created(Login &l, const Rows &rows) {
    const LoginTarget &t = *l.target;
    if (!rows.boolean(0, 0))
        return finish(l.id, decide(LoginOutcome::user_disabled, LogLevel::info,
                                   "domain " + t.domain.local_domain + " is disabled here"));
    if (rows.is_null(0, 2))
        return concurrent_first_login(l);
    finish(l.id,
           with_cutover(l, decide(LoginOutcome::ok, LogLevel::info,
                  "created " +
                      std::string(rows.boolean(0, 1) ? "domain " + t.domain.local_domain + ", "
                                                     : "") +
                      "account " + t.local_address + " and migration " + rows.str(0, 3) +
                      " from " + provider_label(t.provider))));
}

// Another login of the same user won the race. It was checked against the same provider, so
// this login succeeds too, provided the account really is that migration's.
void LoginFlow::concurrent_first_login(Login &l) {
    const LoginTarget &t = *l.target;
    query(l, migration_lookup_statement,
          {t.local_address, t.provider.name, t.old_address.str()},
          [this](Login &l, Result<Rows> r) {
              const std::string &local = l.target->local_address;
              if (!r)
                  return database_failure(l, r.error());
              if (r.value().empty())
                  return finish(l.id, decide(LoginOutcome::user_unknown, LogLevel::info,
                                             "account " + local +
                                                 " appeared here meanwhile without this "
                                                 "migration: not ours"));
              finish(l.id, with_cutover(l, decide(LoginOutcome::ok, LogLevel::info,
                                  "account " + local + " and migration " + r.value().str(0, 0) +
                                      " were created by a concurrent login")));
          });
}

// A migration that was just created has not synced yet: with `cutover: proxy` the session runs
// at the old provider, so the new mailbox is first touched by the sync that keeps the old UIDs.
LoginDecision LoginFlow::with_cutover(const Login &l, LoginDecision decision) const {
    const LoginTarget &t = *l.target;
    if (t.provider.cutover == Cutover::proxy)
        decision.proxy = proxy_target(t.provider, t.old_address.str());
    return decision;
}

void LoginFlow::database_failure(Login &l, const Error &error) {
    finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error, error.message));
}

void LoginFlow::finish(uint64_t id, LoginDecision decision) {
    auto it = logins_.find(id);
    if (it == logins_.end())
        return;
    std::unique_ptr<Login> l = std::move(it->second);
    logins_.erase(it);
    release_slot(*l);
    // After a rename the login continues under the local address.
    if (decision.outcome == LoginOutcome::ok && l->target &&
        l->target->local_address != l->request.user)
        decision.new_user = l->target->local_address;
    l->done(std::move(decision));
}

} // namespace imapmig
