// The login path for callers that wait for the answer (Dovecot's auth-worker processes with
// blocking=yes): the LoginFlow on a private poll loop, the provider asked with a blocking
// CredentialChecker, the password hashed in line.
#pragma once

#include "base/secret_string.hpp"
#include "config/config.hpp"
#include "crypto/secrets.hpp"
#include "login/imap_check.hpp"
#include "login/login_decision.hpp"
#include "login/login_flow.hpp"
#include "login/pg_login_store.hpp"
#include "loop/poll_loop.hpp"

#include <memory>

namespace imapmig {

class LoginMigrator {
public:
    LoginMigrator(const Config &config, KeyRing keys, std::unique_ptr<CredentialChecker> checker);
    ~LoginMigrator();

    // Never throws; every failure is a decision.
    LoginDecision verify(LoginRequest request);

private:
    class InlineHost;
    const KeyRing keys_;
    PollLoop loop_;
    std::unique_ptr<InlineHost> host_;
    PgLoginStore store_;
    LoginFlow flow_; // last: it uses the others
};

} // namespace imapmig
