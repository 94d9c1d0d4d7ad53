// The libcurl credential check against a scripted IMAP server on loopback.
#include "login/imap_check.hpp"

#include "catch_compat.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

using namespace imapmig;

namespace {

// Serves one connection: greets (unless silent), answers CAPABILITY, LOGIN with login_reply
// and LOGOUT; records what it saw (never the credentials beyond "LOGIN").
class ScriptedImapServer {
public:
    explicit ScriptedImapServer(std::string login_reply, bool silent = false)
        : login_reply_(std::move(login_reply)), silent_(silent) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
        port = ntohs(a.sin_port);
        REQUIRE(listen(fd_, 1) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptedImapServer() {
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        thread_.join();
    }
    int port = 0;
    std::atomic<bool> saw_login{false}, saw_logout{false};

private:
    void serve() {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0)
            return;
        if (!silent_)
            send(c, "* OK scripted ready\r\n");
        std::string buf;
        char chunk[512];
        ssize_t n;
        while ((n = read(c, chunk, sizeof chunk)) > 0) {
            buf.append(chunk, static_cast<size_t>(n));
            size_t eol;
            while ((eol = buf.find("\r\n")) != std::string::npos) {
                std::string line = buf.substr(0, eol);
                buf.erase(0, eol + 2);
                answer(c, line);
            }
        }
        close(c);
    }
    void answer(int c, const std::string &line) {
        std::string tag = line.substr(0, line.find(' '));
        std::string cmd = line.substr(tag.size() + 1);
        if (cmd.rfind("CAPABILITY", 0) == 0) {
            send(c, "* CAPABILITY IMAP4rev1\r\n" + tag + " OK done\r\n");
        } else if (cmd.rfind("LOGIN ", 0) == 0) {
            saw_login = true;
            send(c, tag + " " + login_reply_ + "\r\n");
        } else if (cmd.rfind("LOGOUT", 0) == 0) {
            saw_logout = true;
            send(c, "* BYE bye\r\n" + tag + " OK done\r\n");
        } else {
            send(c, tag + " BAD unexpected\r\n");
        }
    }
    static void send(int c, const std::string &s) { (void)!write(c, s.data(), s.size()); }

    std::string login_reply_;
    bool silent_;
    int fd_ = -1;
    std::thread thread_;
};

ProviderConfig plain_provider(int port) {
    ProviderConfig p;
    p.name = "scripted";
    p.host = "127.0.0.1";
    p.port = port;
    p.security = TlsMode::none;
    p.allow_plaintext = true;
    p.timeout_seconds = 2;
    return p;
}

CheckResult check_against(ScriptedImapServer &server) {
    CurlCredentialChecker checker;
    return checker.check(plain_provider(server.port), "bob@old.example",
                         SecretString("s3cret-pass"));
}

} // namespace

TEST_CASE("accepted login is followed by LOGOUT", "[unit]") {
    ScriptedImapServer server("OK logged in");
    auto r = check_against(server);
    CHECK(r.outcome == CheckOutcome::accepted);
    CHECK(server.saw_login);
    CHECK(server.saw_logout);
}

TEST_CASE("explicit rejection is a mismatch; [UNAVAILABLE] is temporary", "[unit]") {
    {
        ScriptedImapServer server("NO [AUTHENTICATIONFAILED] Authentication failed.");
        auto r = check_against(server);
        CHECK(r.outcome == CheckOutcome::rejected);
        CHECK(r.detail.find("AUTHENTICATIONFAILED") != std::string::npos);
        CHECK(r.detail.find("s3cret-pass") == std::string::npos);
        CHECK_FALSE(server.saw_logout);
    }
    {
        ScriptedImapServer server("NO [UNAVAILABLE] Temporary authentication failure.");
        auto r = check_against(server);
        CHECK(r.outcome == CheckOutcome::temporary);
        CHECK(r.detail.find("[UNAVAILABLE]") != std::string::npos);
    }
}

TEST_CASE("unreachable and silent servers are temporary failures", "[unit]") {
    int port;
    {
        ScriptedImapServer gone("OK");
        port = gone.port;
        // Connect once so the server thread exits, then the port is closed.
        CurlCredentialChecker().check(plain_provider(port), "x@y.example", SecretString("p"));
    }
    CurlCredentialChecker checker;
    auto refused = checker.check(plain_provider(port), "bob@old.example", SecretString("p"));
    CHECK(refused.outcome == CheckOutcome::temporary);

    ScriptedImapServer silent("OK", true);
    auto start = std::chrono::steady_clock::now();
    auto timed_out = check_against(silent);
    CHECK(timed_out.outcome == CheckOutcome::temporary);
    CHECK(timed_out.detail == "timed out");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("curl results map onto outcomes", "[unit]") {
    CHECK(classify_login(CURLE_OK, "", "").outcome == CheckOutcome::accepted);
    CHECK(classify_login(CURLE_LOGIN_DENIED, "A002 NO [AUTHENTICATIONFAILED] x", "").outcome ==
          CheckOutcome::rejected);
    CHECK(classify_login(CURLE_LOGIN_DENIED, "", "").outcome == CheckOutcome::rejected);
    for (const char *code : {"[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]"})
        CHECK(
            classify_login(CURLE_LOGIN_DENIED, std::string("A002 NO ") + code + " x", "").outcome ==
            CheckOutcome::temporary);
    auto no_tls = classify_login(CURLE_USE_SSL_FAILED, "", "");
    CHECK(no_tls.outcome == CheckOutcome::temporary);
    CHECK(no_tls.detail == "server does not offer STARTTLS (security: starttls)");
    CHECK(classify_login(CURLE_COULDNT_CONNECT, "", "Connection refused").outcome ==
          CheckOutcome::temporary);
    CHECK(classify_login(CURLE_PEER_FAILED_VERIFICATION, "", "").outcome ==
          CheckOutcome::temporary);
}
