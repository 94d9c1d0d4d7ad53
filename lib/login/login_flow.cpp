#include "login/login_flow.hpp"

#include "base/address.hpp"
#include "crypto/passwords.hpp"
#include "db/migrations_table.hpp"
#include "db/provider_guard.hpp"
#include "login/client_key.hpp"
#include "loop/guarded.hpp"

#include <algorithm>
#include <optional>

namespace imapmig {

namespace {

LoginDecision decide(LoginOutcome outcome, LogLevel level, std::string message) {
    return {outcome, level, std::move(message), {}, std::nullopt};
}

LoginDecision internal_error(const std::string &what) {
    return decide(LoginOutcome::temporary_failure, LogLevel::error, "internal error: " + what);
}

std::string provider_label(const ProviderConfig &p) {
    return "provider " + p.name + " (" + p.host + ":" + std::to_string(p.port) + ")";
}

const char *limit_name(LimitKind k) {
    return k == LimitKind::ip ? "remote IP" : "login";
}

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
    LoginStore::Lane lane = 0;
    int lookups = 0;
    CheckLimits limits;
    bool reserved = false; // the check is counted in limits until the store hears its end
    std::optional<HeldSlot> slot;
    std::chrono::steady_clock::time_point reserve_deadline{}, slot_deadline{};
    std::chrono::milliseconds pause{20};
    std::unique_ptr<EventLoop::Handle> timer;
    std::string hash; // of the password, for the new account or the changed one
    // An account of ours whose local hash rejected the password, while its migration is not
    // finished: the provider's verdict decides, and an acceptance updates it.
    std::optional<StoredAccount> account;
    bool domain_retried = false;
};

LoginFlow::LoginFlow(const Config &config, const KeyRing &keys, EventLoop &loop, LoginHost &host,
                     LoginStore &store)
    : config_(config), keys_(keys), loop_(loop), host_(host), store_(store) {}

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

template <class... Args, class F> std::function<void(Args...)> LoginFlow::later(Login &l, F f) {
    return [this, id = l.id, f = std::move(f)](Args... args) {
        Login *found = find(id);
        if (found == nullptr)
            return; // answered meanwhile (shutdown, an earlier failure)
        run_guarded([&] { f(*found, std::forward<Args>(args)...); },
                    [this, id](const std::string &what) { finish(id, internal_error(what)); });
    };
}

void LoginFlow::start(LoginRequest request, Done done) {
    const uint64_t id = next_id_++;
    auto owned = std::make_unique<Login>();
    Login &l = *owned;
    l.id = id;
    l.request = std::move(request);
    l.done = std::move(done);
    logins_.emplace(id, std::move(owned));
    run_guarded(
        [&] {
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
            l.lane = store_.pick_lane();
            lookup(l);
        },
        [this, id](const std::string &what) { finish(id, internal_error(what)); });
}

void LoginFlow::lookup(Login &l) {
    const LoginTarget &t = *l.target;
    store_.find_account(l.lane, t.local_address, t.old_address.str(),
                        later<Result<std::optional<StoredAccount>>>(
                            l, [this](Login &l, Result<std::optional<StoredAccount>> r) {
                                // A server restart is only noticed by the next statement: it fails,
                                // and the session reconnects for the one after. Retry once.
                                if (!r && ++l.lookups < 2)
                                    return lookup(l);
                                if (!r)
                                    return database_failure(l, r.error());
                                if (r.value())
                                    return existing_account(l, *r.value());
                                reserve(l);
                            }));
}

// The local passdb hands one of our accounts on in three cases: a concurrent first login
// committed it after the local lookup, the user still logs in with the old address of a
// renamed domain, or the local hash rejected the password. The local hash decides first, as
// the local passdb would have (the login continues under the local address). A password it
// rejects goes to the old provider while the migration is not finished: until then the
// provider is the authority for the user's password (changed there, it is taken over here);
// afterwards only the local password counts and the provider is not asked.
void LoginFlow::existing_account(Login &l, const StoredAccount &account) {
    const std::string local = l.target->local_address;
    if (!account.ours || !account.enabled)
        return finish(l.id, decide(LoginOutcome::user_unknown, LogLevel::debug,
                                   "account " + local + " exists here: the local passdb decides"));
    struct Verify {
        std::string stored;
        SecretString password;
        std::optional<Result<bool>> verified;
    };
    auto v = std::make_shared<Verify>(Verify{account.password_hash, l.request.password, {}});
    host_.offload(
        [v] { v->verified.emplace(verify_password(v->stored, v->password)); },
        later<>(l, [this, v, account](Login &l) {
            const std::string &local = l.target->local_address;
            if (!v->verified)
                return finish(l.id, internal_error("verifying the password did not finish"));
            const Result<bool> &verified = *v->verified;
            if (!verified)
                return finish(
                    l.id, decide(LoginOutcome::user_unknown, LogLevel::debug,
                                 "account " + local + " exists here: " + verified.error().message));
            if (verified.value())
                return finish(l.id, with_proxy(l, account.proxied,
                                               decide(LoginOutcome::ok, LogLevel::info,
                                                      "account " + local +
                                                          " was just created or its password "
                                                          "updated by a concurrent login")));
            if (account.finished)
                return finish(l.id, decide(LoginOutcome::password_mismatch, LogLevel::info,
                                           "account " + local +
                                               ": password mismatch (migration finished: only "
                                               "the local password counts)"));
            if (account.provider != l.target->provider.name)
                return finish(l.id,
                              decide(LoginOutcome::password_mismatch, LogLevel::info,
                                     "account " + local +
                                         ": password mismatch (its migration is from "
                                         "provider " +
                                         account.provider + ", not " + l.target->provider.name +
                                         ": only the local password counts)"));
            // Throttled exactly like a first login: the limits, a slot, then the check.
            l.account = account;
            reserve(l);
        }));
}

// The check is counted against the remote IP's and the login's limits before it may go to the
// provider, in one atomic step: parallel attempts cannot all read "under the limit" first.
void LoginFlow::reserve(Login &l) {
    const LoginProtectionConfig &cfg = config_.login_protection;
    const ProviderConfig &p = l.target->provider;
    if (l.reserve_deadline == std::chrono::steady_clock::time_point{}) {
        l.limits.ip = remote_ip_limit_key(l.request.remote_ip, cfg.ipv6_prefix_length);
        l.limits.ip_limit = cfg.max_failures_per_ip;
        l.limits.login = l.target->old_address.str();
        l.limits.login_limit = cfg.max_failures_per_user;
        l.limits.window_seconds = cfg.failure_window_seconds;
        // Longer than any real check takes, slot wait included.
        l.limits.stale_seconds = 2 * (cfg.slot_wait_seconds + p.timeout_seconds) + 10;
        // A busy counter frees up when a check under way ends: a whole check may be needed.
        l.reserve_deadline = std::chrono::steady_clock::now() +
                             std::chrono::seconds(cfg.slot_wait_seconds + p.timeout_seconds);
    }
    if (l.limits.login_limit <= 0 && (l.limits.ip.empty() || l.limits.ip_limit <= 0))
        return acquire_slot(l);
    store_.reserve_check(
        l.lane, l.limits, later<Result<Reservation>>(l, [this](Login &l, Result<Reservation> r) {
            if (!r)
                return database_failure(l, r.error());
            const Reservation &res = r.value();
            const std::string who = limit_name(res.limit);
            const std::string label = provider_label(l.target->provider);
            switch (res.verdict) {
            case Reservation::Verdict::reserved:
                l.reserved = true;
                l.pause = std::chrono::milliseconds(20);
                return acquire_slot(l);
            case Reservation::Verdict::busy:
                if (retry_later(l, l.reserve_deadline, &LoginFlow::reserve))
                    return;
                return finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                           label + ": as many checks for this " + who +
                                               " as its limit allows are under way; try again "
                                               "later"));
            case Reservation::Verdict::refused:
                break;
            }
            finish(l.id,
                   decide(LoginOutcome::password_mismatch,
                          res.first_refusal ? LogLevel::info : LogLevel::debug,
                          "refused without asking " + label +
                              ": too many rejected logins for this " + who + " in the last " +
                              std::to_string(config_.login_protection.failure_window_seconds) +
                              " s"));
        }));
}

bool LoginFlow::retry_later(Login &l, std::chrono::steady_clock::time_point deadline,
                            void (LoginFlow::*again)(Login &)) {
    if (std::chrono::steady_clock::now() + l.pause > deadline)
        return false;
    l.timer = loop_.after(l.pause, later<>(l, [this, again](Login &l) {
                              LoginFlow *self = this;
                              const auto next = again; // the timer owns this closure
                              l.timer.reset();
                              (self->*next)(l);
                          }));
    l.pause = std::min(l.pause * 2, std::chrono::milliseconds(250));
    return true;
}

// Waits up to slot_wait_seconds for one of the provider's max_connections slots.
void LoginFlow::acquire_slot(Login &l) {
    const ProviderConfig &p = l.target->provider;
    if (l.slot_deadline == std::chrono::steady_clock::time_point{})
        l.slot_deadline = std::chrono::steady_clock::now() +
                          std::chrono::seconds(config_.login_protection.slot_wait_seconds);
    store_.acquire_slot(
        l.lane, p.name, ProviderSlot::slots_for(p, ProviderSlot::Use::login),
        later<Result<std::optional<HeldSlot>>>(l, [this](Login &l,
                                                         Result<std::optional<HeldSlot>> r) {
            if (!r)
                return database_failure(l, r.error());
            if (r.value()) {
                l.slot = r.value();
                return check(l);
            }
            if (retry_later(l, l.slot_deadline, &LoginFlow::acquire_slot))
                return;
            const ProviderConfig &p = l.target->provider;
            finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                provider_label(p) + ": all " + std::to_string(p.max_connections) +
                                    " connections busy (max_connections); try again later"));
        }));
}

void LoginFlow::check(Login &l) {
    host_.check(
        l.target->provider, l.target->old_address.str(), l.request.password,
        later<CheckResult>(l, [this](Login &l, CheckResult result) { checked(l, result); }));
}

void LoginFlow::release_slot(Login &l) {
    if (!l.slot)
        return;
    const HeldSlot slot = *l.slot;
    l.slot.reset();
    store_.release_slot(l.lane, l.target->provider.name, slot);
}

void LoginFlow::checked(Login &l, const CheckResult &check) {
    release_slot(l); // the provider connection is closed: free the slot first
    switch (check.outcome) {
    case CheckOutcome::rejected:
        return record_rejection(l, check);
    case CheckOutcome::temporary: // never counts: finish gives the reservation back
        return finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error,
                                   provider_label(l.target->provider) + ": " + check.detail));
    case CheckOutcome::accepted:
        break;
    }
    if (l.reserved) {
        l.reserved = false;
        // A stale counter only expires later: no need to wait for it.
        store_.end_check(l.lane, l.limits, CheckEnd::accepted, [](Result<bool>) {});
    }
    hash(l);
}

// Answered once the rejection counts, so that the next attempt sees it.
void LoginFlow::record_rejection(Login &l, const CheckResult &check) {
    auto rejected = [this, detail = check.detail](Login &l) {
        finish(l.id, decide(LoginOutcome::password_mismatch, LogLevel::info,
                            provider_label(l.target->provider) + " rejected the credentials (" +
                                detail + ")"));
    };
    if (!l.reserved)
        return rejected(l); // no limit applies
    l.reserved = false;
    store_.end_check(l.lane, l.limits, CheckEnd::rejected,
                     later<Result<bool>>(l, [this, rejected](Login &l, Result<bool> r) {
                         if (!r)
                             return database_failure(l, r.error());
                         rejected(l);
                     }));
}

void LoginFlow::hash(Login &l) {
    struct Hash {
        std::string scheme;
        SecretString password;
        std::optional<Result<std::string>> hashed;
    };
    auto h = std::make_shared<Hash>(Hash{config_.accounts.password_scheme, l.request.password, {}});
    host_.offload(
        [h] { h->hashed.emplace(hash_password(h->scheme, h->password)); },
        later<>(l, [this, h](Login &l) {
            if (!h->hashed)
                return finish(l.id, internal_error("hashing the password did not finish"));
            if (!*h->hashed)
                return finish(l.id,
                              decide(LoginOutcome::temporary_failure, LogLevel::error,
                                     "hashing the password failed: " + h->hashed->error().message));
            l.hash = std::move(h->hashed->value());
            if (l.account)
                return update_password(l);
            create(l);
        }));
}

void LoginFlow::create(Login &l) {
    const LoginTarget &t = *l.target;
    const std::string old_login = t.old_address.str();
    const SealedSecret sealed =
        keys_.seal(l.request.password, migration_secret_context(t.provider.name, old_login));
    NewAccount account{t.domain.local_domain,
                       config_.accounts.default_mailbox_quota_mb,
                       config_.accounts.auto_create_domains,
                       t.local_address,
                       l.hash,
                       t.provider.name,
                       old_login,
                       std::string(sealed.blob.begin(), sealed.blob.end()),
                       sealed.key_id,
                       "first login with the old credentials",
                       t.provider.cutover == Cutover::proxy
                           ? std::optional(proxy_target(t.provider, old_login))
                           : std::nullopt};
    store_.create_account(
        l.lane, account,
        later<Result<std::optional<CreatedAccount>>>(
            l, [this](Login &l, Result<std::optional<CreatedAccount>> r) {
                if (!r)
                    return database_failure(l, r.error());
                if (r.value())
                    return created(l, *r.value());
                const std::string &domain = l.target->domain.local_domain;
                if (!config_.accounts.auto_create_domains)
                    return finish(l.id,
                                  decide(LoginOutcome::temporary_failure, LogLevel::error,
                                         "domain " + domain +
                                             " does not exist here and "
                                             "accounts.auto_create_domains is off: create the "
                                             "domain or turn auto creation on"));
                // A concurrent first login created the domain after this statement's
                // snapshot: the next statement sees it.
                if (l.domain_retried)
                    return finish(l.id,
                                  decide(LoginOutcome::temporary_failure, LogLevel::error,
                                         "domain " + domain + " could not be created nor found"));
                l.domain_retried = true;
                create(l);
            }));
}

// The provider accepted a password the local hash rejected: it changed there. The local hash
// and the sealed old password take it over (the worker syncs with it from now on).
void LoginFlow::update_password(Login &l) {
    const LoginTarget &t = *l.target;
    const std::string old_login = t.old_address.str();
    const SealedSecret sealed =
        keys_.seal(l.request.password, migration_secret_context(t.provider.name, old_login));
    PasswordUpdate update{t.local_address,
                          t.provider.name,
                          old_login,
                          l.hash,
                          std::string(sealed.blob.begin(), sealed.blob.end()),
                          sealed.key_id};
    store_.update_password(
        l.lane, update,
        later<Result<std::optional<UpdatedPassword>>>(
            l, [this](Login &l, Result<std::optional<UpdatedPassword>> r) {
                const LoginTarget &t = *l.target;
                if (!r)
                    return database_failure(l, r.error());
                if (!r.value())
                    return finish(l.id, decide(LoginOutcome::password_mismatch, LogLevel::info,
                                               "account " + t.local_address +
                                                   ": its migration finished or went away "
                                                   "meanwhile: only the local password counts"));
                const UpdatedPassword &u = *r.value();
                finish(l.id,
                       with_proxy(l, u.proxied,
                                  decide(LoginOutcome::ok, LogLevel::info,
                                         "account " + t.local_address + ": password changed at " +
                                             provider_label(t.provider) +
                                             "; local password and migration " + u.migration_id +
                                             "'s stored password updated" +
                                             (u.resumed ? ", migration resumed" : ""))));
            }));
}

void LoginFlow::created(Login &l, const CreatedAccount &c) {
    const LoginTarget &t = *l.target;
    if (!c.domain_enabled)
        return finish(l.id, decide(LoginOutcome::user_disabled, LogLevel::info,
                                   "domain " + t.domain.local_domain + " is disabled here"));
    if (!c.migration_id)
        return concurrent_first_login(l);
    finish(l.id,
           with_cutover(
               l, decide(LoginOutcome::ok, LogLevel::info,
                         "created " +
                             std::string(c.domain_created ? "domain " + t.domain.local_domain + ", "
                                                          : "") +
                             "account " + t.local_address + " and migration " + *c.migration_id +
                             " from " + provider_label(t.provider))));
}

// Another login of the same user won the race. It was checked against the same provider, so
// this login succeeds too, provided the account really is that migration's.
void LoginFlow::concurrent_first_login(Login &l) {
    const LoginTarget &t = *l.target;
    store_.find_migration(
        l.lane, t.local_address, t.provider.name, t.old_address.str(),
        later<Result<std::optional<std::string>>>(
            l, [this](Login &l, Result<std::optional<std::string>> r) {
                const std::string &local = l.target->local_address;
                if (!r)
                    return database_failure(l, r.error());
                if (!r.value())
                    return finish(l.id, decide(LoginOutcome::user_unknown, LogLevel::info,
                                               "account " + local +
                                                   " appeared here meanwhile without this "
                                                   "migration: not ours"));
                finish(l.id,
                       with_cutover(l, decide(LoginOutcome::ok, LogLevel::info,
                                              "account " + local + " and migration " + *r.value() +
                                                  " were created by a concurrent login")));
            }));
}

// A migration that was just created has not synced yet: with `cutover: proxy` the session runs
// at the old provider, so the new mailbox is first touched by the sync that keeps the old UIDs.
LoginDecision LoginFlow::with_cutover(const Login &l, LoginDecision decision) const {
    return with_proxy(l, l.target->provider.cutover == Cutover::proxy, std::move(decision));
}

// An existing migration proxies as its row says (proxy_until_synced, not synced yet), whatever
// the provider's `cutover` says today.
LoginDecision LoginFlow::with_proxy(const Login &l, bool proxied, LoginDecision decision) const {
    const LoginTarget &t = *l.target;
    if (proxied)
        decision.proxy = proxy_target(t.provider, t.old_address.str());
    return decision;
}

void LoginFlow::database_failure(Login &l, const Error &error) {
    finish(l.id, decide(LoginOutcome::temporary_failure, LogLevel::error, error.message));
}

// Answers exactly once: the login leaves the map first, so nothing can answer it again.
void LoginFlow::finish(uint64_t id, LoginDecision decision) noexcept {
    auto it = logins_.find(id);
    if (it == logins_.end())
        return;
    std::unique_ptr<Login> l = std::move(it->second);
    logins_.erase(it);
    const auto ignore = [](const std::string &) {};
    run_guarded(
        [&] {
            release_slot(*l);
            // A check that never reached a verdict does not count.
            if (l->reserved)
                store_.end_check(l->lane, l->limits, CheckEnd::void_, [](Result<bool>) {});
            // After a rename the login continues under the local address.
            if (decision.outcome == LoginOutcome::ok && l->target &&
                l->target->local_address != l->request.user)
                decision.new_user = l->target->local_address;
        },
        ignore);
    run_guarded([&] { l->done(std::move(decision)); }, ignore);
}

} // namespace imapmig
