// How this process answers first logins: in auth-worker processes, waiting (blocking=yes,
// blocking_login.hpp), or in the auth process on its ioloop (async_login.hpp). The passdb args
// select one; only that one is built. Include after Dovecot's headers.
#pragma once

#include "login_result.hpp"

#include <memory>

class LoginMode {
public:
    virtual ~LoginMode() = default;
    // Answers through answer, before returning or later; never throws out of a login's
    // continuation (an exception here is answered by the caller).
    virtual void verify(imapmig::LoginRequest request, std::shared_ptr<LoginAnswer> answer) = 0;
};
