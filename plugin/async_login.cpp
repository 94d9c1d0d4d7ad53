#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "async_login.hpp"

#include "login_result.hpp"


#include <exception>
#include <malloc.h>

struct AsyncLogins::Request {
    AsyncLogins *owner;
    struct auth_request *request;
    verify_plain_callback_t *callback;
    imapmig::LoginJob job;
    std::unique_ptr<imapmig::LoginCheckHandle> check;
};

namespace {

// Before the threads exist: glibc would give each thread its own malloc arena, reserving
// 64 MB of address space apiece against the auth process's vsz_limit.
const imapmig::Config &with_few_arenas(const imapmig::Config &config) {
    mallopt(M_ARENA_MAX, 2);
    return config;
}

} // namespace

AsyncLogins::AsyncLogins(const imapmig::Config &config, const imapmig::KeyRing &keys, int threads)
    : config_(config), pool_(with_few_arenas(config), keys, threads) {
    pool_io_ = io_add(pool_.notify_fd(), IO_READ, on_pool_ready, this);
}

AsyncLogins::~AsyncLogins() {
    if (!in_flight_.empty())
        i_warning("imapmigration: shutting down with %zu first login(s) in flight",
                  in_flight_.size());
    // Threads first: after this nobody else touches the jobs or the pool's sessions.
    pool_.stop();
    (void)pool_.take_finished();
    curl_.abandon_all();
    io_remove(&pool_io_);
    while (!in_flight_.empty()) {
        Request *r = in_flight_.begin()->first;
        r->job.pending.reset(); // frees its provider slot
        e_error(authdb_event(r->request), "auth process shutting down during the provider check");
        finish(r, PASSDB_RESULT_INTERNAL_FAILURE);
    }
}

void AsyncLogins::verify(struct auth_request *request, const char *password,
                         verify_plain_callback_t *callback) {
    auto r = std::make_unique<Request>();
    r->owner = this;
    r->request = request;
    r->callback = callback;
    r->job.user = request->fields.user;
    r->job.password = imapmig::SecretString(password);
    if (request->fields.remote_ip.family != 0)
        r->job.remote_ip = net_ip2addr(&request->fields.remote_ip);
    r->job.owner = r.get();
    auth_request_ref(request);
    Request *raw = r.get();
    in_flight_[raw] = std::move(r);
    pool_.submit(&raw->job);
}

void AsyncLogins::on_pool_ready(AsyncLogins *self) {
    for (imapmig::LoginJob *job : self->pool_.take_finished()) {
        auto *r = static_cast<Request *>(job->owner);
        try {
            self->advance(r);
        } catch (const std::exception &e) {
            e_error(authdb_event(r->request), "internal error: %s", e.what());
            self->finish(r, PASSDB_RESULT_INTERNAL_FAILURE);
        }
    }
}

// A step on the pool ended: answer, or ask the provider and go back to the pool.
void AsyncLogins::advance(Request *r) {
    imapmig::LoginJob &job = r->job;
    if (job.decision) {
        finish(r, apply_decision(r->request, *job.decision));
        return;
    }
    if (!job.pending) { // the pool stopped before this step ran
        finish(r, PASSDB_RESULT_INTERNAL_FAILURE);
        return;
    }
    const imapmig::LoginTarget &t = job.pending->target;
    r->check = imapmig::LoginCheckHandle::create(t.provider, t.old_address.str(), job.password);
    if (!r->check || !curl_.add(r->check->easy(), r, on_check_done)) {
        r->check.reset();
        job.check = imapmig::CheckResult{imapmig::CheckOutcome::temporary,
                                         "cannot start the check (libcurl)"};
        pool_.submit(&job);
    }
}

void AsyncLogins::on_check_done(void *context, int curl_code) {
    auto *r = static_cast<Request *>(context);
    try {
        r->job.check = r->check->finish(curl_code, 0);
    } catch (const std::exception &e) {
        r->job.check = imapmig::CheckResult{imapmig::CheckOutcome::temporary, e.what()};
    }
    r->check.reset();
    r->owner->pool_.submit(&r->job);
}

void AsyncLogins::finish(Request *r, enum passdb_result result) {
    auto owned = std::move(in_flight_[r]);
    in_flight_.erase(r);
    struct auth_request *request = r->request;
    r->callback(result, request);
    auth_request_unref(&request);
}
