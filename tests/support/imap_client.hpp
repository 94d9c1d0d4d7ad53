// A tiny plain-TCP IMAP client for tests (no TLS). Every read has a timeout: a silent server
// fails the test instead of hanging it.
#pragma once

#include <string>
#include <vector>

namespace testsupport {

class ImapClient {
public:
    // Connects, reads the greeting; throws std::runtime_error on failure or a non-OK greeting.
    ImapClient(const std::string &host, int port, int timeout_ms = 15000);
    ~ImapClient();
    ImapClient(const ImapClient &) = delete;
    ImapClient &operator=(const ImapClient &) = delete;

    struct Reply {
        std::string status;                // "OK", "NO", "BAD" (of the tagged line)
        std::string text;                  // rest of the tagged line, e.g. "[ALERT] Go away"
        std::vector<std::string> untagged; // "* ..." lines as received (no CRLF), literals inline
        bool ok() const { return status == "OK"; }
    };

    // Sends "a<N> <cmd>\r\n", reads until the tagged reply. Throws if the connection drops.
    Reply command(const std::string &cmd);
    // APPEND with a synchronizing literal (for servers without LITERAL+, like Courier): sends
    // "APPEND <mailbox> (<flags>) "<date>" {N}", waits for the continuation, then the message.
    // mailbox is sent as given (quote it with imap_astring); date "" leaves it to the server.
    Reply append(const std::string &mailbox, const std::string &flags, const std::string &date,
                 const std::string &message);
    // LOGIN with quoted strings (\ and " escaped); 8-bit or CR/LF values go as LITERAL+.
    Reply login(const std::string &user, const std::string &password);
    // Capabilities from a CAPABILITY command (upper case), e.g. {"IMAP4REV1", "STARTTLS", ...}.
    std::vector<std::string> capabilities();
    bool has_capability(const std::string &cap);
    // Sends LOGOUT (best effort) and closes.
    void logout();

    const std::string &greeting() const { return greeting_; }
    bool connected() const { return fd_ >= 0; }

private:
    std::string read_line();     // one line without CRLF, literals ({N}) appended inline
    std::string read_raw_line(); // up to CRLF
    std::string read_bytes(std::size_t n);
    void send_all(const std::string &data);
    bool fill();

    int fd_ = -1;
    int tag_ = 0;
    std::string buf_;
    std::string greeting_;
};

// IMAP quoted string, or a LITERAL+ ("{N+}\r\n...") if the value cannot be quoted.
std::string imap_astring(const std::string &value);

} // namespace testsupport
