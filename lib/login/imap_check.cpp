#include "login/imap_check.hpp"

#include <curl/curl.h>
#include <poll.h>

#include <array>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>

namespace imapmig {

namespace {

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Response codes that mean "not now" rather than "wrong password" (RFC 5530).
bool is_temporary_code(std::string_view reply) {
    for (std::string_view code : {"[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]"})
        if (reply.find(code) != std::string_view::npos)
            return true;
    return false;
}

bool is_tagged_line(std::string_view line) {
    // curl tags its commands [A-Z][0-9]{3}; untagged lines start with '*', continuations '+'.
    return line.size() > 5 && line[0] >= 'A' && line[0] <= 'Z' && line[4] == ' ' &&
           std::isdigit(static_cast<unsigned char>(line[1])) &&
           std::isdigit(static_cast<unsigned char>(line[2])) &&
           std::isdigit(static_cast<unsigned char>(line[3]));
}

// Only server lines are kept: what we send includes the credentials.
int on_debug(CURL *, curl_infotype type, char *data, size_t size, void *userp) {
    if (type != CURLINFO_HEADER_IN)
        return 0;
    std::string_view line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
    if (is_tagged_line(line))
        *static_cast<std::string *>(userp) = std::string(line.substr(0, 200));
    return 0;
}

void apply_tls_options(CURL *c, const ProviderConfig &p) {
    if (p.security == TlsMode::starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    else if (p.security == TlsMode::none)
        curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, p.verify_certificate ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, p.verify_certificate ? 2L : 0L);
    if (!p.ca_file.empty())
        curl_easy_setopt(c, CURLOPT_CAINFO, p.ca_file.c_str());
}

// Ends the authenticated session politely so the provider does not keep it open until its
// idle timeout. Best effort: the connection is closed by curl_easy_cleanup either way.
void send_logout(CURL *c, int timeout_seconds) {
    static constexpr std::string_view cmd = "Z999 LOGOUT\r\n";
    size_t sent = 0;
    if (curl_easy_send(c, cmd.data(), cmd.size(), &sent) != CURLE_OK || sent != cmd.size() ||
        timeout_seconds <= 0)
        return;
    curl_socket_t sock = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD)
        return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    std::string seen;
    std::array<char, 512> buf{};
    while (std::chrono::steady_clock::now() < deadline && seen.find("Z999 ") == std::string::npos) {
        size_t got = 0;
        CURLcode rc = curl_easy_recv(c, buf.data(), buf.size(), &got);
        if (rc == CURLE_AGAIN) {
            pollfd pfd{sock, POLLIN, 0};
            poll(&pfd, 1, 200);
            continue;
        }
        if (rc != CURLE_OK || got == 0)
            return;
        seen.append(buf.data(), got);
        if (seen.size() > 8192)
            seen.erase(0, seen.size() - 16);
    }
}

} // namespace

CheckResult classify_login(int curl_code, std::string_view last_tagged_reply,
                           std::string_view curl_error) {
    auto with_reply = [&](std::string text) {
        if (!last_tagged_reply.empty())
            text += ": server said \"" + std::string(last_tagged_reply) + "\"";
        return text;
    };
    switch (curl_code) {
    case CURLE_OK:
        return {CheckOutcome::accepted, "login accepted"};
    case CURLE_LOGIN_DENIED:
        if (is_temporary_code(last_tagged_reply))
            return {CheckOutcome::temporary, with_reply("login temporarily refused")};
        return {CheckOutcome::rejected, with_reply("credentials rejected")};
    case CURLE_USE_SSL_FAILED:
        return {CheckOutcome::temporary, "server does not offer STARTTLS (security: starttls)"};
    case CURLE_OPERATION_TIMEDOUT:
        return {CheckOutcome::temporary, "timed out"};
    default: {
        std::string detail = curl_easy_strerror(static_cast<CURLcode>(curl_code));
        if (!curl_error.empty())
            detail += " (" + std::string(curl_error) + ")";
        return {CheckOutcome::temporary, with_reply(detail)};
    }
    }
}

std::unique_ptr<LoginCheckHandle> LoginCheckHandle::create(const ProviderConfig &p,
                                                           std::string_view login,
                                                           const SecretString &password) {
    static_assert(CURL_ERROR_SIZE <= 256);
    global_init_once();
    auto h = std::make_unique<LoginCheckHandle>();
    h->curl_ = curl_easy_init();
    if (h->curl_ == nullptr)
        return nullptr;
    CURL *c = h->curl_;
    h->url_ = std::string(p.security == TlsMode::tls ? "imaps://" : "imap://") + p.host + ":" +
              std::to_string(p.port) + "/";
    h->user_ = std::string(login);
    // curl copies these strings; our copy is wiped right away, curl's is freed on cleanup.
    // There is no API to hand curl a buffer it would wipe.
    std::string pass(password.reveal());
    curl_easy_setopt(c, CURLOPT_URL, h->url_.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(c, CURLOPT_USERNAME, h->user_.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, pass.c_str());
    sodium_memzero(pass.data(), pass.size());
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    // With CONNECT_ONLY the greeting, STARTTLS and LOGIN all belong to the connect phase.
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(p.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(p.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf_.data());
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); // feeds on_debug; curl prints nothing itself
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &h->last_reply_);
    apply_tls_options(c, p);
    return h;
}

LoginCheckHandle::~LoginCheckHandle() {
    if (curl_ != nullptr)
        curl_easy_cleanup(curl_);
}

CheckResult LoginCheckHandle::finish(int curl_code, int wait_for_logout_seconds) {
    CheckResult result = classify_login(curl_code, last_reply_, errbuf_.data());
    if (curl_code == CURLE_OK)
        send_logout(curl_, wait_for_logout_seconds);
    return result;
}

CheckResult CurlCredentialChecker::check(const ProviderConfig &p, std::string_view login,
                                         const SecretString &password) {
    auto h = LoginCheckHandle::create(p, login, password);
    if (!h)
        return {CheckOutcome::temporary, "curl_easy_init failed"};
    return h->finish(curl_easy_perform(h->easy()), p.timeout_seconds);
}

} // namespace imapmig
