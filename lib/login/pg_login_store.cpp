#include "login/pg_login_store.hpp"

#include "db/migrations_table.hpp"
#include "db/provider_guard.hpp"

#include <algorithm>
#include <memory>

namespace imapmig {

namespace {

// The statements on accounts and migrations (account lookup, creation, password update,
// migration lookup) are db/migrations_table's, with the readers of their rows; the throttle's
// are here.

// schema/0003: one statement reads and counts, under the rows' locks.
const Statement check_reserve_statement{
    "login check reserve", "SELECT verdict, limited, first_refusal "
                           "FROM login_check_reserve($1, $2::int, $3, $4::int, $5::int, $6::int)"};

Reservation reservation(const Rows &r) {
    Reservation out;
    const std::string_view verdict = r.text(0, 0);
    out.verdict = verdict == "refused" ? Reservation::Verdict::refused
                  : verdict == "busy"  ? Reservation::Verdict::busy
                                       : Reservation::Verdict::reserved;
    out.limit = r.text(0, 1) == "ip" ? LimitKind::ip : LimitKind::login;
    out.first_refusal = r.boolean(0, 2);
    return out;
}

// $1 kind, $2 key, $3 window seconds: the reserved check was rejected. An upsert: an expired
// row may have been purged while the check ran.
const Statement check_rejected_statement{
    "login check rejected",
    "INSERT INTO login_check_failures AS f (kind, key, window_start, failures) "
    "VALUES ($1, $2, now(), 1) "
    "ON CONFLICT (kind, key) DO UPDATE SET "
    "  in_flight = greatest(f.in_flight - 1, 0),"
    "  failures = CASE WHEN f.window_start <= now() - make_interval(secs => $3::int)"
    "                  THEN 1 ELSE f.failures + 1 END,"
    "  refusal_logged = f.refusal_logged"
    "                   AND f.window_start > now() - make_interval(secs => $3::int),"
    "  window_start = CASE WHEN f.window_start <= now() - make_interval(secs => $3::int)"
    "                  THEN now() ELSE f.window_start END"};

// $1 kind, $2 key: the reservation is given back, nothing counted.
const Statement check_void_statement{
    "login check void", "UPDATE login_check_failures SET in_flight = greatest(in_flight - 1, 0) "
                        "WHERE kind = $1 AND key = $2"};

// $1 login: its rejections are forgotten once the provider accepted it.
const Statement login_failures_clear_statement{
    "login failures clear", "DELETE FROM login_check_failures WHERE kind = 'user' AND key = $1"};

// Turns a reply of T into a reply of rows read by read.
template <class T, class Read> AsyncSession::Done reading(LoginStore::Reply<T> reply, Read read) {
    return [reply = std::move(reply), read](Result<Rows> r) {
        if (!r)
            return reply(r.error());
        reply(read(r.value()));
    };
}

} // namespace

PgLoginStore::PgLoginStore(EventLoop &loop, const std::string &conninfo, int sessions) {
    for (int i = 0; i < std::max(1, sessions); ++i)
        sessions_.push_back(std::make_unique<AsyncSession>(loop, conninfo));
}

PgLoginStore::~PgLoginStore() = default;

LoginStore::Lane PgLoginStore::pick_lane() {
    auto it = std::min_element(sessions_.begin(), sessions_.end(),
                               [](auto &a, auto &b) { return a->in_flight() < b->in_flight(); });
    return static_cast<Lane>(it - sessions_.begin());
}

void PgLoginStore::find_account(Lane lane, const std::string &local_address,
                                const std::string &old_login,
                                Reply<std::optional<StoredAccount>> reply) {
    session(lane).query(login_account_lookup_statement, {local_address, old_login},
                        reading(std::move(reply), [](const Rows &r) {
                            auto row = read_login_account(r);
                            return row ? std::optional<StoredAccount>(StoredAccount{
                                             row->password_hash, row->enabled, row->ours,
                                             row->provider, row->finished, row->proxied})
                                       : std::nullopt;
                        }));
}

void PgLoginStore::reserve_check(Lane lane, const CheckLimits &l, Reply<Reservation> reply) {
    session(lane).query(check_reserve_statement,
                        {l.ip.empty() ? Param(std::nullopt) : Param(l.ip),
                         std::to_string(l.ip_limit), l.login, std::to_string(l.login_limit),
                         std::to_string(l.window_seconds), std::to_string(l.stale_seconds)},
                        reading(std::move(reply), reservation));
}

void PgLoginStore::end_check(Lane lane, const CheckLimits &l, CheckEnd end, Reply<bool> reply) {
    struct Counter {
        const char *kind;
        std::string key;
    };
    std::vector<Counter> counters;
    if (!l.ip.empty() && l.ip_limit > 0)
        counters.push_back({"ip", l.ip});
    if (l.login_limit > 0)
        counters.push_back({"user", l.login});
    if (counters.empty())
        counters.push_back({"user", l.login}); // nothing counted: still answer from the loop
    // One statement per counter, each its own transaction: a row lock is never held while
    // waiting for another (reserve_check takes them in order, in one transaction).
    auto failed = std::make_shared<std::optional<Error>>();
    for (size_t i = 0; i < counters.size(); ++i) {
        const Counter &c = counters[i];
        AsyncSession::Done done = [failed](Result<Rows> r) {
            if (!r && !*failed)
                *failed = r.error();
        };
        if (i + 1 == counters.size()) // same session: the last answers after the others
            done = [failed, reply](Result<Rows> r) {
                if (!r && !*failed)
                    *failed = r.error();
                if (*failed)
                    return reply(**failed);
                reply(true);
            };
        if (end == CheckEnd::rejected)
            session(lane).query(check_rejected_statement,
                                {c.kind, c.key, std::to_string(l.window_seconds)}, std::move(done));
        else if (end == CheckEnd::accepted && std::string_view(c.kind) == "user")
            session(lane).query(login_failures_clear_statement, {c.key}, std::move(done));
        else
            session(lane).query(check_void_statement, {c.kind, c.key}, std::move(done));
    }
}

void PgLoginStore::acquire_slot(Lane lane, const std::string &provider, int slots,
                                Reply<std::optional<HeldSlot>> reply) {
    AsyncSession &s = session(lane);
    s.query(slot_acquire_statement,
            {std::to_string(provider_lock_key(provider)), std::to_string(slots)},
            [reply = std::move(reply), &s](Result<Rows> r) {
                if (!r)
                    return reply(r.error());
                if (r.value().empty())
                    return reply(std::optional<HeldSlot>());
                // The connection that answered holds the lock (a reconnect may have
                // happened since the statement was queued).
                reply(std::optional<HeldSlot>(
                    HeldSlot{static_cast<int>(r.value().integer(0, 0)), s.connection_id()}));
            });
}

void PgLoginStore::release_slot(Lane lane, const std::string &provider, HeldSlot slot) {
    AsyncSession &s = session(lane);
    // A lost connection took its locks along; a new one holds none of ours.
    if (s.connection_id() != slot.connection)
        return;
    s.query(slot_release_statement,
            {std::to_string(provider_lock_key(provider)), std::to_string(slot.number)},
            [](Result<Rows>) {});
}

void PgLoginStore::create_account(Lane lane, const NewAccount &a,
                                  Reply<std::optional<CreatedAccount>> reply) {
    const ProxyTarget none;
    const ProxyTarget &p = a.proxy ? *a.proxy : none;
    session(lane).query(
        login_account_create_statement,
        {a.local_domain, std::to_string(a.domain_quota_mb), a.may_create_domain ? "true" : "false",
         a.local_address, a.password_hash, a.provider, a.old_login, Param::binary(a.sealed_secret),
         a.secret_key_id, a.event_message, a.proxy ? "true" : "false", p.host,
         std::to_string(p.imap_port), std::to_string(p.pop3_port),
         std::string(to_string(p.security)), p.verify_certificate ? "true" : "false"},
        reading(std::move(reply), [](const Rows &r) {
            auto row = read_login_created(r);
            return row ? std::optional<CreatedAccount>(CreatedAccount{
                             row->domain_enabled, row->domain_created, row->migration_id})
                       : std::nullopt;
        }));
}

void PgLoginStore::update_password(Lane lane, const PasswordUpdate &u,
                                   Reply<std::optional<UpdatedPassword>> reply) {
    session(lane).query(login_password_update_statement,
                        {u.local_address, u.provider, u.old_login, u.password_hash,
                         Param::binary(u.sealed_secret), u.secret_key_id},
                        reading(std::move(reply), [](const Rows &r) {
                            auto row = read_login_password_updated(r);
                            return row ? std::optional<UpdatedPassword>(UpdatedPassword{
                                             row->migration_id, row->resumed, row->proxied})
                                       : std::nullopt;
                        }));
}

void PgLoginStore::find_migration(Lane lane, const std::string &local_address,
                                  const std::string &provider, const std::string &old_login,
                                  Reply<std::optional<std::string>> reply) {
    session(lane).query(login_migration_lookup_statement, {local_address, provider, old_login},
                        reading(std::move(reply), read_login_migration_id));
}

} // namespace imapmig
