// How many bytes a mailbox holds on the new server: LIST, then STATUS (SIZE) per folder
// (RFC 8438, which Dovecot supports), over IMAP as the Dovecot master user. offlineimap does not
// report sizes, so this is how a migration's byte count is measured after each run.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"
#include "config/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

Result<long long> mailbox_bytes(const LocalImapConfig &local, const std::string &user,
                                const SecretString &master_password);

// Parsing, separate for tests: selectable folder names from LIST output, SIZE from STATUS.
std::vector<std::string> parse_list_names(std::string_view list_output);
long long parse_status_size(std::string_view status_output);

} // namespace imapmig
