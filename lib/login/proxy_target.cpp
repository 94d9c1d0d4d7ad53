#include "login/proxy_target.hpp"

namespace imapmig {

ProxyTarget proxy_target(const ProviderConfig &provider, std::string destuser) {
    return ProxyTarget{provider.host,
                       provider.port,
                       provider.pop3_port,
                       provider.security,
                       provider.verify_certificate,
                       std::move(destuser)};
}

PassdbFields proxy_fields(const ProxyTarget &target, std::string_view service) {
    if (service != "imap" && service != "pop3")
        return {};
    PassdbFields fields{
        {"proxy", "y"},
        {"host", target.host},
        {"port", std::to_string(service == "pop3" ? target.pop3_port : target.imap_port)},
        {"destuser", target.destuser}};
    // Dovecot's names: ssl=yes is TLS from the first byte, starttls=yes upgrades the plain
    // connection; "any-cert" skips the certificate check, as verify_certificate: false asks.
    const std::string verify = target.verify_certificate ? "yes" : "any-cert";
    if (target.security == TlsMode::tls)
        fields.emplace_back("ssl", verify);
    else if (target.security == TlsMode::starttls)
        fields.emplace_back("starttls", verify);
    return fields;
}

} // namespace imapmig
