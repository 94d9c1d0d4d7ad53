// A fake old provider that follows a script instead of the protocol: a PREAUTH greeting,
// garbage, silence after the greeting or no greeting at all, BAD for 8-bit atoms (as Dovecot
// answers), hostile folder names in LIST. Plain IMAP on 127.0.0.1, one thread per connection.
// It records what a test needs to assert on: connections, the commands' verbs, and the
// credentials of each LOGIN / AUTHENTICATE PLAIN (decoded from atom, quoted string or literal).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

struct HostileScript {
    // The first line sent (without CRLF); "" sends nothing and never answers anything.
    std::string greeting = "* OK hostile ready";
    // Sent instead of the greeting when not empty (raw bytes, no CRLF added).
    std::string garbage;
    std::string capability = "IMAP4rev1 LITERAL+ AUTH=PLAIN";
    // The reply to LOGIN / AUTHENTICATE after the tag ("OK logged in"); "" never answers.
    // When password is set, a LOGIN with another password gets `NO [AUTHENTICATIONFAILED]`.
    std::string login_reply = "OK logged in";
    std::string password;
    bool bad_8bit_atoms = true; // `BAD` for an 8-bit byte in an atom, as Dovecot does
    // LIST answers these names verbatim, each as a quoted string (escapes applied).
    std::vector<std::string> folders;
};

struct SeenLogin {
    std::string verb; // LOGIN or AUTHENTICATE
    std::string user, password;
    std::string form; // atom | quoted | literal | sasl-plain
};

class HostileImapServer {
public:
    explicit HostileImapServer(HostileScript script);
    ~HostileImapServer(); // closes every connection, joins every thread
    HostileImapServer(const HostileImapServer &) = delete;
    HostileImapServer &operator=(const HostileImapServer &) = delete;

    int port() const { return port_; }
    int connections() const { return connections_.load(); }
    std::vector<SeenLogin> logins() const;
    std::vector<std::string> verbs() const; // every command verb received, in order

private:
    void accept_loop();
    void serve(int fd);

    HostileScript script_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::vector<SeenLogin> logins_;
    std::vector<std::string> verbs_;
    std::vector<int> fds_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

} // namespace testsupport
