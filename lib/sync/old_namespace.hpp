// The old server's personal namespace (RFC 2342 NAMESPACE), learnt at the start of every sync
// run: servers that keep every folder under "INBOX." (Cyrus' classic layout, Courier, many
// hosted providers) would otherwise hand their folders over as children of INBOX.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace imapmig {

struct OldNamespace {
    std::string prefix; // e.g. "INBOX." ("" when the folders sit beside INBOX)
    char separator = 0; // 0: unknown (NIL, or the server has no NAMESPACE)

    // The prefix without its trailing separator ("INBOX"): Dovecot's imapc_list_prefix.
    std::string list_prefix() const;
    bool operator==(const OldNamespace &) const = default;
};

// The first personal namespace of a `* NAMESPACE (("INBOX." ".")) NIL NIL` line in text
// (other lines are skipped); nullopt when there is none or it is NIL.
std::optional<OldNamespace> parse_namespace_reply(std::string_view text);

// One login to the old server, NAMESPACE, LOGOUT. A server without NAMESPACE answers with
// an empty OldNamespace; a refused login or an unreachable server is an error.
Result<OldNamespace> discover_old_namespace(const ProviderConfig &provider, std::string_view login,
                                            const SecretString &password);

} // namespace imapmig
