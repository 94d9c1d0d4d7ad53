// "Can this user log into that IMAP server?" One LOGIN over libcurl, then LOGOUT.
#pragma once

#include "config.hpp"
#include "secret_string.hpp"

#include <string>
#include <string_view>

namespace imapmig {

enum class CheckOutcome {
    accepted,  // the provider logged the user in
    rejected,  // the provider explicitly refused the credentials
    temporary, // anything else: unreachable, timeout, TLS, [UNAVAILABLE], no STARTTLS ...
};

struct CheckResult {
    CheckOutcome outcome;
    std::string detail; // for logs: never contains the password
};

// The seam the login path is tested through.
class CredentialChecker {
public:
    virtual ~CredentialChecker() = default;
    virtual CheckResult check(const ProviderConfig &provider, std::string_view login,
                              const SecretString &password) = 0;
};

class CurlCredentialChecker final : public CredentialChecker {
public:
    CheckResult check(const ProviderConfig &provider, std::string_view login,
                      const SecretString &password) override;
};

// Maps a finished libcurl login onto an outcome. last_tagged_reply is the server's last
// tagged response line (e.g. "A002 NO [UNAVAILABLE] try later"), empty if none was seen.
CheckResult classify_login(int curl_code, std::string_view last_tagged_reply,
                           std::string_view curl_error);

} // namespace imapmig
