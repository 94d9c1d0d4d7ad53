#include "login/proxy_target.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

ProviderConfig provider(TlsMode security, bool verify) {
    ProviderConfig p;
    p.name = "oldmail";
    p.host = "imap.old.example";
    p.port = 993;
    p.pop3_port = 995;
    p.security = security;
    p.verify_certificate = verify;
    return p;
}

} // namespace

TEST_CASE("proxy fields: IMAP and POP3 go to the old provider as the old login", "[unit]") {
    const ProxyTarget t = proxy_target(provider(TlsMode::tls, true), "ann@old.example");
    CHECK(proxy_fields(t, "imap") == PassdbFields{{"proxy", "y"},
                                                  {"host", "imap.old.example"},
                                                  {"port", "993"},
                                                  {"destuser", "ann@old.example"},
                                                  {"ssl", "yes"}});
    CHECK(proxy_fields(t, "pop3") == PassdbFields{{"proxy", "y"},
                                                  {"host", "imap.old.example"},
                                                  {"port", "995"},
                                                  {"destuser", "ann@old.example"},
                                                  {"ssl", "yes"}});
}

TEST_CASE("proxy fields follow the provider's security and certificate check", "[unit]") {
    auto last = [](TlsMode mode, bool verify) {
        return proxy_fields(proxy_target(provider(mode, verify), "u"), "imap").back();
    };
    CHECK(last(TlsMode::tls, false) == std::pair<std::string, std::string>{"ssl", "any-cert"});
    CHECK(last(TlsMode::starttls, true) == std::pair<std::string, std::string>{"starttls", "yes"});
    CHECK(last(TlsMode::starttls, false) ==
          std::pair<std::string, std::string>{"starttls", "any-cert"});
    // Plaintext: neither field, Dovecot connects in clear as the provider is configured.
    CHECK(last(TlsMode::none, true) == std::pair<std::string, std::string>{"destuser", "u"});
}

TEST_CASE("services other than IMAP and POP3 authenticate here, never proxied", "[unit]") {
    const ProxyTarget t = proxy_target(provider(TlsMode::tls, true), "u");
    for (const char *service : {"smtp", "submission", "sieve", "doveadm", ""})
        CHECK(proxy_fields(t, service).empty());
}
