#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "async_login.hpp"

#include "login_result.hpp"

#include "login/imap_check.hpp"
#include "login/imap_own_login.hpp"
#include "loop/guarded.hpp"

#include <malloc.h>

namespace {

// Before the threads exist: glibc would give each thread its own malloc arena, reserving
// 64 MB of address space apiece against the auth process's vsz_limit.
int with_few_arenas(int threads) {
    mallopt(M_ARENA_MAX, 2);
    return threads;
}

} // namespace

AsyncLogins::AsyncLogins(const imapmig::Config &config, const imapmig::KeyRing &keys, int threads,
                         int connections)
    : loop_([this](const std::string &what) { fail_all(what); }),
      curl_([this](const std::string &what) { fail_all(what); }),
      threads_(loop_, with_few_arenas(threads)), store_(loop_, config.database, connections),
      flow_(config, keys, loop_, *this, store_) {}

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

void AsyncLogins::verify(imapmig::LoginRequest request, std::shared_ptr<LoginAnswer> answer) {
    flow_.start(std::move(request),
                [answer](imapmig::LoginDecision decision) { answer->answer(decision); });
}

void AsyncLogins::fail_all(const std::string &what) noexcept {
    imapmig::run_guarded(
        [&] {
            i_error("imapmigration: internal error: %s; answering the %zu first login(s) in "
                    "flight",
                    what.c_str(), flow_.in_flight());
            curl_.abandon_all();
            checks_.clear();
            flow_.shutdown("internal error: " + what);
        },
        [](const std::string &) {});
}

void AsyncLogins::check(const imapmig::ProviderConfig &provider, const std::string &login,
                        const imapmig::SecretString &password,
                        std::function<void(imapmig::CheckResult)> done) {
    // curl's multi interface would send an 8-bit password as a bare LOGIN atom; our own login
    // (AUTHENTICATE PLAIN or a LOGIN literal) is blocking, so such rare checks take one of the
    // work threads for up to the provider's timeout instead of the ioloop.
    if (imapmig::needs_own_login(login, password)) {
        auto result = std::make_shared<imapmig::CheckResult>(
            imapmig::CheckResult{imapmig::CheckOutcome::temporary, "the check did not run"});
        offload(
            [result, &provider, login, password] {
                *result = imapmig::CurlCredentialChecker().check(provider, login, password);
            },
            [result, done = std::move(done)] { done(*result); });
        return;
    }
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
    auto done = std::move(c->done);
    imapmig::CheckResult result{imapmig::CheckOutcome::temporary, ""};
    imapmig::run_guarded([&] { result = c->handle->finish(curl_code, 0); },
                         [&](const std::string &what) { result.detail = what; });
    c->owner->checks_.erase(c);
    done(result); // a LoginFlow continuation: guarded by the flow
}

void AsyncLogins::offload(std::function<void()> work, std::function<void()> done) {
    threads_.submit(std::move(work), std::move(done));
}
