#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "blocking_login.hpp"

#include "login/imap_check.hpp"

BlockingLogins::BlockingLogins(const imapmig::Config &config, const imapmig::KeyRing &keys)
    : migrator_(config, keys, std::make_unique<imapmig::CurlCredentialChecker>()) {}

void BlockingLogins::verify(imapmig::LoginRequest request, std::shared_ptr<LoginAnswer> answer) {
    answer->answer(migrator_.verify(std::move(request)));
}
