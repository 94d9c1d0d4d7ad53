// Non-blocking first logins in the auth process: the login flow on Dovecot's ioloop, its SQL
// on pipelined non-blocking libpq sessions, the provider check on libcurl multi, the password
// hashing on a few threads. Each request is held by its LoginAnswer until answered. An
// exception in any callback Dovecot or libcurl makes (its ioloop watches, curl's sockets and
// timer, work-thread completions) answers the logins it may have stranded: fail_all().
// Include after Dovecot's headers.
#pragma once

#include "curl_ioloop.hpp"
#include "dovecot_loop.hpp"
#include "login_mode.hpp"

#include "login/imap_check.hpp"
#include "login/login_flow.hpp"
#include "login/pg_login_store.hpp"
#include "loop/work_threads.hpp"

#include <map>
#include <memory>

class AsyncLogins final : public LoginMode, private imapmig::LoginHost {
public:
    AsyncLogins(const imapmig::Config &config, const imapmig::KeyRing &keys, int threads,
                int connections);
    // Requests in flight fail with an internal error (their callbacks run): Dovecot is
    // shutting down and waits for no one.
    ~AsyncLogins() override;
    AsyncLogins(const AsyncLogins &) = delete;
    AsyncLogins &operator=(const AsyncLogins &) = delete;

    void verify(imapmig::LoginRequest request, std::shared_ptr<LoginAnswer> answer) override;

private:
    struct Check {
        AsyncLogins *owner;
        std::unique_ptr<imapmig::LoginCheckHandle> handle;
        std::function<void(imapmig::CheckResult)> done;
    };
    void check(const imapmig::ProviderConfig &provider, const std::string &login,
               const imapmig::SecretString &password,
               std::function<void(imapmig::CheckResult)> done) override;
    void offload(std::function<void()> work, std::function<void()> done) override;
    static void on_check_done(void *context, int curl_code);
    // After an exception no one expected: every login in flight is answered (temporary
    // failure), whatever it was waiting for.
    void fail_all(const std::string &what) noexcept;

    DovecotLoop loop_;
    CurlIoloop curl_;
    imapmig::WorkThreads threads_;
    std::map<Check *, std::unique_ptr<Check>> checks_;
    imapmig::PgLoginStore store_;
    imapmig::LoginFlow flow_; // last: it uses the others
};
