#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "login_result.hpp"

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
        const char *service = request->fields.service != nullptr ? request->fields.service : "";
        for (const auto &[name, value] : imapmig::proxy_fields(*decision.proxy, service))
            auth_request_set_field(request, name.c_str(), value.c_str(), nullptr);
    }
    return to_passdb_result(decision.outcome);
}
