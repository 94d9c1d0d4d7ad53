// What the login path decided about one login, free of Dovecot: the plugin maps the outcome
// onto a passdb result and the message onto the request's log.
#pragma once

#include "login/proxy_target.hpp"

#include <optional>
#include <string>

namespace imapmig {

// One-to-one with Dovecot's passdb results.
enum class LoginOutcome { ok, password_mismatch, user_unknown, user_disabled, temporary_failure };

enum class LogLevel { debug, info, error };

struct LoginDecision {
    LoginOutcome outcome;
    LogLevel level = LogLevel::debug;
    std::string message;  // what happened, for the request's log line; never a password
    std::string new_user; // set when the login must continue under another name (rename)
    // Set when the session must run at the old provider (cutover: proxy, first sync pending).
    std::optional<ProxyTarget> proxy;
};

} // namespace imapmig
