// "Can this user log into that IMAP server?" One LOGIN over libcurl, then LOGOUT.
#pragma once

#include "base/secret_string.hpp"
#include "config/config.hpp"

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

// What the server said during a login, as libcurl's debug callback showed it. Only server
// lines and the tag and verb of our commands are kept: our commands carry the credentials.
struct LoginTranscript {
    bool greeted = false;
    bool preauth = false;     // the greeting was `* PREAUTH`: logged in without a password
    std::string auth_tag;     // tag of the LOGIN/AUTHENTICATE sent, "" if none was sent
    std::string auth_reply;   // the server's tagged reply to it, "" if none came
    std::string last_tagged;  // the last tagged reply to anything
    std::string capabilities; // the last `* CAPABILITY` list (after STARTTLS if any)
    // Feed one line of the conversation (no CRLF).
    void server_line(std::string_view line);
    void client_line(std::string_view line);
};

// One check as a libcurl easy handle that stops after LOGIN (CONNECT_ONLY), for callers that
// drive it themselves: curl_easy_perform (CurlCredentialChecker) or a curl multi handle.
class LoginCheckHandle {
public:
    // nullptr when libcurl cannot make a handle. With own_login_allowed, a login curl would
    // send wrongly (needs_own_login: 8-bit bytes) is left out of curl's connect phase, for
    // finish_own_login to send after it (a blocking exchange: blocking callers only).
    static std::unique_ptr<LoginCheckHandle> create(const ProviderConfig &provider,
                                                    std::string_view login,
                                                    const SecretString &password,
                                                    bool own_login_allowed = false);
    ~LoginCheckHandle() = default;
    LoginCheckHandle(const LoginCheckHandle &) = delete;
    LoginCheckHandle &operator=(const LoginCheckHandle &) = delete;

    CURL *easy() const { return curl_.get(); }
    // The outcome once the transfer ended with curl_code. After a successful login, LOGOUT is
    // sent; wait_for_logout_seconds > 0 also reads its reply (blocking callers only).
    CheckResult finish(int curl_code, int wait_for_logout_seconds);
    // True when create() left the login to finish_own_login.
    bool uses_own_login() const { return own_login_; }
    CheckResult finish_own_login(int curl_code, std::string_view login,
                                 const SecretString &password, int timeout_seconds);

    LoginCheckHandle() = default; // empty; create() fills it

private:
    struct CurlCleanup {
        void operator()(CURL *c) const; // curl_easy_cleanup
    };
    std::string url_, user_;
    LoginTranscript transcript_;
    bool own_login_ = false;
    std::array<char, 256> errbuf_{}; // CURL_ERROR_SIZE
    // Last, so destroyed first: curl_easy_cleanup may still write the transcript (debug
    // callback) and the error buffer.
    std::unique_ptr<CURL, CurlCleanup> curl_;
};

// Maps a finished libcurl login onto an outcome. Success is a tagged OK to the LOGIN or
// AUTHENTICATE actually sent: a PREAUTH greeting (no password asked) is a temporary failure, as
// is a BAD reply (a protocol problem, not a verdict on the password).
CheckResult classify_login(int curl_code, const LoginTranscript &transcript,
                           std::string_view curl_error);

} // namespace imapmig
