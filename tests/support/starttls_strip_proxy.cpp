#include "starttls_strip_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace testsupport {

namespace {

void send_all(int fd, const std::string &s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        off += static_cast<size_t>(n);
    }
}

// " TOKEN" removed wherever a server line lists capabilities.
std::string strip_tokens(std::string line, const std::vector<std::string> &tokens) {
    for (const auto &token : tokens) {
        const std::string needle = " " + token;
        for (size_t pos; (pos = line.find(needle)) != std::string::npos;) {
            const size_t end = pos + needle.size();
            if (end < line.size() && line[end] != ' ' && line[end] != ']')
                break; // a longer word that starts with the token
            line.erase(pos, needle.size());
        }
    }
    return line;
}

std::string verb_of(const std::string &line) {
    const size_t start = line.find(' ');
    if (start == std::string::npos)
        return {};
    std::string verb = line.substr(start + 1, line.find(' ', start + 1) - start - 1);
    std::transform(verb.begin(), verb.end(), verb.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return verb;
}

int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

} // namespace

StartTlsStripProxy::StartTlsStripProxy(int target_port, std::vector<std::string> strip)
    : target_port_(target_port), strip_(std::move(strip)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 64) != 0)
        throw std::runtime_error("StartTlsStripProxy: cannot listen on 127.0.0.1");
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

StartTlsStripProxy::~StartTlsStripProxy() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    std::vector<std::thread> threads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        threads.swap(threads_);
    }
    for (auto &t : threads)
        t.join();
}

std::string StartTlsStripProxy::client_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return client_bytes_;
}

std::vector<std::string> StartTlsStripProxy::client_verbs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return verbs_;
}

void StartTlsStripProxy::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ++connections_;
        std::lock_guard<std::mutex> lock(mutex_);
        threads_.emplace_back([this, fd] { serve(fd); });
    }
}

// Line by line both ways (everything is clear text: the upgrade never happens).
void StartTlsStripProxy::serve(int client) {
    int server = connect_to(target_port_);
    std::string from_client, from_server;
    char chunk[8192];
    while (server >= 0 && !stopping_) {
        pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (poll(p, 2, 100) <= 0)
            continue;
        if (p[0].revents != 0) {
            ssize_t n = ::read(client, chunk, sizeof chunk);
            if (n <= 0)
                break;
            from_client.append(chunk, static_cast<size_t>(n));
            {
                std::lock_guard<std::mutex> lock(mutex_);
                client_bytes_.append(chunk, static_cast<size_t>(n));
            }
            for (size_t eol; (eol = from_client.find("\r\n")) != std::string::npos;) {
                const std::string line = from_client.substr(0, eol);
                from_client.erase(0, eol + 2);
                const std::string verb = verb_of(line);
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    verbs_.push_back(verb);
                }
                if (verb == "STARTTLS" &&
                    std::find(strip_.begin(), strip_.end(), "STARTTLS") != strip_.end())
                    send_all(client, line.substr(0, line.find(' ')) + " BAD not here\r\n");
                else
                    send_all(server, line + "\r\n");
            }
        }
        if (p[1].revents != 0) {
            ssize_t n = ::read(server, chunk, sizeof chunk);
            if (n <= 0)
                break;
            from_server.append(chunk, static_cast<size_t>(n));
            for (size_t eol; (eol = from_server.find("\r\n")) != std::string::npos;) {
                send_all(client, strip_tokens(from_server.substr(0, eol), strip_) + "\r\n");
                from_server.erase(0, eol + 2);
            }
        }
    }
    if (server >= 0)
        close(server);
    close(client);
}

} // namespace testsupport
