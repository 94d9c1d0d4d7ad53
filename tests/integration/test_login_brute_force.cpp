// Parallel brute force through the real Dovecot and our module: however many attempts run at
// once, no more LOGINs reach the old provider than the limits allow. A proxy in front of the
// provider counts the LOGINs and holds each back a while, so that the attempts overlap.
#include "delay_proxy.hpp"
#include "migration_env.hpp"

#include "catch_compat.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

struct BruteForceEnv {
    explicit BruteForceEnv(MigrationEnvOptions o) : env(plain(std::move(o))) {
        proxy = std::make_unique<DelayProxy>(env.old.imap_port(), 300ms);
        env.options.provider_port_override = proxy->port();
        env.write_config();
        env.start_new_dovecot();
    }
    static MigrationEnvOptions plain(MigrationEnvOptions o) {
        o.security = "none"; // the proxy reads the protocol
        o.provider_ssl = false;
        o.password_scheme = "SHA512-CRYPT";
        o.auth_debug = false;
        o.max_connections = 50; // the limits under test, not the slots, hold the attempts
        o.slot_wait_seconds = 10;
        // A check that times out is a temporary failure and rightly does not count, which
        // would let one more LOGIN through: on a loaded test machine, give checks time.
        o.timeout_seconds = 30;
        return o;
    }
    // attempts(i) for i in [0, total), `parallel` at a time; returns how many logged in.
    int run(int total, int parallel, const std::function<RunResult(int)> &attempt) {
        std::atomic<int> next{0}, ok{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < parallel; ++t)
            threads.emplace_back([&] {
                for (int i = next++; i < total; i = next++)
                    if (attempt(i).exit_code == 0)
                        ++ok;
            });
        for (auto &t : threads)
            t.join();
        return ok;
    }
    MigrationEnv env;
    std::unique_ptr<DelayProxy> proxy;
};

} // namespace

TEST_CASE("parallel brute force on one login reaches the provider at most the limit",
          "[integration]") {
    MigrationEnvOptions o;
    o.max_failures_per_user = 5;
    o.max_failures_per_ip = 1000; // every attempt from its own address anyway
    BruteForceEnv b(o);
    // 200 wrong passwords, 50 at a time, each from another address.
    const int ok = b.run(200, 50, [&](int i) {
        return b.env.auth_test(bob, "wrong-" + std::to_string(i),
                               "10.0." + std::to_string(i / 250) + "." +
                                   std::to_string(i % 250 + 1));
    });
    CHECK(ok == 0);
    INFO(b.env.new_log());
    const long reached = b.proxy->delayed_commands();
    CHECK(reached <= 5);
    CHECK(reached >= 1);
    CHECK(b.env.provider_attempts(bob) == reached);
    CHECK(b.env.count("accounts") == 0);
    // Locked for the window, the right password included.
    CHECK(b.env.auth_test(bob, bob_pw, "10.1.0.1").exit_code != 0);
    CHECK(b.proxy->delayed_commands() == reached);
    CHECK(b.env.logs_free_of_passwords());
}

TEST_CASE("parallel logins from one address reach the provider at most the limit",
          "[integration]") {
    MigrationEnvOptions o;
    o.max_failures_per_ip = 10;
    o.max_failures_per_user = 5;
    BruteForceEnv b(o);
    SECTION("one IPv4 address, 100 logins, 50 at a time") {
        const int ok = b.run(100, 50, [&](int i) {
            return b.env.auth_test("user" + std::to_string(i) + "@other.example", "guess",
                                   "192.0.2.77");
        });
        CHECK(ok == 0);
        INFO(b.env.new_log());
        CHECK(b.proxy->delayed_commands() <= 10);
        CHECK(b.proxy->delayed_commands() >= 1);
        // Another address still gets through.
        CHECK(b.env.auth_test(carol, carol_pw, "192.0.2.78").exit_code == 0);
    }
    SECTION("one IPv6 host rotating through its /64") {
        const int ok = b.run(60, 30, [&](int i) {
            char addr[64];
            snprintf(addr, sizeof addr, "2001:db8:77:1:%x:%x::%x", i * 7919 % 65536, i, i + 1);
            return b.env.auth_test("user" + std::to_string(i) + "@other.example", "guess", addr);
        });
        CHECK(ok == 0);
        INFO(b.env.new_log());
        CHECK(b.proxy->delayed_commands() <= 10);
        CHECK(b.proxy->delayed_commands() >= 1);
        // The next /64 is another client.
        CHECK(b.env.auth_test(carol, carol_pw, "2001:db8:77:2::1").exit_code == 0);
    }
}
