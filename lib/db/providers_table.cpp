#include "db/providers_table.hpp"

#include <string>

namespace imapmig {

Result<void> publish_providers(Connection &conn, const Config &config) {
    for (const ProviderConfig &p : config.providers) {
        auto r = conn.exec(
            "provider publish",
            "INSERT INTO providers (name, host, imap_port, pop3_port, security, "
            "verify_certificate) VALUES ($1, $2, $3::integer, $4::integer, $5, $6::boolean) "
            "ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host,"
            " imap_port = EXCLUDED.imap_port, pop3_port = EXCLUDED.pop3_port,"
            " security = EXCLUDED.security, verify_certificate = EXCLUDED.verify_certificate,"
            " updated_at = now() "
            "WHERE (providers.host, providers.imap_port, providers.pop3_port, providers.security,"
            " providers.verify_certificate) IS DISTINCT FROM (EXCLUDED.host, EXCLUDED.imap_port,"
            " EXCLUDED.pop3_port, EXCLUDED.security, EXCLUDED.verify_certificate)",
            {p.name, p.host, std::to_string(p.port), std::to_string(p.pop3_port),
             std::string(to_string(p.security)), p.verify_certificate ? "true" : "false"});
        if (!r)
            return r.error();
    }
    return {};
}

} // namespace imapmig
