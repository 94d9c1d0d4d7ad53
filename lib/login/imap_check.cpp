#include "login/imap_check.hpp"

#include "login/imap_own_login.hpp"

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

bool starts_with_word(std::string_view text, std::string_view word) {
    if (text.size() < word.size() || (text.size() > word.size() && text[word.size()] != ' '))
        return false;
    for (size_t i = 0; i < word.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(text[i])) != word[i])
            return false;
    return true;
}

// The status word of a tagged reply: "A002 OK ..." -> OK.
bool reply_status_is(std::string_view tagged, std::string_view status) {
    return tagged.size() > 5 && starts_with_word(tagged.substr(5), status);
}

std::string_view without_eol(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
    return line;
}

// curl hands over one protocol line per call (pingpong); what we send holds the credentials and
// is never copied beyond its tag and verb.
int on_debug(CURL *, curl_infotype type, char *data, size_t size, void *userp) {
    auto *t = static_cast<LoginTranscript *>(userp);
    if (type == CURLINFO_HEADER_IN)
        t->server_line(without_eol(std::string_view(data, size)));
    else if (type == CURLINFO_HEADER_OUT)
        t->client_line(std::string_view(data, size));
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

void LoginTranscript::server_line(std::string_view line) {
    if (!greeted) {
        greeted = true;
        preauth = starts_with_word(line, "* PREAUTH");
    }
    if (starts_with_word(line, "* CAPABILITY"))
        capabilities = std::string(line.substr(13, 1000));
    if (!is_tagged_line(line))
        return;
    last_tagged = std::string(line.substr(0, 200));
    if (!auth_tag.empty() && line.substr(0, 4) == auth_tag)
        auth_reply = last_tagged;
}

void LoginTranscript::client_line(std::string_view line) {
    if (is_tagged_line(line) && (starts_with_word(line.substr(5), "LOGIN") ||
                                 starts_with_word(line.substr(5), "AUTHENTICATE")))
        auth_tag = std::string(line.substr(0, 4));
}

CheckResult classify_login(int curl_code, const LoginTranscript &t, std::string_view curl_error) {
    const std::string &reply = t.auth_reply.empty() ? t.last_tagged : t.auth_reply;
    auto with_reply = [&](std::string text) {
        if (!reply.empty())
            text += ": server said \"" + reply + "\"";
        return text;
    };
    if (t.preauth)
        // Nothing proves the user knows the password: the connection was logged in already.
        return {CheckOutcome::temporary,
                "the provider greeted with PREAUTH (logged in without a password); not accepted "
                "as a login"};
    switch (curl_code) {
    case CURLE_OK:
        if (!t.auth_tag.empty() && reply_status_is(t.auth_reply, "OK"))
            return {CheckOutcome::accepted, "login accepted"};
        return {CheckOutcome::temporary, with_reply("no tagged OK to our LOGIN/AUTHENTICATE")};
    case CURLE_LOGIN_DENIED:
        if (t.auth_tag.empty())
            return {CheckOutcome::temporary,
                    with_reply("no login method usable (LOGINDISABLED or no known mechanism)")};
        if (t.auth_reply.empty() || reply_status_is(t.auth_reply, "BAD"))
            return {CheckOutcome::temporary, with_reply("login not understood")};
        if (is_temporary_code(t.auth_reply))
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
                                                           const SecretString &password,
                                                           bool own_login_allowed) {
    static_assert(CURL_ERROR_SIZE <= 256);
    global_init_once();
    auto h = std::make_unique<LoginCheckHandle>();
    h->curl_.reset(curl_easy_init());
    if (!h->curl_)
        return nullptr;
    CURL *c = h->curl_.get();
    h->url_ = std::string(p.security == TlsMode::tls ? "imaps://" : "imap://") + p.host + ":" +
              std::to_string(p.port) + "/";
    h->user_ = std::string(login);
    // curl copies these strings; our copy is wiped right away, curl's is freed on cleanup.
    // There is no API to hand curl a buffer it would wipe.
    curl_easy_setopt(c, CURLOPT_URL, h->url_.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    // Without a user name curl's connect phase ends after CAPABILITY (and STARTTLS).
    h->own_login_ = own_login_allowed && needs_own_login(login, password);
    if (!h->own_login_) {
        std::string pass(password.reveal());
        curl_easy_setopt(c, CURLOPT_USERNAME, h->user_.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass.c_str());
        sodium_memzero(pass.data(), pass.size());
    }
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    // With CONNECT_ONLY the greeting, STARTTLS and LOGIN all belong to the connect phase.
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(p.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(p.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf_.data());
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); // feeds on_debug; curl prints nothing itself
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &h->transcript_);
    apply_tls_options(c, p);
    return h;
}

void LoginCheckHandle::CurlCleanup::operator()(CURL *c) const {
    curl_easy_cleanup(c);
}

CheckResult LoginCheckHandle::finish(int curl_code, int wait_for_logout_seconds) {
    CheckResult result = classify_login(curl_code, transcript_, errbuf_.data());
    if (result.outcome == CheckOutcome::accepted)
        send_logout(curl_.get(), wait_for_logout_seconds);
    return result;
}

CheckResult LoginCheckHandle::finish_own_login(int curl_code, std::string_view login,
                                               const SecretString &password, int timeout_seconds) {
    if (curl_code != CURLE_OK || transcript_.preauth)
        return finish(curl_code, 0);
    curl_socket_t sock = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(curl_.get(), CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
        sock == CURL_SOCKET_BAD)
        return {CheckOutcome::temporary, "no connection after the greeting"};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    std::string buffer;
    LineChannel channel;
    channel.send = [&](std::string_view data) {
        while (!data.empty() && std::chrono::steady_clock::now() < deadline) {
            size_t sent = 0;
            CURLcode rc = curl_easy_send(curl_.get(), data.data(), data.size(), &sent);
            if (rc == CURLE_AGAIN) {
                pollfd pfd{sock, POLLOUT, 0};
                poll(&pfd, 1, 200);
                continue;
            }
            if (rc != CURLE_OK)
                return false;
            data.remove_prefix(sent);
        }
        return data.empty();
    };
    channel.read_line = [&](std::string &line) {
        std::array<char, 1024> chunk{};
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto eol = buffer.find("\r\n"); eol != std::string::npos) {
                line = buffer.substr(0, eol);
                buffer.erase(0, eol + 2);
                return true;
            }
            if (buffer.size() > 65536)
                return false; // not IMAP
            size_t got = 0;
            CURLcode rc = curl_easy_recv(curl_.get(), chunk.data(), chunk.size(), &got);
            if (rc == CURLE_AGAIN) {
                pollfd pfd{sock, POLLIN, 0};
                poll(&pfd, 1, 200);
                continue;
            }
            if (rc != CURLE_OK || got == 0)
                return false;
            buffer.append(chunk.data(), got);
        }
        return false;
    };
    const std::string reply = own_login(channel, transcript_.capabilities, login, password);
    if (reply.empty())
        return {CheckOutcome::temporary,
                std::chrono::steady_clock::now() >= deadline
                    ? "timed out"
                    : "no reply to our login (or LOGINDISABLED without AUTH=PLAIN)"};
    transcript_.auth_tag = reply.substr(0, 4);
    transcript_.auth_reply = transcript_.last_tagged = reply.substr(0, 200);
    return finish(reply_status_is(reply, "OK") ? CURLE_OK : CURLE_LOGIN_DENIED, timeout_seconds);
}

CheckResult CurlCredentialChecker::check(const ProviderConfig &p, std::string_view login,
                                         const SecretString &password) {
    auto h = LoginCheckHandle::create(p, login, password, true);
    if (!h)
        return {CheckOutcome::temporary, "curl_easy_init failed"};
    const int code = curl_easy_perform(h->easy());
    if (h->uses_own_login())
        return h->finish_own_login(code, login, password, p.timeout_seconds);
    return h->finish(code, p.timeout_seconds);
}

} // namespace imapmig
