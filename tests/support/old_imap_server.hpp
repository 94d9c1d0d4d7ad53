// The old providers the migration tests read from, whatever runs them: what a test needs to
// know to seed mail, point the migration at the server and explain a failure.
#pragma once

#include <string>

namespace testsupport {

class OldImapServer {
public:
    virtual ~OldImapServer() = default;
    // e.g. "Cyrus IMAP 3.6, folders beside INBOX, '/'"
    virtual std::string description() const = 0;
    virtual int port() const = 0; // plain IMAP (LOGIN allowed without TLS) on 127.0.0.1
    // Its personal namespace, as NAMESPACE answers: "" or "INBOX.", and the separator.
    virtual std::string personal_prefix() const = 0;
    virtual char separator() const = 0;
    // True if folders can be created with a special-use flag (RFC 6154 CREATE-SPECIAL-USE).
    virtual bool marks_special_use() const = 0;
    virtual std::string log() const = 0;
    virtual void stop() = 0;
};

} // namespace testsupport
