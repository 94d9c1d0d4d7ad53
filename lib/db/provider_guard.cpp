#include "db/provider_guard.hpp"

#include <sodium.h>

#include <cstring>
#include <thread>

namespace imapmig {

// Two-int advisory locks live in their own key space (objsubid 2), apart from the bigint lock
// the schema upgrade takes. key1 names the provider, key2 the slot.
int provider_lock_key(const std::string &provider) {
    unsigned char hash[4];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char *>(provider.data()),
                       provider.size(), nullptr, 0);
    int32_t key;
    std::memcpy(&key, hash, sizeof key);
    return key;
}

// One round trip tries every slot and takes the first free one. CASE fixes the order: the
// planner may otherwise try the lock before ruling out a slot this session holds already.
const Statement slot_acquire_statement{
    "provider slot acquire",
    "WITH held AS MATERIALIZED ("
    "  SELECT objid::int AS s FROM pg_locks"
    "  WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 2"
    "    AND classid = $1::int::oid AND granted) "
    "SELECT s FROM generate_series(0, $2::int - 1) AS s "
    "WHERE CASE WHEN s IN (SELECT s FROM held) THEN false"
    "           ELSE pg_try_advisory_lock($1::int, s) END "
    "LIMIT 1"};

const Statement slot_release_statement{"provider slot release",
                                       "SELECT pg_advisory_unlock($1::int, $2::int)"};

ProviderSlot::~ProviderSlot() {
    if (conn_ != nullptr && !conn_->broken())
        (void)conn_->exec(slot_release_statement, {std::to_string(key1_), std::to_string(key2_)});
}

int ProviderSlot::slots_for(const ProviderConfig &provider, Use use) {
    return use == Use::sync && provider.max_connections > 1 ? provider.max_connections - 1
                                                            : provider.max_connections;
}

Result<std::optional<ProviderSlot>> ProviderSlot::acquire(Connection &conn,
                                                          const ProviderConfig &provider,
                                                          std::chrono::milliseconds wait, Use use) {
    const int key1 = provider_lock_key(provider.name);
    const int slots = slots_for(provider, use);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = std::chrono::milliseconds(20);
    while (true) {
        auto r = conn.exec(slot_acquire_statement, {std::to_string(key1), std::to_string(slots)});
        if (!r)
            return r.error();
        if (!r.value().empty())
            return std::optional<ProviderSlot>(
                ProviderSlot(conn, key1, static_cast<int>(r.value().integer(0, 0))));
        if (std::chrono::steady_clock::now() + pause > deadline)
            return std::optional<ProviderSlot>();
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(250));
    }
}

} // namespace imapmig
