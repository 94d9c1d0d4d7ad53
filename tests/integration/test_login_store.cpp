// PgLoginStore's counters against a real PostgreSQL: reservations that hold when many are made
// at once, temporary failures that never count, the purge of expired rows, stale
// reservations of a crashed process.
#include "pg_cluster.hpp"

#include "db/migrations_table.hpp"
#include "db/schema.hpp"
#include "db/store.hpp"
#include "login/pg_login_store.hpp"
#include "loop/poll_loop.hpp"

#include "catch_compat.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace imapmig;
using testsupport::pg_scalar;
using testsupport::PgCluster;

namespace {

struct StoreEnv {
    PgCluster pg;
    std::string db = pg.create_database("logins");
    StoreEnv() {
        auto conn = Connection::open(db);
        REQUIRE(conn);
        REQUIRE(upgrade_schema(conn.value(), {}));
    }
};

CheckLimits limits_for(const std::string &ip, const std::string &login) {
    CheckLimits l;
    l.ip = ip;
    l.ip_limit = 10;
    l.login = login;
    l.login_limit = 5;
    l.window_seconds = 600;
    l.stale_seconds = 60;
    return l;
}

// Sends every reservation before any answer comes back, on several connections.
std::vector<Reservation> reserve_all(PgLoginStore &store, PollLoop &loop,
                                     const std::vector<CheckLimits> &all) {
    std::vector<std::optional<Reservation>> got(all.size());
    size_t answered = 0;
    for (size_t i = 0; i < all.size(); ++i)
        store.reserve_check(store.pick_lane(), all[i], [&, i](Result<Reservation> r) {
            REQUIRE(r);
            got[i] = r.value();
            ++answered;
        });
    REQUIRE(loop.run_until([&] { return answered == all.size(); }));
    std::vector<Reservation> out;
    for (auto &g : got)
        out.push_back(*g);
    return out;
}

int count(const std::vector<Reservation> &rs, Reservation::Verdict v) {
    int n = 0;
    for (const auto &r : rs)
        n += r.verdict == v;
    return n;
}

void end(PgLoginStore &store, PollLoop &loop, const CheckLimits &l, CheckEnd how) {
    bool done = false;
    store.end_check(0, l, how, [&](Result<bool> r) {
        REQUIRE(r);
        done = true;
    });
    REQUIRE(loop.run_until([&] { return done; }));
}

} // namespace

TEST_CASE("login check reservations hold under parallel attempts", "[integration]") {
    StoreEnv env;
    PollLoop loop;
    PgLoginStore store(loop, env.db, 4);

    SECTION("one login, fifty at once, from fifty addresses: five go") {
        std::vector<CheckLimits> all;
        for (int i = 0; i < 50; ++i)
            all.push_back(limits_for("192.0.2." + std::to_string(i), "bob@other.example"));
        auto got = reserve_all(store, loop, all);
        CHECK(count(got, Reservation::Verdict::reserved) == 5);
        CHECK(count(got, Reservation::Verdict::busy) == 45);
        // The five rejected: from now on refused, the first refusal marked once.
        for (int i = 0; i < 5; ++i)
            end(store, loop, limits_for("192.0.2.200", "bob@other.example"), CheckEnd::rejected);
        got = reserve_all(store, loop, std::vector<CheckLimits>(3, all[0]));
        CHECK(count(got, Reservation::Verdict::refused) == 3);
        int first = 0;
        for (const auto &r : got) {
            CHECK(r.limit == LimitKind::login);
            first += r.first_refusal;
        }
        CHECK(first == 1);
    }
    SECTION("one address, many logins at once: ten go") {
        std::vector<CheckLimits> all;
        for (int i = 0; i < 40; ++i)
            all.push_back(limits_for("2001:db8:1:2::/64", "u" + std::to_string(i) + "@x.example"));
        auto got = reserve_all(store, loop, all);
        CHECK(count(got, Reservation::Verdict::reserved) == 10);
        for (const auto &r : got)
            if (r.verdict != Reservation::Verdict::reserved)
                CHECK(r.limit == LimitKind::ip);
    }
    SECTION("a refused or busy login does not use up the address's allowance") {
        auto bob = limits_for("192.0.2.1", "bob@other.example");
        auto got = reserve_all(store, loop, std::vector<CheckLimits>(8, bob));
        CHECK(count(got, Reservation::Verdict::reserved) == 5);
        CHECK(pg_scalar(env.db, "SELECT in_flight FROM login_check_failures WHERE kind = 'ip'") ==
              "5");
    }
}

TEST_CASE("temporary failures and accepted checks give their reservation back", "[integration]") {
    StoreEnv env;
    PollLoop loop;
    PgLoginStore store(loop, env.db, 1);
    const auto bob = limits_for("192.0.2.1", "bob@other.example");
    for (int round = 0; round < 3; ++round) { // 15 temporary failures: none counts
        auto got = reserve_all(store, loop, std::vector<CheckLimits>(5, bob));
        REQUIRE(count(got, Reservation::Verdict::reserved) == 5);
        for (int i = 0; i < 5; ++i)
            end(store, loop, bob, CheckEnd::void_);
    }
    CHECK(pg_scalar(env.db, "SELECT sum(failures) || '/' || sum(in_flight) FROM "
                            "login_check_failures") == "0/0");
    // Four rejected, one accepted: the login's count is forgotten, the address's keeps four.
    auto got = reserve_all(store, loop, std::vector<CheckLimits>(5, bob));
    REQUIRE(count(got, Reservation::Verdict::reserved) == 5);
    for (int i = 0; i < 4; ++i)
        end(store, loop, bob, CheckEnd::rejected);
    end(store, loop, bob, CheckEnd::accepted);
    CHECK(pg_scalar(env.db, "SELECT count(*) FROM login_check_failures WHERE kind = 'user'") ==
          "0");
    CHECK(pg_scalar(env.db, "SELECT failures || '/' || in_flight FROM login_check_failures "
                            "WHERE kind = 'ip'") == "4/0");
}

TEST_CASE("expired rows are purged and lost reservations expire", "[integration]") {
    StoreEnv env;
    PollLoop loop;
    PgLoginStore store(loop, env.db, 1);
    // Rows of a window long over, never followed by a success: the next reservation purges
    // them.
    pg_scalar(env.db, "INSERT INTO login_check_failures (kind, key, window_start, failures) "
                      "SELECT 'ip', '198.51.100.' || i, now() - interval '2 hours', 3 "
                      "FROM generate_series(1, 50) i RETURNING 1");
    // A process died with five checks reserved for carol a while ago.
    pg_scalar(env.db, "INSERT INTO login_check_failures (kind, key, in_flight, reserved_at) "
                      "VALUES ('user', 'carol@other.example', 5, now() - interval '5 minutes') "
                      "RETURNING 1");
    auto got = reserve_all(store, loop, {limits_for("192.0.2.9", "carol@other.example")});
    CHECK(got[0].verdict == Reservation::Verdict::reserved);
    CHECK(pg_scalar(env.db, "SELECT count(*) FROM login_check_failures WHERE key LIKE "
                            "'198.51.100.%'") == "0");
    CHECK(pg_scalar(env.db, "SELECT in_flight FROM login_check_failures WHERE key = "
                            "'carol@other.example'") == "1");
}

namespace {

std::optional<StoredAccount> find(PgLoginStore &store, PollLoop &loop, const std::string &user) {
    std::optional<Result<std::optional<StoredAccount>>> got;
    store.find_account(0, user, user, [&](Result<std::optional<StoredAccount>> r) { got = r; });
    REQUIRE(loop.run_until([&] { return got.has_value(); }));
    REQUIRE(*got);
    return got->value();
}

std::optional<UpdatedPassword> update(PgLoginStore &store, PollLoop &loop,
                                      const PasswordUpdate &u) {
    std::optional<Result<std::optional<UpdatedPassword>>> got;
    store.update_password(0, u, [&](Result<std::optional<UpdatedPassword>> r) { got = r; });
    REQUIRE(loop.run_until([&] { return got.has_value(); }));
    REQUIRE(*got);
    return got->value();
}

} // namespace

TEST_CASE("a changed password: hash, sealed secret and the resume in one statement, never after "
          "finished; a run rejected with the previous password is due again",
          "[integration][password]") {
    StoreEnv env;
    const std::string bob = "bob@other.example";
    testsupport::pg_query(
        env.db,
        "INSERT INTO domains (name) VALUES ('other.example');"
        "INSERT INTO accounts (username, address, domain_id, password)"
        " SELECT 'bob@other.example', 'bob@other.example', id, '{PLAIN}before' FROM domains;"
        "INSERT INTO migrations (account_id, provider, old_login, secret, secret_key_id, state,"
        " proxy_until_synced, attempts, last_error) SELECT id, 'oldmail', 'bob@other.example',"
        " '\\x01', 'k1', 'credentials_rejected', true, 3, 'NO [AUTHENTICATIONFAILED]'"
        " FROM accounts");
    const std::string id = pg_scalar(env.db, "SELECT id FROM migrations");
    PollLoop loop;
    PgLoginStore store(loop, env.db, 1);

    auto account = find(store, loop, bob);
    REQUIRE(account);
    CHECK(account->ours);
    CHECK(account->provider == "oldmail");
    CHECK_FALSE(account->finished);
    CHECK(account->proxied);

    const PasswordUpdate u{bob, "oldmail", bob, "{PLAIN}after", std::string("\x02\x03", 2), "k2"};
    auto updated = update(store, loop, u);
    REQUIRE(updated);
    CHECK(updated->migration_id == id);
    CHECK(updated->resumed);
    CHECK(updated->proxied);
    CHECK(pg_scalar(env.db, "SELECT a.password || ' ' || encode(m.secret, 'hex') || ' ' ||"
                            " m.secret_key_id || ' ' || m.state || ' ' || m.attempts || ' ' ||"
                            " (m.next_sync_at <= now()) || ' ' || coalesce(m.last_error, '-') ||"
                            " ' ' || (m.password_changed_at IS NOT NULL)"
                            " FROM migrations m JOIN accounts a ON a.id = m.account_id") ==
          "{PLAIN}after 0203 k2 pending 0 true - true");
    CHECK(pg_scalar(env.db, "SELECT count(*) FROM migration_events WHERE kind ="
                            " 'password_changed'") == "1");
    // Another provider's or another login's migration is not this one.
    CHECK_FALSE(update(store, loop, PasswordUpdate{bob, "elsewhere", bob, "{PLAIN}x", "y", "k2"}));

    // A worker's run claimed before the change and rejected for the previous password: due again
    // at once instead of credentials_rejected. One claimed after it: credentials_rejected.
    auto conn = Connection::open(env.db);
    REQUIRE(conn);
    MigrationRunRecord rejected{MigrationState::credentials_rejected, 3600, "rejected", {}};
    for (const auto &[started, want] :
         {std::pair<std::string, std::string>{"now() - interval '1 minute'", "pending"},
          {"now()", "credentials_rejected"}}) {
        testsupport::pg_query(env.db, "UPDATE migrations SET state = 'syncing', lease_owner = 'w',"
                                      " last_run_started = " +
                                          started);
        auto r = record_migration_run(conn.value(), std::stoll(id), "w", rejected);
        REQUIRE(r);
        REQUIRE(r.value());
        CHECK(to_string(*r.value()) == want);
    }

    // Finished: nothing is updated any more, and the lookup says so.
    testsupport::pg_query(env.db, "UPDATE migrations SET state = 'finished', secret = NULL,"
                                  " secret_key_id = NULL");
    CHECK(find(store, loop, bob)->finished);
    CHECK_FALSE(find(store, loop, bob)->proxied);
    CHECK_FALSE(update(store, loop, u));
    CHECK(pg_scalar(env.db, "SELECT password FROM accounts") == "{PLAIN}after");
    CHECK(pg_scalar(env.db, "SELECT secret IS NULL FROM migrations") == "t");
}
