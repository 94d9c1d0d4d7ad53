// What the login path asks of the database, as named answers: the LoginFlow decides, the store
// runs the statements (pg_login_store.hpp over non-blocking libpq; scripted fakes in tests).
// Every call is asynchronous: reply runs later from the loop, never from inside the call, and
// never after the store is destroyed.
#pragma once

#include "base/error.hpp"
#include "login/proxy_target.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace imapmig {

// An account this database already has under the local address.
struct StoredAccount {
    std::string password_hash;
    bool enabled = false; // the account and its domain
    bool ours = false;    // it has a migration from this old login
    // Of that migration (ours only):
    std::string provider;
    bool finished = false; // only the local password counts
    bool proxied = false;  // proxy_until_synced, first complete sync still to come
};

// A password the old provider accepted for an account of ours whose local hash rejected it.
struct PasswordUpdate {
    std::string local_address;
    std::string provider;
    std::string old_login;
    std::string password_hash;
    std::string sealed_secret; // bytes
    std::string secret_key_id;
};

struct UpdatedPassword {
    std::string migration_id;
    bool resumed = false; // the task was credentials_rejected: pending or synced again, due now
    bool proxied = false; // proxy_until_synced, first complete sync still to come
};

// The counters one provider check is held against. An empty ip or a limit of 0: no limit of
// that kind.
struct CheckLimits {
    std::string ip; // already reduced to its counter (client_key.hpp)
    int ip_limit = 0;
    std::string login;
    int login_limit = 0;
    int window_seconds = 900;
    // A reservation older than this was lost with its process and no longer counts.
    int stale_seconds = 60;
};

enum class LimitKind { ip, login };

struct Reservation {
    enum class Verdict {
        reserved, // counted: the check may go to the provider
        busy,     // rejected plus in-flight checks reach a limit: ask again after a pause
        refused,  // the rejected checks alone reach a limit
    } verdict = Verdict::reserved;
    LimitKind limit = LimitKind::ip;
    bool first_refusal = false; // log it at info; the repeats at debug
};

// How a reserved check ended, for the counters.
enum class CheckEnd {
    rejected, // counts as a failure
    accepted, // the login's failures are forgotten; the IP's reservation given back
    void_,    // never reached a verdict (temporary failure, no slot, shutdown): given back
};

// One of a provider's max_connections slots, held by one database connection.
struct HeldSlot {
    int number = 0;
    uint64_t connection = 0;
};

struct NewAccount {
    std::string local_domain;
    long long domain_quota_mb = 0;
    bool may_create_domain = false;
    std::string local_address;
    std::string password_hash;
    std::string provider;
    std::string old_login;
    std::string sealed_secret; // bytes
    std::string secret_key_id;
    std::string event_message;
    // With `cutover: proxy`: the migration proxies until its first complete sync, and this is
    // where to (published for the SQL passdb with the account).
    std::optional<ProxyTarget> proxy;
};

struct CreatedAccount {
    bool domain_enabled = false;
    bool domain_created = false;
    // Empty when a concurrent first login created the account first.
    std::optional<std::string> migration_id;
};

class LoginStore {
public:
    template <class T> using Reply = std::function<void(Result<T>)>;
    // Which connection a login's statements go through: a slot is a lock of the connection
    // that took it, so one login keeps to one lane.
    using Lane = size_t;

    virtual ~LoginStore() = default;

    virtual Lane pick_lane() = 0;
    virtual void find_account(Lane lane, const std::string &local_address,
                              const std::string &old_login,
                              Reply<std::optional<StoredAccount>> reply) = 0;
    // Atomic: reading the counters and counting the check are one step.
    virtual void reserve_check(Lane lane, const CheckLimits &limits, Reply<Reservation> reply) = 0;
    virtual void end_check(Lane lane, const CheckLimits &limits, CheckEnd end,
                           Reply<bool> reply) = 0;
    // No slot free: std::nullopt.
    virtual void acquire_slot(Lane lane, const std::string &provider, int slots,
                              Reply<std::optional<HeldSlot>> reply) = 0;
    // Fire and forget: a lost connection took its locks along.
    virtual void release_slot(Lane lane, const std::string &provider, HeldSlot slot) = 0;
    // The domain (created when allowed and missing), the account, its migration task, the
    // event and the worker's wake-up in one transaction. std::nullopt: the domain is missing
    // (not allowed to create it, or created concurrently after this statement's snapshot).
    virtual void create_account(Lane lane, const NewAccount &account,
                                Reply<std::optional<CreatedAccount>> reply) = 0;
    // The account's hash, the migration's sealed old password and the resume of a
    // credentials_rejected task (with its event and the worker's wake-up) in one transaction.
    // std::nullopt: no such migration, or it is finished (meanwhile).
    virtual void update_password(Lane lane, const PasswordUpdate &update,
                                 Reply<std::optional<UpdatedPassword>> reply) = 0;
    // The migration of that account from that old login, if any: its id.
    virtual void find_migration(Lane lane, const std::string &local_address,
                                const std::string &provider, const std::string &old_login,
                                Reply<std::optional<std::string>> reply) = 0;
};

} // namespace imapmig
