// LoginFlow without Dovecot: the real database, a provider check the test answers by hand, so
// that races between first logins can be set up exactly.
#include "migration_env.hpp"

#include "config/config.hpp"
#include "crypto/secrets.hpp"
#include "db/store.hpp"
#include "login/login_flow.hpp"
#include "login/pg_login_store.hpp"
#include "loop/poll_loop.hpp"

#include "catch_compat.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// Holds every provider check until the test answers it; hashing runs in line.
class HeldChecks final : public imapmig::LoginHost {
public:
    void check(const imapmig::ProviderConfig &, const std::string &login,
               const imapmig::SecretString &,
               std::function<void(imapmig::CheckResult)> done) override {
        held[login] = std::move(done);
    }
    void offload(std::function<void()> work, std::function<void()> done) override {
        work();
        done();
    }
    void accept(const std::string &login) {
        auto done = std::move(held.at(login));
        held.erase(login);
        done({imapmig::CheckOutcome::accepted, "OK"});
    }
    std::map<std::string, std::function<void(imapmig::CheckResult)>> held;
};

// Runs the loop for a while, whatever happens meanwhile.
void spin(imapmig::PollLoop &loop, std::chrono::milliseconds how_long) {
    bool over = false;
    auto timer = loop.after(how_long, [&] { over = true; });
    loop.run_until([&] { return over; });
}

// A MigrationEnv's database and configuration, without Dovecot: what a LoginFlow needs.
struct FlowEnv {
    explicit FlowEnv(MigrationEnvOptions o) : env(with_cheap_hash(std::move(o))) {
        env.write_config();
        REQUIRE(env.migrator({"db", "upgrade"}).exit_code == 0);
        auto loaded = imapmig::load_config(env.config_path);
        REQUIRE(loaded.config);
        config = std::move(*loaded.config);
        auto k = imapmig::KeyRing::load(config.secret_key_file, {});
        REQUIRE(k);
        keys.emplace(std::move(k.value()));
    }
    static MigrationEnvOptions with_cheap_hash(MigrationEnvOptions o) {
        o.password_scheme = "SHA512-CRYPT";
        return o;
    }
    MigrationEnv env;
    imapmig::Config config;
    std::optional<imapmig::KeyRing> keys;
};

} // namespace

TEST_CASE("first logins racing to create one domain all succeed, the domain made once",
          "[integration]") {
    FlowEnv f({});
    MigrationEnv &env = f.env;
    imapmig::PollLoop loop;
    HeldChecks host;
    imapmig::PgLoginStore store(loop, f.config.database, 2);
    imapmig::LoginFlow flow(f.config, *f.keys, loop, host, store);
    std::map<std::string, imapmig::LoginDecision> decisions;
    for (const auto &[user, pw] : {std::pair{bob, bob_pw}, std::pair{carol, carol_pw}})
        flow.start({user, imapmig::SecretString(pw), "127.0.0.9"},
                   [&decisions, user = user](imapmig::LoginDecision d) {
                       decisions.emplace(user, std::move(d));
                   });
    REQUIRE(loop.run_until([&] { return host.held.size() == 2; }));

    // Someone else is creating the domain right now: both logins' statements wait for that
    // transaction and then see no domain in their snapshot; each must try once more.
    auto other = imapmig::Connection::open(env.db);
    REQUIRE(other);
    REQUIRE(other.value().exec("BEGIN", "BEGIN"));
    REQUIRE(other.value().exec("domain", "INSERT INTO domains (name) VALUES ('other.example')"));
    host.accept(bob);
    host.accept(carol);
    spin(loop, 300ms);
    CHECK(decisions.empty()); // both wait for the other transaction
    REQUIRE(other.value().exec("COMMIT", "COMMIT"));
    REQUIRE(loop.run_until([&] { return decisions.size() == 2; }));

    for (const auto &[user, d] : decisions) {
        INFO(user << ": " << d.message);
        CHECK(d.outcome == imapmig::LoginOutcome::ok);
        CHECK(d.message.find("created account " + user) == 0); // not the domain: it existed
    }
    CHECK(env.count("domains") == 1);
    CHECK(env.count("accounts") == 2);
    CHECK(env.count("migrations") == 2);
    CHECK(env.sql("SELECT count(*) FROM migration_events WHERE kind = 'created'") == "2");
    CHECK(flow.in_flight() == 0);
}

TEST_CASE("shutdown answers logins in flight and frees their provider slots", "[integration]") {
    MigrationEnvOptions o;
    o.max_connections = 1;
    FlowEnv f(o);
    MigrationEnv &env = f.env;
    imapmig::PollLoop loop;
    HeldChecks host;
    std::vector<imapmig::LoginDecision> decisions;
    {
        imapmig::PgLoginStore store(loop, f.config.database, 1);
        imapmig::LoginFlow flow(f.config, *f.keys, loop, host, store);
        flow.start({bob, imapmig::SecretString(bob_pw), ""},
                   [&](imapmig::LoginDecision d) { decisions.push_back(std::move(d)); });
        REQUIRE(loop.run_until([&] { return host.held.size() == 1; }));
        // The only slot is bob's: a second login waits for it.
        flow.start({carol, imapmig::SecretString(carol_pw), ""},
                   [&](imapmig::LoginDecision d) { decisions.push_back(std::move(d)); });
        spin(loop, 200ms);
        CHECK(decisions.empty());
        CHECK(flow.in_flight() == 2);
        flow.shutdown("shutting down");
        REQUIRE(decisions.size() == 2);
        for (const auto &d : decisions) {
            CHECK(d.outcome == imapmig::LoginOutcome::temporary_failure);
            CHECK(d.message == "shutting down");
        }
        CHECK(flow.in_flight() == 0);
    }
    // The flow's sessions are gone and their slots with them: a new flow gets the slot.
    imapmig::PgLoginStore again_store(loop, f.config.database, 1);
    imapmig::LoginFlow again(f.config, *f.keys, loop, host, again_store);
    std::optional<imapmig::LoginDecision> later;
    again.start({carol, imapmig::SecretString(carol_pw), ""},
                [&](imapmig::LoginDecision d) { later = std::move(d); });
    REQUIRE(loop.run_until([&] { return host.held.count(carol) == 1; }));
    host.accept(carol);
    REQUIRE(loop.run_until([&] { return later.has_value(); }));
    CHECK(later->outcome == imapmig::LoginOutcome::ok);
    CHECK(env.count("accounts") == 1);
}
