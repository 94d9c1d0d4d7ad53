// The libcurl credential check against a scripted IMAP server on loopback.
#include "login/imap_check.hpp"

#include "hostile_imap_server.hpp"

#include "catch_compat.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

using namespace imapmig;
using testsupport::HostileImapServer;
using testsupport::HostileScript;

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

namespace {

LoginTranscript transcript(std::initializer_list<std::string_view> lines) {
    LoginTranscript t;
    for (std::string_view l : lines) {
        if (l.substr(0, 2) == "C:")
            t.client_line(l.substr(2));
        else
            t.server_line(l);
    }
    return t;
}

const LoginTranscript login_ok = transcript(
    {"* OK ready", "C:A001 CAPABILITY", "A001 OK done", "C:A002 LOGIN bob secret", "A002 OK in"});

} // namespace

TEST_CASE("curl results map onto outcomes", "[unit]") {
    CHECK(classify_login(CURLE_OK, login_ok, "").outcome == CheckOutcome::accepted);
    auto denied = [](std::string reply) {
        return transcript({"* OK ready", "C:A002 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=", reply});
    };
    CHECK(classify_login(CURLE_LOGIN_DENIED, denied("A002 NO [AUTHENTICATIONFAILED] x"), "")
              .outcome == CheckOutcome::rejected);
    CHECK(classify_login(CURLE_LOGIN_DENIED, denied("A002 NO x"), "").outcome ==
          CheckOutcome::rejected);
    for (const char *code : {"[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]"})
        CHECK(classify_login(CURLE_LOGIN_DENIED, denied(std::string("A002 NO ") + code + " x"), "")
                  .outcome == CheckOutcome::temporary);
    // BAD is a protocol complaint (an 8-bit atom, say), not a verdict on the password.
    CHECK(classify_login(CURLE_LOGIN_DENIED, denied("A002 BAD Invalid characters in atom"), "")
              .outcome == CheckOutcome::temporary);
    // Denied before any LOGIN was sent (LOGINDISABLED, no usable mechanism): not the user's fault.
    CHECK(classify_login(CURLE_LOGIN_DENIED, transcript({"* OK ready", "A001 OK done"}), "")
              .outcome == CheckOutcome::temporary);
    const LoginTranscript none;
    auto no_tls = classify_login(CURLE_USE_SSL_FAILED, none, "");
    CHECK(no_tls.outcome == CheckOutcome::temporary);
    CHECK(no_tls.detail == "server does not offer STARTTLS (security: starttls)");
    CHECK(classify_login(CURLE_COULDNT_CONNECT, none, "Connection refused").outcome ==
          CheckOutcome::temporary);
    CHECK(classify_login(CURLE_PEER_FAILED_VERIFICATION, none, "").outcome ==
          CheckOutcome::temporary);
}

TEST_CASE("success needs a tagged OK to the LOGIN actually sent", "[unit]") {
    // curl returns OK after a PREAUTH greeting without sending the password.
    auto preauth = transcript({"* PREAUTH [CAPABILITY IMAP4rev1] welcome, no password needed",
                               "C:A001 CAPABILITY", "A001 OK done"});
    auto r = classify_login(CURLE_OK, preauth, "");
    CHECK(r.outcome == CheckOutcome::temporary);
    CHECK(r.detail.find("PREAUTH") != std::string::npos);
    // A tagged OK to something else is not a login.
    CHECK(classify_login(CURLE_OK, transcript({"* OK ready", "C:A001 CAPABILITY", "A001 OK done"}),
                         "")
              .outcome == CheckOutcome::temporary);
    // The OK must carry the LOGIN's tag.
    CHECK(classify_login(CURLE_OK,
                         transcript({"* OK ready", "C:A002 LOGIN bob pw", "A001 OK stale"}), "")
              .outcome == CheckOutcome::temporary);
    // What we send is never kept beyond tag and verb: it holds the password.
    CHECK(login_ok.auth_tag == "A002");
    CHECK(login_ok.auth_reply == "A002 OK in");
}

TEST_CASE("a hostile provider never yields an accepted login", "[unit]") {
    CurlCredentialChecker checker;
    auto check = [&](HostileImapServer &server) {
        return checker.check(plain_provider(server.port()), "bob@old.example",
                             SecretString("s3cret-pass"));
    };
    SECTION("PREAUTH greeting") {
        HostileScript s;
        s.greeting = "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as anybody";
        HostileImapServer server(s);
        auto r = check(server);
        CHECK(r.outcome == CheckOutcome::temporary);
        CHECK(r.detail.find("PREAUTH") != std::string::npos);
        CHECK(server.logins().empty()); // the password was never even sent
    }
    SECTION("garbage instead of a greeting") {
        HostileScript s;
        // A TLS ClientHello-like binary blob, then a fake tagged OK.
        s.garbage = std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n", 20) +
                    "A001 OK LOGIN completed\r\n";
        HostileImapServer server(s);
        CHECK(check(server).outcome == CheckOutcome::temporary);
    }
    SECTION("greets, then never answers") {
        HostileScript s;
        s.login_reply = "";
        HostileImapServer server(s);
        auto r = check(server);
        CHECK(r.outcome == CheckOutcome::temporary);
        CHECK(server.logins().size() == 1);
    }
    SECTION("never greets") {
        HostileScript s;
        s.greeting = "";
        HostileImapServer server(s);
        CHECK(check(server).outcome == CheckOutcome::temporary);
    }
    SECTION("an honest OK is still accepted") {
        HostileImapServer server(HostileScript{});
        CHECK(check(server).outcome == CheckOutcome::accepted);
    }
}

TEST_CASE("8-bit passwords reach a provider without AUTH=PLAIN intact", "[unit]") {
    const std::string utf8_pw = "p\xC3\xA4ss w\xC3\xB6rd-\xE2\x82\xAC"; // "päss wörd-€"
    auto check = [](HostileImapServer &server, const std::string &pw) {
        return CurlCredentialChecker().check(plain_provider(server.port()), "bob@old.example",
                                             SecretString(pw));
    };
    SECTION("LOGIN only: a literal, not an 8-bit atom (which servers answer with BAD)") {
        HostileScript s;
        s.capability = "IMAP4rev1";
        s.password = utf8_pw;
        HostileImapServer server(s);
        CHECK(check(server, utf8_pw).outcome == CheckOutcome::accepted);
        REQUIRE(server.logins().size() == 1);
        CHECK(server.logins()[0].form == "literal");
        CHECK(server.logins()[0].user == "bob@old.example");
        CHECK(server.logins()[0].password == utf8_pw);
        auto wrong = check(server, "w\xC3\xB6rong");
        CHECK(wrong.outcome == CheckOutcome::rejected);
        CHECK(wrong.detail.find("w\xC3\xB6rong") == std::string::npos);
    }
    SECTION("AUTH=PLAIN offered (no SASL-IR): base64 through AUTHENTICATE") {
        HostileScript s;
        s.capability = "IMAP4rev1 AUTH=PLAIN";
        s.password = utf8_pw;
        HostileImapServer server(s);
        CHECK(check(server, utf8_pw).outcome == CheckOutcome::accepted);
        REQUIRE(server.logins().size() == 1);
        CHECK(server.logins()[0].form == "sasl-plain");
        CHECK(server.logins()[0].password == utf8_pw);
    }
    SECTION("LOGINDISABLED and no AUTH=PLAIN: a temporary failure, nothing sent") {
        HostileScript s;
        s.capability = "IMAP4rev1 LOGINDISABLED";
        HostileImapServer server(s);
        CHECK(check(server, utf8_pw).outcome == CheckOutcome::temporary);
        CHECK(server.logins().empty());
    }
    SECTION("PREAUTH still wins over our own login") {
        HostileScript s;
        s.greeting = "* PREAUTH hello";
        HostileImapServer server(s);
        CHECK(check(server, utf8_pw).outcome == CheckOutcome::temporary);
        CHECK(server.logins().empty());
    }
    SECTION("ASCII passwords keep curl's own LOGIN") {
        HostileScript s;
        s.capability = "IMAP4rev1";
        s.password = "plain-ascii";
        HostileImapServer server(s);
        CHECK(check(server, "plain-ascii").outcome == CheckOutcome::accepted);
        REQUIRE(server.logins().size() == 1);
        CHECK(server.logins()[0].form == "atom");
    }
}
