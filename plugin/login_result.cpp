#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "login_result.hpp"
#include "request_fields.hpp" // the version's: plugin/v23/ or plugin/v24/

#include "loop/guarded.hpp"

namespace {

enum passdb_result to_passdb_result(imapmig::LoginOutcome outcome) {
    using imapmig::LoginOutcome;
    switch (outcome) {
    case LoginOutcome::ok:
        return PASSDB_RESULT_OK;
    case LoginOutcome::password_mismatch:
        return PASSDB_RESULT_PASSWORD_MISMATCH;
    case LoginOutcome::user_unknown:
        return PASSDB_RESULT_USER_UNKNOWN;
    case LoginOutcome::user_disabled:
        return PASSDB_RESULT_USER_DISABLED;
    case LoginOutcome::temporary_failure:
        break;
    }
    return PASSDB_RESULT_INTERNAL_FAILURE;
}

void log_decision(struct auth_request *request, const imapmig::LoginDecision &d) {
    struct event *event = authdb_event(request);
    switch (d.level) {
    case imapmig::LogLevel::debug:
        e_debug(event, "%s", d.message.c_str());
        break;
    case imapmig::LogLevel::info:
        e_info(event, "%s", d.message.c_str());
        break;
    case imapmig::LogLevel::error:
        e_error(event, "%s", d.message.c_str());
        break;
    }
}

} // namespace

enum passdb_result apply_decision(struct auth_request *request,
                                  const imapmig::LoginDecision &decision) {
    log_decision(request, decision);
    if (!decision.new_user.empty())
        auth_request_set_field(request, "user", decision.new_user.c_str(), nullptr);
    if (decision.outcome == imapmig::LoginOutcome::ok && decision.proxy) {
        const char *protocol = request_protocol(request);
        const char *service = protocol != nullptr ? protocol : "";
        for (const auto &[name, value] : imapmig::proxy_fields(*decision.proxy, service))
            auth_request_set_field(request, name.c_str(), value.c_str(), nullptr);
    }
    return to_passdb_result(decision.outcome);
}

imapmig::LoginRequest login_request(struct auth_request *request, const char *password) {
    imapmig::LoginRequest login{request->fields.user, imapmig::SecretString(password), {}};
    if (request->fields.remote_ip.family != 0)
        login.remote_ip = net_ip2addr(&request->fields.remote_ip);
    return login;
}

LoginAnswer::LoginAnswer(struct auth_request *request, verify_plain_callback_t *callback)
    : request_(request), callback_(callback) {
    auth_request_ref(request_);
}

LoginAnswer::~LoginAnswer() {
    if (!answered_)
        e_error(authdb_event(request_), "internal error: the login was dropped unanswered");
    reply(PASSDB_RESULT_INTERNAL_FAILURE);
    auth_request_unref(&request_);
}

void LoginAnswer::answer(const imapmig::LoginDecision &decision) noexcept {
    if (answered_)
        return;
    enum passdb_result result = PASSDB_RESULT_INTERNAL_FAILURE;
    imapmig::run_guarded([&] { result = apply_decision(request_, decision); },
                         [this](const std::string &what) {
                             e_error(authdb_event(request_), "internal error: %s", what.c_str());
                         });
    reply(result);
}

void LoginAnswer::reply(enum passdb_result result) noexcept {
    if (answered_)
        return;
    answered_ = true;
    callback_(result, request_);
}
