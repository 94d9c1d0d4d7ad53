// The login path: a user unknown here logs in with the old provider's credentials; if the
// provider accepts them, the domain, the account and the migration task are created in one
// transaction. Free of Dovecot: the plugin maps LoginDecision onto passdb results and logs.
#pragma once

#include "address.hpp"
#include "config.hpp"
#include "imap_check.hpp"
#include "provider_guard.hpp"
#include "secret_string.hpp"
#include "secrets.hpp"
#include "store.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

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

// Where a login of a declared domain goes: the old address, the local one, and its provider.
struct LoginTarget {
    MailAddress old_address;
    std::string local_address;
    const ProviderConfig &provider;
    const DomainMapping &domain;
};

// A first login waiting for the provider's answer. It holds one of the provider's connection
// slots on the database session of the LoginMigrator that prepared it: complete it there.
struct PendingCheck {
    LoginTarget target;
    std::string login;     // the name the client used (for the rename)
    std::string remote_ip; // empty when unknown
    std::optional<ProviderSlot> slot;
};

class LoginMigrator {
public:
    LoginMigrator(const Config &config, KeyRing keys, std::unique_ptr<CredentialChecker> checker);

    // Never throws; every failure is a decision. Blocking: prepare, check, complete.
    LoginDecision verify(const LoginAttempt &attempt);

    // The same in steps, for callers that ask the provider asynchronously (checker unused):
    // either a decision right away, or a check to run and hand to complete().
    std::variant<LoginDecision, PendingCheck> prepare(const LoginAttempt &attempt);
    LoginDecision complete(PendingCheck pending, const CheckResult &check,
                           const SecretString &password);

private:
    using Target = LoginTarget;
    std::variant<LoginDecision, PendingCheck> prepare_declared(Target target,
                                                              const LoginAttempt &attempt);
    LoginDecision complete_check(const Target &target, const std::string &remote_ip,
                                 const CheckResult &check, const SecretString &password);
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
