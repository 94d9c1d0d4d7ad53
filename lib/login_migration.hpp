// The login path: a user unknown here logs in with the old provider's credentials; if the
// provider accepts them, the domain, the account and the migration task are created in one
// transaction. Free of Dovecot: the plugin maps LoginDecision onto passdb results and logs.
#pragma once

#include "config.hpp"
#include "imap_check.hpp"
#include "secret_string.hpp"
#include "secrets.hpp"
#include "store.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace imapmig {

// One-to-one with Dovecot's passdb results.
enum class LoginOutcome { ok, password_mismatch, user_unknown, user_disabled, temporary_failure };

enum class LogLevel { debug, info, error };

struct LoginDecision {
    LoginOutcome outcome;
    LogLevel level = LogLevel::debug;
    std::string message;  // what happened, for the request's log line; never a password
    std::string new_user; // set when the login must continue under another name (rename)
};

struct LoginAttempt {
    std::string_view user;
    const SecretString &password;
    std::string_view remote_ip; // empty when unknown
};

class LoginMigrator {
public:
    LoginMigrator(const Config &config, KeyRing keys, std::unique_ptr<CredentialChecker> checker);

    // Never throws; every failure is a decision.
    LoginDecision verify(const LoginAttempt &attempt);

private:
    struct Target;
    LoginDecision verify_declared(const Target &target, const LoginAttempt &attempt);
    LoginDecision check_with_provider(const Target &target, const LoginAttempt &attempt);
    LoginDecision create_local_account(const Target &target, const SecretString &password);
    LoginDecision existing_account(const Target &target, const Rows &row,
                                   const SecretString &password);
    LoginDecision concurrent_first_login(const Target &target, const std::string &old_login);
    Result<Connection *> connection();
    LoginDecision database_failure(const Error &error);

    const Config &config_;
    KeyRing keys_;
    std::unique_ptr<CredentialChecker> checker_;
    std::optional<Connection> conn_; // per process: auth workers handle one request at a time
};

// The associated data that binds a sealed old password to its migration row.
std::string migration_secret_context(std::string_view provider, std::string_view old_login);

} // namespace imapmig
