// "Can this user log into that IMAP server?" One LOGIN over libcurl, then LOGOUT.
#pragma once

#include "config/config.hpp"
#include "base/secret_string.hpp"

#include <array>
#include <memory>
#include <string>
#include <string_view>

typedef void CURL;

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

// One check as a libcurl easy handle that stops after LOGIN (CONNECT_ONLY), for callers that
// drive it themselves: curl_easy_perform (CurlCredentialChecker) or a curl multi handle.
class LoginCheckHandle {
public:
    // nullptr when libcurl cannot make a handle.
    static std::unique_ptr<LoginCheckHandle> create(const ProviderConfig &provider,
                                                    std::string_view login,
                                                    const SecretString &password);
    ~LoginCheckHandle();
    LoginCheckHandle(const LoginCheckHandle &) = delete;
    LoginCheckHandle &operator=(const LoginCheckHandle &) = delete;

    CURL *easy() const { return curl_; }
    // The outcome once the transfer ended with curl_code. After a successful login, LOGOUT is
    // sent; wait_for_logout_seconds > 0 also reads its reply (blocking callers only).
    CheckResult finish(int curl_code, int wait_for_logout_seconds);

    LoginCheckHandle() = default; // empty; create() fills it

private:
    CURL *curl_ = nullptr;
    std::string url_, user_;
    std::string last_reply_;
    std::array<char, 256> errbuf_{}; // CURL_ERROR_SIZE
};

// Maps a finished libcurl login onto an outcome. last_tagged_reply is the server's last
// tagged response line (e.g. "A002 NO [UNAVAILABLE] try later"), empty if none was seen.
CheckResult classify_login(int curl_code, std::string_view last_tagged_reply,
                           std::string_view curl_error);

} // namespace imapmig
