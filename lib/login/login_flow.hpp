// The login path: a user unknown here logs in with the old provider's credentials; if the
// provider accepts them, the domain, the account and the migration task are created in one
// transaction. Every step is asynchronous on an event loop: the SQL on AsyncSessions
// (pipelined, non-blocking libpq), the provider check and the hashing through the LoginHost.
// The auth process runs it on Dovecot's ioloop; the blocking mode on a PollLoop
// (login_migration.hpp).
#pragma once

#include "config/config.hpp"
#include "loop/event_loop.hpp"
#include "login/imap_check.hpp"
#include "login/login_decision.hpp"
#include "db/pg_async.hpp"
#include "base/secret_string.hpp"
#include "crypto/secrets.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace imapmig {

// What a LoginFlow asks of the process it runs in. Callbacks run on the loop's thread, later
// or right away; after shutdown of the host, never.
class LoginHost {
public:
    virtual ~LoginHost() = default;
    // Does login/password log in at the provider?
    virtual void check(const ProviderConfig &provider, const std::string &login,
                       const SecretString &password, std::function<void(CheckResult)> done) = 0;
    // Runs slow work (password hashing) where it does not hold up the loop, then done.
    virtual void offload(std::function<void()> work, std::function<void()> done) = 0;
};

struct LoginRequest {
    std::string user;
    SecretString password;
    std::string remote_ip; // empty when unknown
};

class LoginFlow {
public:
    using Done = std::function<void(LoginDecision)>;

    // sessions: database connections; each carries many logins' statements at once.
    LoginFlow(const Config &config, const KeyRing &keys, EventLoop &loop, LoginHost &host,
              int sessions);
    // Logins in flight are dropped unanswered: shutdown() answers them.
    ~LoginFlow();
    LoginFlow(const LoginFlow &) = delete;
    LoginFlow &operator=(const LoginFlow &) = delete;

    // Never throws; every failure is a decision. done runs exactly once, possibly before
    // start() returns.
    void start(LoginRequest request, Done done);
    // Answers every login in flight with a temporary failure saying why.
    void shutdown(const std::string &why);
    size_t in_flight() const { return logins_.size(); }

private:
    struct Login;
    Login *find(uint64_t id);
    AsyncSession &least_busy_session();
    void lookup(Login &l);
    void existing_account(Login &l, const Rows &row);
    void throttle(Login &l, bool by_ip);
    void acquire_slot(Login &l);
    void check(Login &l);
    void checked(Login &l, const CheckResult &check);
    void release_slot(Login &l);
    void record_rejection(Login &l, const CheckResult &check);
    void hash(Login &l);
    void create(Login &l);
    void created(Login &l, const Rows &rows);
    void concurrent_first_login(Login &l);
    void finish(uint64_t id, LoginDecision decision);
    LoginDecision with_cutover(const Login &l, LoginDecision decision) const;
    void database_failure(Login &l, const Error &error);
    // Runs the statement on l's session; next runs with l if l is still in flight.
    void query(Login &l, const Statement &st, std::vector<QueryParam> params,
               std::function<void(Login &, Result<Rows>)> next);

    const Config &config_;
    const KeyRing &keys_;
    EventLoop &loop_;
    LoginHost &host_;
    std::vector<std::unique_ptr<AsyncSession>> sessions_;
    std::map<uint64_t, std::unique_ptr<Login>> logins_;
    uint64_t next_id_ = 1;
};

} // namespace imapmig
