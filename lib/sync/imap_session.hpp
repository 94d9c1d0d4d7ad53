// One authenticated IMAP connection for commands whose replies can be long (a FETCH over a
// whole folder). libcurl logs in (greeting, STARTTLS, certificate checks, LOGIN or
// AUTHENTICATE: CONNECT_ONLY), then the commands go over curl_easy_send/recv. imap_query's
// custom requests cannot carry such replies: Debian 12's libcurl counts a reply's lines again
// for every line it hands on and refuses it past 300 KB ("Too large response headers"), which a
// FETCH over a few hundred messages already reaches.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "config/config.hpp"

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace imapmig {

// A fresh easy handle set up for the server: its URL, the credentials (curl keeps a copy until
// cleanup; ours is wiped), STARTTLS and certificate checks as its settings say.
void set_imap_connection(CURL *c, const ProviderConfig &server, std::string_view login,
                         const SecretString &password);

class ImapSession {
public:
    // A refused login is a permanent error, anything else on the way a temporary one.
    static Result<ImapSession> open(const ProviderConfig &server, std::string_view login,
                                    const SecretString &password);

    // Runs one command: its untagged replies (literals inline) after a tagged OK, nullopt after
    // NO or BAD. Replies above 256 MiB, a closed connection or the server's timeout (six times
    // timeout_seconds for one command) are errors.
    Result<std::optional<std::string>> run(std::string_view command);

private:
    struct CurlDeleter {
        void operator()(CURL *c) const { curl_easy_cleanup(c); }
    };
    explicit ImapSession(std::unique_ptr<CURL, CurlDeleter> curl, curl_socket_t sock,
                         std::string host, int timeout_seconds)
        : curl_(std::move(curl)), sock_(sock), host_(std::move(host)),
          timeout_seconds_(timeout_seconds) {}
    Result<void> send_all(std::string_view data);
    Result<std::string> read_line(); // one CRLF-terminated line, without the CRLF
    Result<void> read_exactly(size_t n, std::string &out);
    Result<void> fill();

    std::unique_ptr<CURL, CurlDeleter> curl_;
    curl_socket_t sock_;
    std::string host_;
    int timeout_seconds_;
    int next_tag_ = 1;
    std::string buffer_;
    std::chrono::steady_clock::time_point deadline_;
};

} // namespace imapmig
