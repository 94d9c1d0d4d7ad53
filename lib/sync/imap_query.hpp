// A few IMAP commands on one authenticated libcurl session (the old server's NAMESPACE and
// LIST at the start of a run; the new server's special-use folders through the master user).
// Each command's untagged replies come back as text; a command the server rejects (BAD/NO)
// yields nullopt, so callers can fall back to an older command.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// A refused login is a permanent error, anything else on the way a temporary one.
Result<std::vector<std::optional<std::string>>>
imap_query(const ProviderConfig &server, std::string_view login, const SecretString &password,
           const std::vector<std::string> &commands);

// The new server as local_imap describes it, as an endpoint for imap_query (plain IMAP).
ProviderConfig local_imap_endpoint(const LocalImapConfig &local);

} // namespace imapmig
