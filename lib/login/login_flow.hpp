// The login path's decisions: a user unknown here logs in with the old provider's
// credentials; if the provider accepts them, the domain, the account and the migration task
// are created in one transaction. Until a migration is finished the old provider is also the
// authority for its user's password: one the local hash rejects but the provider accepts
// replaces the local hash and the sealed old password (and resumes a rejected task). Every step is
// asynchronous on an event loop: the SQL through the LoginStore (login_store.hpp), the provider
// check and the hashing through the LoginHost. The auth process runs it on Dovecot's ioloop; the
// blocking mode on a PollLoop (login_migration.hpp). Each continuation runs guarded
// (loop/guarded.hpp): an exception answers its login with a temporary failure, once.
#pragma once

#include "base/secret_string.hpp"
#include "config/config.hpp"
#include "crypto/secrets.hpp"
#include "login/imap_check.hpp"
#include "login/login_decision.hpp"
#include "login/login_store.hpp"
#include "loop/event_loop.hpp"

#include <chrono>
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

    LoginFlow(const Config &config, const KeyRing &keys, EventLoop &loop, LoginHost &host,
              LoginStore &store);
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
    // The one way a login continues later: f(login) runs if the login is still in flight,
    // guarded; an exception answers the login with a temporary failure.
    template <class... Args, class F> std::function<void(Args...)> later(Login &l, F f);
    void lookup(Login &l);
    void existing_account(Login &l, const StoredAccount &account);
    void reserve(Login &l);
    void acquire_slot(Login &l);
    // Waits, then runs again, until deadline; false when the deadline would pass.
    bool retry_later(Login &l, std::chrono::steady_clock::time_point deadline,
                     void (LoginFlow::*again)(Login &));
    void check(Login &l);
    void checked(Login &l, const CheckResult &check);
    void release_slot(Login &l);
    void record_rejection(Login &l, const CheckResult &check);
    void hash(Login &l);
    void create(Login &l);
    void update_password(Login &l);
    void created(Login &l, const CreatedAccount &created);
    void concurrent_first_login(Login &l);
    void finish(uint64_t id, LoginDecision decision) noexcept;
    LoginDecision with_cutover(const Login &l, LoginDecision decision) const;
    LoginDecision with_proxy(const Login &l, bool proxied, LoginDecision decision) const;
    void database_failure(Login &l, const Error &error);

    const Config &config_;
    const KeyRing &keys_;
    EventLoop &loop_;
    LoginHost &host_;
    LoginStore &store_;
    std::map<uint64_t, std::unique_ptr<Login>> logins_;
    uint64_t next_id_ = 1;
};

} // namespace imapmig
