// The one translation between a Dovecot auth request and the login path: the LoginRequest
// built from it, and the decision applied back (log line, rename, passdb result) exactly once.
// Include only after Dovecot's headers.
#pragma once

#include "login/login_decision.hpp"
#include "login/login_flow.hpp"

enum passdb_result apply_decision(struct auth_request *request,
                                  const imapmig::LoginDecision &decision);

// The only place a LoginRequest is built from Dovecot's request.
imapmig::LoginRequest login_request(struct auth_request *request, const char *password);

// Holds a request (auth_request_ref) until it is answered, exactly once. Destroyed unanswered
// (a login dropped by an exception or a shutdown), it answers with an internal failure; then
// it releases the reference.
class LoginAnswer {
public:
    LoginAnswer(struct auth_request *request, verify_plain_callback_t *callback);
    ~LoginAnswer();
    LoginAnswer(const LoginAnswer &) = delete;
    LoginAnswer &operator=(const LoginAnswer &) = delete;

    // Later calls do nothing.
    void answer(const imapmig::LoginDecision &decision) noexcept;
    struct auth_request *request() const {
        return request_;
    }

private:
    void reply(enum passdb_result result) noexcept;
    struct auth_request *request_;
    verify_plain_callback_t *callback_;
    bool answered_ = false;
};
