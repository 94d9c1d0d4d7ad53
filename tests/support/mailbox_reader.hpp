// Reads a whole mailbox over IMAP into a Mailbox for mail_compare.hpp: NAMESPACE, LIST, then
// every message of every selectable folder (BODY.PEEK[], FLAGS, INTERNALDATE), read-only.
#pragma once

#include "imap_client.hpp"
#include "mail_compare.hpp"

#include <string>

namespace testsupport {

// client must be logged in. Throws std::runtime_error when a command fails.
Mailbox read_mailbox(ImapClient &client);

// Logs in as user at host:port, reads everything, logs out.
Mailbox read_mailbox(const std::string &host, int port, const std::string &user,
                     const std::string &password);

} // namespace testsupport
