// Protects old providers from us: a cap on concurrent connections per provider (shared by all
// auth workers and sync workers on all hosts, through PostgreSQL advisory locks) and limits on
// rejected credential checks per remote IP and per login (counted in login_check_failures).
#pragma once

#include "config.hpp"
#include "error.hpp"
#include "store.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace imapmig {

// Holds one of a provider's max_connections slots until destroyed. The lock is tied to the
// database session, so a crashed holder frees its slot by itself.
class ProviderSlot {
public:
    ProviderSlot(ProviderSlot &&other) noexcept
        : conn_(other.conn_), key1_(other.key1_), key2_(other.key2_) {
        other.conn_ = nullptr;
    }
    ProviderSlot &operator=(ProviderSlot &&) = delete;
    ~ProviderSlot();

    // Logins may take any slot; syncs leave the last one to logins (when there is more than
    // one), so a user's first login never waits for other users' syncs.
    enum class Use { login, sync };

    // Waits up to `wait` for a free slot; std::nullopt when none freed up in time.
    static Result<std::optional<ProviderSlot>> acquire(Connection &conn,
                                                       const ProviderConfig &provider,
                                                       std::chrono::milliseconds wait,
                                                       Use use = Use::login);

private:
    ProviderSlot(Connection &conn, int key1, int key2) : conn_(&conn), key1_(key1), key2_(key2) {}
    Connection *conn_;
    int key1_, key2_;
};

enum class FailureScope { ip, user };

struct ThrottleVerdict {
    bool refused = false;
    bool first_refusal = false; // log a refusal once per window, not once per attempt
    FailureScope scope = FailureScope::user;
};

class FailureLimiter {
public:
    FailureLimiter(Connection &conn, const LoginProtectionConfig &cfg) : conn_(conn), cfg_(cfg) {}
    // remote_ip may be empty (unknown): then only the per-user limit applies.
    Result<ThrottleVerdict> check(const std::string &login, const std::string &remote_ip);
    Result<void> record_rejection(const std::string &login, const std::string &remote_ip);
    Result<void> clear_user(const std::string &login);

private:
    Result<ThrottleVerdict> check_one(FailureScope scope, const std::string &key, int limit);
    Result<void> record_one(FailureScope scope, const std::string &key);
    Connection &conn_;
    const LoginProtectionConfig &cfg_;
};

} // namespace imapmig
