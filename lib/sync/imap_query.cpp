#include "sync/imap_query.hpp"

#include "sync/imap_session.hpp"

#include <curl/curl.h>

#include <array>
#include <memory>

namespace imapmig {

namespace {

struct CurlDeleter {
    void operator()(CURL *c) const { curl_easy_cleanup(c); }
};

// A larger reply fails the command (curl: "Failed writing received data") instead of being cut:
// a cut FETCH list would read as missing mail. 64 MiB is ~1.8 million FETCH (RFC822.SIZE) lines.
constexpr size_t max_reply_bytes = 64 * 1024 * 1024;

size_t collect(char *data, size_t size, size_t n, void *userp) {
    auto *out = static_cast<std::string *>(userp);
    if (out->size() + size * n > max_reply_bytes)
        return 0;
    out->append(data, size * n);
    return size * n;
}

} // namespace

ProviderConfig local_imap_endpoint(const LocalImapConfig &local) {
    ProviderConfig p;
    p.name = "local_imap";
    p.host = local.host;
    p.port = local.port;
    p.security = TlsMode::none;
    p.verify_certificate = false;
    p.timeout_seconds = 30;
    return p;
}

Result<std::vector<std::optional<std::string>>>
imap_query(const ProviderConfig &p, std::string_view login, const SecretString &password,
           const std::vector<std::string> &commands) {
    std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
    if (!handle)
        return temporary_error("curl_easy_init failed");
    CURL *c = handle.get();
    set_imap_connection(c, p, login, password);
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    std::string reply;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(p.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(p.timeout_seconds * 6));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf.data());
    std::vector<std::optional<std::string>> out;
    for (const auto &command : commands) {
        reply.clear();
        errbuf[0] = '\0';
        // The same handle keeps its connection: one login for all commands.
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, command.c_str());
        const CURLcode rc = curl_easy_perform(c);
        if (rc == CURLE_OK) {
            out.emplace_back(reply);
            continue;
        }
        if (rc == CURLE_QUOTE_ERROR) { // tagged NO/BAD: the server does not know the command
            out.emplace_back(std::nullopt);
            continue;
        }
        const std::string why = errbuf[0] ? errbuf.data() : curl_easy_strerror(rc);
        if (rc == CURLE_LOGIN_DENIED)
            return permanent_error(p.host + " refused the login: " + why);
        return temporary_error("IMAP " + command.substr(0, command.find(' ')) + " at " + p.host +
                               " failed: " + why);
    }
    return out;
}

} // namespace imapmig
