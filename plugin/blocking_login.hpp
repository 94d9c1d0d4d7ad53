// blocking=yes: the login path answered in line, inside an auth-worker process.
// Include after Dovecot's headers.
#pragma once

#include "login_mode.hpp"

#include "login/login_migration.hpp"

class BlockingLogins final : public LoginMode {
public:
    BlockingLogins(const imapmig::Config &config, const imapmig::KeyRing &keys);
    void verify(imapmig::LoginRequest request, std::shared_ptr<LoginAnswer> answer) override;

private:
    imapmig::LoginMigrator migrator_;
};
