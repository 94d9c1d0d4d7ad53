// The login pool's thread mechanics, without a database: logins for undeclared domains are
// decided before any SQL, so every job comes back with a decision.
#include "login_pool.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <poll.h>

using namespace imapmig;

namespace {

KeyRing test_keys() {
    std::array<unsigned char, secret_key_bytes> bytes;
    bytes.fill(0x42);
    std::vector<SecretKey> keys;
    keys.push_back(make_secret_key(bytes));
    return KeyRing::from_keys(std::move(keys));
}

std::vector<LoginJob *> collect(LoginPool &pool, size_t want) {
    std::vector<LoginJob *> done;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (done.size() < want && std::chrono::steady_clock::now() < deadline) {
        pollfd p{pool.notify_fd(), POLLIN, 0};
        poll(&p, 1, 200);
        for (LoginJob *j : pool.take_finished())
            done.push_back(j);
    }
    return done;
}

} // namespace

TEST_CASE("login pool: every job comes back once, decided, announced on notify_fd", "[unit]") {
    const Config config; // no providers: nothing reaches the database
    LoginPool pool(config, test_keys(), 3);
    REQUIRE(pool.threads() == 3);
    std::vector<LoginJob> jobs(60);
    for (size_t i = 0; i < jobs.size(); ++i) {
        jobs[i].user = i % 3 == 0 ? "no-at-sign-" + std::to_string(i)
                                  : "user" + std::to_string(i) + "@nowhere.example";
        jobs[i].password = SecretString("pw-" + std::to_string(i));
        jobs[i].owner = &jobs[i];
        pool.submit(&jobs[i]);
    }
    auto done = collect(pool, jobs.size());
    REQUIRE(done.size() == jobs.size());
    std::sort(done.begin(), done.end());
    CHECK(std::adjacent_find(done.begin(), done.end()) == done.end()); // no job twice
    for (LoginJob *j : done) {
        REQUIRE(j->decision);
        CHECK_FALSE(j->pending);
        CHECK(j->owner == j);
        CHECK(j->decision->outcome == LoginOutcome::user_unknown);
        const bool malformed = j->user.find('@') == std::string::npos;
        CHECK(j->decision->message.find(malformed ? "refused login name" : "is not declared") !=
              std::string::npos);
        CHECK(j->decision->message.find("pw-") == std::string::npos);
    }
    CHECK(pool.take_finished().empty());
}

TEST_CASE("login pool: stop returns queued jobs undecided", "[unit]") {
    const Config config;
    LoginPool pool(config, test_keys(), 1);
    std::vector<LoginJob> jobs(500);
    for (size_t i = 0; i < jobs.size(); ++i) {
        jobs[i].user = "user" + std::to_string(i) + "@nowhere.example";
        pool.submit(&jobs[i]);
    }
    pool.stop();
    pool.stop(); // idempotent
    std::vector<LoginJob *> back = pool.take_finished();
    CHECK(back.size() == jobs.size());
    for (LoginJob *j : back)
        CHECK_FALSE(j->pending);
    pool.submit(&jobs[0]); // after stop: queued, never run
    CHECK(pool.take_finished().empty());
}
