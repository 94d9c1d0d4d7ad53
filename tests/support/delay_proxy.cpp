#include "delay_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace testsupport {

namespace {

// "<tag> LOGIN ..." or "<tag> AUTHENTICATE ...", case-insensitive, anywhere in a chunk.
bool holds_login(const std::string &text) {
    std::string upper;
    upper.reserve(text.size());
    for (char c : text)
        upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    return upper.find(" LOGIN ") != std::string::npos ||
           upper.find(" AUTHENTICATE ") != std::string::npos;
}

bool send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

} // namespace

DelayProxy::DelayProxy(int target_port, std::chrono::milliseconds login_delay)
    : target_port_(target_port), delay_(login_delay) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 1024) != 0)
        throw std::runtime_error("delay proxy: cannot listen on 127.0.0.1");
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

DelayProxy::~DelayProxy() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    std::unique_lock lock(mutex_);
    for (int fd : open_fds_)
        shutdown(fd, SHUT_RDWR);
    idle_.wait(lock, [this] { return active_threads_ == 0; });
}

void DelayProxy::accept_loop() {
    while (!stopping_) {
        int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
            if (stopping_)
                return;
            continue;
        }
        ++accepted_;
        std::lock_guard lock(mutex_);
        open_fds_.insert(client);
        ++active_threads_;
        std::thread([this, client] { serve(client); }).detach();
    }
}

void DelayProxy::serve(int client) {
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(target_port_));
    if (connect(server, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
        int one = 1;
        setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        {
            std::lock_guard lock(mutex_);
            open_fds_.insert(server);
            ++active_threads_;
        }
        std::thread back([this, server, client] {
            pump(server, client, false);
            std::lock_guard lock(mutex_);
            --active_threads_;
            idle_.notify_all();
        });
        pump(client, server, true);
        back.join();
        forget(server);
    } else {
        close(server);
    }
    forget(client);
    std::lock_guard lock(mutex_);
    --active_threads_;
    idle_.notify_all();
}

void DelayProxy::pump(int from, int to, bool delay_logins) {
    char buf[16384];
    std::string tail; // the end of the previous chunk, so a command split across reads is seen
    while (true) {
        ssize_t n = recv(from, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        if (delay_logins) {
            std::string seen = tail + std::string(buf, static_cast<size_t>(n));
            if (holds_login(seen)) {
                ++delayed_;
                std::this_thread::sleep_for(delay_);
                seen.clear();
            }
            tail = seen.size() > 32 ? seen.substr(seen.size() - 32) : seen;
        }
        if (!send_all(to, buf, static_cast<size_t>(n)))
            break;
    }
    shutdown(to, SHUT_WR);
    shutdown(from, SHUT_RD);
}

void DelayProxy::forget(int fd) {
    std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
    close(fd);
}

} // namespace testsupport
