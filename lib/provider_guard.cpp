#include "provider_guard.hpp"

#include <sodium.h>

#include <cstring>
#include <thread>

namespace imapmig {

namespace {

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

const char *scope_name(FailureScope s) {
    return s == FailureScope::ip ? "ip" : "user";
}

} // namespace

ProviderSlot::~ProviderSlot() {
    if (conn_ != nullptr && !conn_->broken())
        (void)conn_->exec("provider slot release", "SELECT pg_advisory_unlock($1::int, $2::int)",
                          {std::to_string(key1_), std::to_string(key2_)});
}

Result<std::optional<ProviderSlot>> ProviderSlot::acquire(Connection &conn,
                                                          const ProviderConfig &provider,
                                                          std::chrono::milliseconds wait, Use use) {
    const int key1 = provider_lock_key(provider.name);
    const int slots = use == Use::sync && provider.max_connections > 1
                          ? provider.max_connections - 1
                          : provider.max_connections;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = std::chrono::milliseconds(20);
    while (true) {
        // One round trip tries every slot and takes the first free one.
        auto r = conn.exec("provider slot acquire",
                           "SELECT s FROM generate_series(0, $2::int - 1) AS s "
                           "WHERE pg_try_advisory_lock($1::int, s) LIMIT 1",
                           {std::to_string(key1), std::to_string(slots)});
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

Result<ThrottleVerdict> FailureLimiter::check(const std::string &login, const std::string &ip) {
    if (!ip.empty() && cfg_.max_failures_per_ip > 0) {
        auto v = check_one(FailureScope::ip, ip, cfg_.max_failures_per_ip);
        if (!v || v.value().refused)
            return v;
    }
    if (cfg_.max_failures_per_user > 0)
        return check_one(FailureScope::user, login, cfg_.max_failures_per_user);
    return ThrottleVerdict{};
}

Result<ThrottleVerdict> FailureLimiter::check_one(FailureScope scope, const std::string &key,
                                                  int limit) {
    // Marking the refusal as logged in the same statement makes "log once" hold across all
    // auth workers.
    auto r = conn_.exec("login throttle check",
                        "WITH hit AS ("
                        "  SELECT kind, key, refusal_logged FROM login_check_failures"
                        "  WHERE kind = $1 AND key = $2 AND failures >= $3::int"
                        "    AND window_start > now() - make_interval(secs => $4::int)"
                        "  FOR UPDATE), "
                        "marked AS ("
                        "  UPDATE login_check_failures f SET refusal_logged = true FROM hit"
                        "  WHERE f.kind = hit.kind AND f.key = hit.key AND NOT hit.refusal_logged"
                        "  RETURNING 1) "
                        "SELECT (SELECT count(*) FROM hit), (SELECT count(*) FROM marked)",
                        {scope_name(scope), key, std::to_string(limit),
                         std::to_string(cfg_.failure_window_seconds)});
    if (!r)
        return r.error();
    ThrottleVerdict v;
    v.scope = scope;
    v.refused = r.value().integer(0, 0) > 0;
    v.first_refusal = r.value().integer(0, 1) > 0;
    return v;
}

Result<void> FailureLimiter::record_rejection(const std::string &login, const std::string &ip) {
    if (!ip.empty())
        if (auto r = record_one(FailureScope::ip, ip); !r)
            return r;
    return record_one(FailureScope::user, login);
}

Result<void> FailureLimiter::record_one(FailureScope scope, const std::string &key) {
    auto r = conn_.exec(
        "login throttle record",
        "INSERT INTO login_check_failures AS f (kind, key, window_start, failures) "
        "VALUES ($1, $2, now(), 1) "
        "ON CONFLICT (kind, key) DO UPDATE SET "
        "  failures = CASE WHEN f.window_start <= now() - make_interval(secs => $3::int)"
        "                  THEN 1 ELSE f.failures + 1 END,"
        "  refusal_logged = f.refusal_logged AND f.window_start > now() - make_interval(secs => "
        "$3::int),"
        "  window_start = CASE WHEN f.window_start <= now() - make_interval(secs => $3::int)"
        "                  THEN now() ELSE f.window_start END",
        {scope_name(scope), key, std::to_string(cfg_.failure_window_seconds)});
    if (!r)
        return r.error();
    return {};
}

Result<void> FailureLimiter::clear_user(const std::string &login) {
    auto r =
        conn_.exec("login throttle clear",
                   "DELETE FROM login_check_failures WHERE kind = 'user' AND key = $1", {login});
    if (!r)
        return r.error();
    return {};
}

} // namespace imapmig
