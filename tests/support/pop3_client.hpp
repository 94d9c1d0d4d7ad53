// A POP3 client for integration tests: plain TCP to 127.0.0.1, one command at a time, every
// read bounded by a timeout (SO_RCVTIMEO), so a server that stops answering fails the test
// instead of hanging it.
#pragma once

#include <string>
#include <vector>

namespace testsupport {

class Pop3Client {
public:
    explicit Pop3Client(int port); // connects and reads the greeting
    ~Pop3Client();
    Pop3Client(const Pop3Client &) = delete;
    Pop3Client &operator=(const Pop3Client &) = delete;

    // Sends cmd, returns the status line ("+OK ..." / "-ERR ...").
    std::string command(const std::string &cmd);
    // USER + PASS; true when both answered +OK.
    bool login(const std::string &user, const std::string &password);
    // A multi-line command (UIDL, LIST): its lines up to the terminating ".", dot-unstuffed;
    // empty when the status line was not +OK (then status holds it).
    std::vector<std::string> listing(const std::string &cmd, std::string *status = nullptr);
    const std::string &greeting() const { return greeting_; }

private:
    std::string line();
    int fd_ = -1;
    std::string greeting_;
};

} // namespace testsupport
