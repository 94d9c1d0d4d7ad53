// Where Dovecot's login process proxies a user's session while their migration runs with
// `cutover: proxy`: the old provider itself, with the user's own credentials, so the new
// mailbox stays untouched until its first complete sync (and keeps the old UIDs then).
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapmig {

struct ProxyTarget {
    std::string host;
    int imap_port = 993;
    int pop3_port = 995;
    TlsMode security = TlsMode::tls;
    bool verify_certificate = true;
    std::string destuser; // the login at the old provider (differs after a domain rename)
};

ProxyTarget proxy_target(const ProviderConfig &provider, std::string destuser);

using PassdbFields = std::vector<std::pair<std::string, std::string>>;

// The passdb extra fields that make Dovecot proxy a session of `service` (Dovecot's service
// name: imap, pop3, ...) to the target. Only IMAP and POP3 sessions hold mail a client caches;
// every other service (smtp, submission, sieve) authenticates here and gets no fields.
PassdbFields proxy_fields(const ProxyTarget &target, std::string_view service);

} // namespace imapmig
