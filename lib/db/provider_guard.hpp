// Protects old providers from us: a cap on concurrent connections per provider, shared by all
// auth processes and sync workers on all hosts, through PostgreSQL advisory locks. (The limits
// on rejected credential checks are the login path's: login/pg_login_store.)
#pragma once

#include "base/error.hpp"
#include "config/config.hpp"
#include "db/store.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace imapmig {

// The provider's key for its slots' advisory locks.
int provider_lock_key(const std::string &provider);

// A slot: $1 provider key, $2 number of slots. Returns the slot taken, or no row. Slots the
// session holds already are skipped: advisory locks are re-entrant, and one session may hold
// slots for several logins.
extern const Statement slot_acquire_statement;
// $1 provider key, $2 slot.
extern const Statement slot_release_statement;
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
    static int slots_for(const ProviderConfig &provider, Use use);

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

} // namespace imapmig
