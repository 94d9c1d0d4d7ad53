#include "sync/imap_session.hpp"

#include <poll.h>
#include <sodium.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <mutex>

namespace imapmig {

namespace {

constexpr size_t max_reply_bytes = 256 * 1024 * 1024;

// `{123}` or `{123+}` at the end of a line: that many bytes of literal follow.
std::optional<size_t> literal_size(std::string_view line) {
    if (line.empty() || line.back() != '}')
        return std::nullopt;
    const size_t open = line.rfind('{');
    if (open == std::string_view::npos)
        return std::nullopt;
    std::string digits(line.substr(open + 1, line.size() - open - 2));
    if (!digits.empty() && digits.back() == '+')
        digits.pop_back();
    if (digits.empty() || digits.size() > 10 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return static_cast<size_t>(std::strtoull(digits.c_str(), nullptr, 10));
}

} // namespace

void set_imap_connection(CURL *c, const ProviderConfig &p, std::string_view login,
                         const SecretString &password) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    const std::string url = std::string(p.security == TlsMode::tls ? "imaps://" : "imap://") +
                            p.host + ":" + std::to_string(p.port) + "/";
    const std::string user(login);
    std::string pass(password.reveal());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str()); // curl copies every string option
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, pass.c_str());
    sodium_memzero(pass.data(), pass.size()); // curl keeps its own copy until cleanup
    if (p.security == TlsMode::starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    else if (p.security == TlsMode::none)
        curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, p.verify_certificate ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, p.verify_certificate ? 2L : 0L);
    if (!p.ca_file.empty())
        curl_easy_setopt(c, CURLOPT_CAINFO, p.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

Result<ImapSession> ImapSession::open(const ProviderConfig &p, std::string_view login,
                                      const SecretString &password) {
    std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
    if (!handle)
        return temporary_error("curl_easy_init failed");
    CURL *c = handle.get();
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    set_imap_connection(c, p, login, password);
    // The greeting, STARTTLS and the login are the connect phase; then curl stops.
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(p.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf.data());
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        const std::string why = errbuf[0] ? errbuf.data() : curl_easy_strerror(rc);
        if (rc == CURLE_LOGIN_DENIED)
            return permanent_error(p.host + " refused the login: " + why);
        return temporary_error("IMAP login at " + p.host + " failed: " + why);
    }
    curl_socket_t sock = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD)
        return temporary_error("IMAP at " + p.host + ": no connection after the login");
    return ImapSession(std::move(handle), sock, p.host, p.timeout_seconds);
}

Result<void> ImapSession::fill() {
    std::array<char, 65536> chunk{};
    while (std::chrono::steady_clock::now() < deadline_) {
        size_t got = 0;
        const CURLcode rc = curl_easy_recv(curl_.get(), chunk.data(), chunk.size(), &got);
        if (rc == CURLE_AGAIN) {
            pollfd pfd{sock_, POLLIN, 0};
            ::poll(&pfd, 1, 200);
            continue;
        }
        if (rc != CURLE_OK || got == 0)
            return temporary_error("IMAP at " + host_ + ": connection closed");
        buffer_.append(chunk.data(), got);
        return {};
    }
    return temporary_error("IMAP at " + host_ + ": timed out");
}

Result<void> ImapSession::send_all(std::string_view data) {
    while (!data.empty()) {
        if (std::chrono::steady_clock::now() >= deadline_)
            return temporary_error("IMAP at " + host_ + ": timed out");
        size_t sent = 0;
        const CURLcode rc = curl_easy_send(curl_.get(), data.data(), data.size(), &sent);
        if (rc == CURLE_AGAIN) {
            pollfd pfd{sock_, POLLOUT, 0};
            ::poll(&pfd, 1, 200);
            continue;
        }
        if (rc != CURLE_OK)
            return temporary_error("IMAP at " + host_ + ": connection closed");
        data.remove_prefix(sent);
    }
    return {};
}

Result<std::string> ImapSession::read_line() {
    for (size_t scanned = 0;;) {
        if (auto eol = buffer_.find("\r\n", scanned); eol != std::string::npos) {
            std::string line = buffer_.substr(0, eol);
            buffer_.erase(0, eol + 2);
            return line;
        }
        scanned = buffer_.empty() ? 0 : buffer_.size() - 1;
        if (buffer_.size() > max_reply_bytes)
            return temporary_error("IMAP at " + host_ + ": a line beyond 256 MiB");
        if (auto r = fill(); !r)
            return r.error();
    }
}

Result<void> ImapSession::read_exactly(size_t n, std::string &out) {
    while (buffer_.size() < n)
        if (auto r = fill(); !r)
            return r.error();
    out.append(buffer_, 0, n);
    buffer_.erase(0, n);
    return {};
}

Result<std::optional<std::string>> ImapSession::run(std::string_view command) {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds_ * 6);
    // Tags unlike curl's (A001...), which logged in on this connection.
    const std::string tag = "v" + std::to_string(next_tag_++);
    if (auto r = send_all(tag + " " + std::string(command) + "\r\n"); !r)
        return r.error();
    std::string replies;
    for (;;) {
        auto line = read_line();
        if (!line)
            return line.error();
        // A literal's bytes belong to the line that announced them, which goes on after them.
        while (auto n = literal_size(line.value())) {
            if (replies.size() + line.value().size() + *n > max_reply_bytes)
                return temporary_error("IMAP at " + host_ + ": a reply beyond 256 MiB");
            line.value() += "\r\n";
            if (auto r = read_exactly(*n, line.value()); !r)
                return r.error();
            auto rest = read_line();
            if (!rest)
                return rest.error();
            line.value() += rest.value();
        }
        if (line.value().rfind(tag + " ", 0) == 0) {
            const std::string status = line.value().substr(tag.size() + 1, 2);
            if (status == "OK")
                return std::optional<std::string>(std::move(replies));
            return std::optional<std::string>();
        }
        if (replies.size() + line.value().size() > max_reply_bytes)
            return temporary_error("IMAP at " + host_ + ": a reply beyond 256 MiB");
        replies += line.value();
        replies += "\r\n";
    }
}

} // namespace imapmig
