#include "silent_server.hpp"

#include "catch_compat.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

SilentServer::SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port = ntohs(a.sin_port);
    REQUIRE(listen(fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
}

SilentServer::~SilentServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
}

void SilentServer::serve() {
    std::vector<std::thread> held;
    while (!stop_) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0)
            break;
        ++total;
        int now = ++open_;
        peak = std::max(peak.load(), now);
        held.emplace_back([this, c] {
            char buf[64];
            while (read(c, buf, sizeof buf) > 0) { // until the client gives up
            }
            --open_;
            close(c);
        });
    }
    for (auto &t : held)
        t.join();
}
