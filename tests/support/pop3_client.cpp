#include "pop3_client.hpp"

#include "catch_compat.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace testsupport {

Pop3Client::Pop3Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{15, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    greeting_ = line();
}

Pop3Client::~Pop3Client() {
    ::close(fd_);
}

std::string Pop3Client::command(const std::string &cmd) {
    const std::string out = cmd + "\r\n";
    REQUIRE(::write(fd_, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
    return line();
}

bool Pop3Client::login(const std::string &user, const std::string &password) {
    return command("USER " + user).rfind("+OK", 0) == 0 &&
           command("PASS " + password).rfind("+OK", 0) == 0;
}

std::vector<std::string> Pop3Client::listing(const std::string &cmd, std::string *status) {
    const std::string first = command(cmd);
    if (status)
        *status = first;
    std::vector<std::string> lines;
    if (first.rfind("+OK", 0) != 0)
        return lines;
    for (std::string l = line(); l != "."; l = line()) {
        REQUIRE_FALSE(l.empty()); // a read timeout or a closed connection, not a listing line
        lines.push_back(l.rfind("..", 0) == 0 ? l.substr(1) : l);
    }
    return lines;
}

std::string Pop3Client::line() {
    std::string l;
    char c = 0;
    while (::read(fd_, &c, 1) == 1 && c != '\n')
        if (c != '\r')
            l += c;
    return l;
}

} // namespace testsupport
