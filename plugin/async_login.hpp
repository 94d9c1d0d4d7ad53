// Non-blocking first logins in the auth process: the login flow on Dovecot's ioloop, its SQL
// on pipelined non-blocking libpq sessions, the provider check on libcurl multi, the password
// hashing on a few threads. Each request is referenced (auth_request_ref) until its callback
// has run. Include after Dovecot's headers.
#pragma once

#include "curl_ioloop.hpp"
#include "dovecot_loop.hpp"

#include "login/imap_check.hpp"
#include "login/login_flow.hpp"
#include "loop/work_threads.hpp"

#include <map>
#include <memory>

class AsyncLogins final : private imapmig::LoginHost {
public:
    AsyncLogins(const imapmig::Config &config, const imapmig::KeyRing &keys, int threads,
                int connections);
    // Requests in flight fail with an internal error (their callbacks run): Dovecot is
    // shutting down and waits for no one.
    ~AsyncLogins() override;
    AsyncLogins(const AsyncLogins &) = delete;
    AsyncLogins &operator=(const AsyncLogins &) = delete;

    void verify(struct auth_request *request, const char *password,
                verify_plain_callback_t *callback);

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

    DovecotLoop loop_;
    CurlIoloop curl_;
    imapmig::WorkThreads threads_;
    std::map<Check *, std::unique_ptr<Check>> checks_;
    imapmig::LoginFlow flow_; // last: it uses the others
};
