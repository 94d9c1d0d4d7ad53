// The login path for callers that wait for the answer (Dovecot's auth-worker processes with
// blocking=yes): the LoginFlow on a private poll loop, the provider asked with a blocking
// CredentialChecker, the password hashed in line.
#pragma once

#include "config/config.hpp"
#include "login/imap_check.hpp"
#include "login/login_decision.hpp"
#include "login/login_flow.hpp"
#include "loop/poll_loop.hpp"
#include "base/secret_string.hpp"
#include "crypto/secrets.hpp"

#include <memory>
#include <string_view>

namespace imapmig {

struct LoginAttempt {
    std::string_view user;
    const SecretString &password;
    std::string_view remote_ip; // empty when unknown
};

class LoginMigrator {
public:
    LoginMigrator(const Config &config, KeyRing keys, std::unique_ptr<CredentialChecker> checker);
    ~LoginMigrator();

    // Never throws; every failure is a decision.
    LoginDecision verify(const LoginAttempt &attempt);

private:
    class InlineHost;
    const KeyRing keys_;
    PollLoop loop_;
    std::unique_ptr<InlineHost> host_;
    LoginFlow flow_; // last: it uses the others
};

} // namespace imapmig
