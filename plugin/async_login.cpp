#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "async_login.hpp"

#include "login_result.hpp"

#include <exception>
#include <malloc.h>

namespace {

// Before the threads exist: glibc would give each thread its own malloc arena, reserving
// 64 MB of address space apiece against the auth process's vsz_limit.
int with_few_arenas(int threads) {
    mallopt(M_ARENA_MAX, 2);
    return threads;
}

} // namespace

AsyncLogins::AsyncLogins(const imapmig::Config &config, const imapmig::KeyRing &keys,
                         int threads, int connections)
    : threads_(loop_, with_few_arenas(threads)), flow_(config, keys, loop_, *this, connections) {}

AsyncLogins::~AsyncLogins() {
    if (flow_.in_flight() > 0)
        i_warning("imapmigration: shutting down with %zu first login(s) in flight",
                  flow_.in_flight());
    // Nothing may call back into the flow while it answers the logins left.
    threads_.stop();
    curl_.abandon_all();
    checks_.clear();
    flow_.shutdown("auth process shutting down during the provider check");
}

void AsyncLogins::verify(struct auth_request *request, const char *password,
                         verify_plain_callback_t *callback) {
    imapmig::LoginRequest login{request->fields.user, imapmig::SecretString(password), {}};
    if (request->fields.remote_ip.family != 0)
        login.remote_ip = net_ip2addr(&request->fields.remote_ip);
    auth_request_ref(request);
    flow_.start(std::move(login), [request, callback](imapmig::LoginDecision decision) {
        struct auth_request *r = request;
        callback(apply_decision(r, decision), r);
        auth_request_unref(&r);
    });
}

void AsyncLogins::check(const imapmig::ProviderConfig &provider, const std::string &login,
                        const imapmig::SecretString &password,
                        std::function<void(imapmig::CheckResult)> done) {
    auto c = std::make_unique<Check>();
    c->owner = this;
    c->handle = imapmig::LoginCheckHandle::create(provider, login, password);
    if (!c->handle || !curl_.add(c->handle->easy(), c.get(), on_check_done)) {
        done({imapmig::CheckOutcome::temporary, "cannot start the check (libcurl)"});
        return;
    }
    c->done = std::move(done);
    Check *raw = c.get();
    checks_.emplace(raw, std::move(c));
}

void AsyncLogins::on_check_done(void *context, int curl_code) {
    auto *c = static_cast<Check *>(context);
    imapmig::CheckResult result{imapmig::CheckOutcome::temporary, ""};
    try {
        result = c->handle->finish(curl_code, 0);
    } catch (const std::exception &e) {
        result = {imapmig::CheckOutcome::temporary, e.what()};
    }
    auto done = std::move(c->done);
    c->owner->checks_.erase(c);
    done(result);
}

void AsyncLogins::offload(std::function<void()> work, std::function<void()> done) {
    threads_.submit(std::move(work), std::move(done));
}
