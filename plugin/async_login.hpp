// Non-blocking first logins in the auth process: the database and hashing steps run on the
// login pool's threads, the provider check on libcurl multi in Dovecot's ioloop. Each request
// is referenced (auth_request_ref) until its callback has run. Include after Dovecot's headers.
#pragma once

#include "curl_ioloop.hpp"
#include "login_pool.hpp"

#include <map>
#include <memory>

class AsyncLogins {
public:
    AsyncLogins(const imapmig::Config &config, const imapmig::KeyRing &keys, int threads);
    // Requests in flight fail with an internal error (their callbacks run): Dovecot is
    // shutting down and waits for no one.
    ~AsyncLogins();
    AsyncLogins(const AsyncLogins &) = delete;
    AsyncLogins &operator=(const AsyncLogins &) = delete;

    void verify(struct auth_request *request, const char *password,
                verify_plain_callback_t *callback);

private:
    struct Request;
    static void on_pool_ready(AsyncLogins *self);
    static void on_check_done(void *context, int curl_code);
    void advance(Request *r);
    void finish(Request *r, enum passdb_result result);

    const imapmig::Config &config_;
    imapmig::LoginPool pool_;
    CurlIoloop curl_;
    struct io *pool_io_ = nullptr;
    std::map<Request *, std::unique_ptr<Request>> in_flight_;
};
