#include "hostile_imap_server.hpp"

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

// One client connection: line and byte reads over a buffer; false once the peer or the
// server is gone.
class Conn {
public:
    Conn(int fd, const std::atomic<bool> &stopping) : fd_(fd), stopping_(stopping) {}

    bool line(std::string &out) {
        while (true) {
            if (auto eol = buf_.find("\r\n"); eol != std::string::npos) {
                out = buf_.substr(0, eol);
                buf_.erase(0, eol + 2);
                return true;
            }
            if (!fill())
                return false;
        }
    }
    bool bytes(size_t n, std::string &out) {
        while (buf_.size() < n)
            if (!fill())
                return false;
        out = buf_.substr(0, n);
        buf_.erase(0, n);
        return true;
    }
    void send(const std::string &s) const {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0)
                return;
            off += static_cast<size_t>(n);
        }
    }

private:
    bool fill() {
        char chunk[4096];
        while (!stopping_) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0)
                return false;
            buf_.append(chunk, static_cast<size_t>(n));
            return true;
        }
        return false;
    }

    int fd_;
    const std::atomic<bool> &stopping_;
    std::string buf_;
};

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string base64_decode(const std::string &in) {
    static const std::string abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned v = 0;
    int bits = 0;
    for (char c : in) {
        const size_t i = abc.find(c);
        if (i == std::string::npos)
            continue;
        v = (v << 6) | static_cast<unsigned>(i);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((v >> bits) & 0xFF);
        }
    }
    return out;
}

std::string quoted(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

enum class Parsed { ok, bad, gone };

// One astring of a command at the start of rest (atom, quoted string or literal); a literal
// reads its bytes and the rest of the command line from conn.
Parsed astring(Conn &conn, std::string &rest, std::string &out, std::string &form,
               bool bad_8bit_atoms) {
    while (!rest.empty() && rest.front() == ' ')
        rest.erase(0, 1);
    if (rest.empty())
        return Parsed::bad;
    if (rest.front() == '"') {
        form = "quoted";
        out.clear();
        size_t i = 1;
        for (; i < rest.size() && rest[i] != '"'; ++i) {
            if (rest[i] == '\\' && i + 1 < rest.size())
                ++i;
            out += rest[i];
        }
        if (i >= rest.size())
            return Parsed::bad;
        rest.erase(0, i + 1);
        return Parsed::ok;
    }
    if (rest.front() == '{' && rest.back() == '}') {
        form = "literal";
        const bool non_sync = rest.size() > 2 && rest[rest.size() - 2] == '+';
        const size_t n = std::stoul(rest.substr(1));
        if (!non_sync)
            conn.send("+ go ahead\r\n");
        if (!conn.bytes(n, out) || !conn.line(rest))
            return Parsed::gone;
        return Parsed::ok;
    }
    form = "atom";
    const size_t end = rest.find(' ');
    out = rest.substr(0, end);
    rest.erase(0, end == std::string::npos ? rest.size() : end);
    if (bad_8bit_atoms && std::any_of(out.begin(), out.end(),
                                      [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
        return Parsed::bad;
    return Parsed::ok;
}

} // namespace

HostileImapServer::HostileImapServer(HostileScript script) : script_(std::move(script)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 64) != 0)
        throw std::runtime_error("HostileImapServer: cannot listen on 127.0.0.1");
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

HostileImapServer::~HostileImapServer() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    std::vector<std::thread> threads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (int fd : fds_)
            shutdown(fd, SHUT_RDWR);
        threads.swap(threads_);
    }
    for (auto &t : threads)
        t.join();
}

std::vector<SeenLogin> HostileImapServer::logins() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return logins_;
}

std::vector<std::string> HostileImapServer::verbs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return verbs_;
}

void HostileImapServer::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ++connections_;
        std::lock_guard<std::mutex> lock(mutex_);
        fds_.push_back(fd);
        threads_.emplace_back([this, fd] { serve(fd); });
    }
}

void HostileImapServer::serve(int fd) {
    Conn conn(fd, stopping_);
    const HostileScript &s = script_;
    if (!s.garbage.empty())
        conn.send(s.garbage);
    else if (!s.greeting.empty())
        conn.send(s.greeting + "\r\n");
    const bool answers = s.garbage.empty() && !s.greeting.empty();
    std::string line;
    while (conn.line(line)) {
        const std::string tag = line.substr(0, line.find(' '));
        std::string rest = line.size() > tag.size() ? line.substr(tag.size() + 1) : "";
        const std::string verb = upper(rest.substr(0, rest.find(' ')));
        rest.erase(0, verb.size());
        {
            std::lock_guard<std::mutex> lock(mutex_);
            verbs_.push_back(verb);
        }
        if (!answers)
            continue;
        if (verb == "CAPABILITY") {
            conn.send("* CAPABILITY " + s.capability + "\r\n" + tag + " OK done\r\n");
        } else if (verb == "LOGIN") {
            SeenLogin seen{verb, "", "", ""};
            std::string form;
            Parsed p = astring(conn, rest, seen.user, form, s.bad_8bit_atoms);
            if (p == Parsed::ok)
                p = astring(conn, rest, seen.password, seen.form, s.bad_8bit_atoms);
            if (p == Parsed::gone)
                break;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                logins_.push_back(seen);
            }
            if (p == Parsed::bad)
                conn.send(tag + " BAD Invalid characters in atom\r\n");
            else if (!s.password.empty() && seen.password != s.password)
                conn.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
            else if (!s.login_reply.empty())
                conn.send(tag + " " + s.login_reply + "\r\n");
        } else if (verb == "AUTHENTICATE") {
            while (!rest.empty() && rest.front() == ' ')
                rest.erase(0, 1);
            const std::string mech = upper(rest.substr(0, rest.find(' ')));
            std::string response = rest.find(' ') == std::string::npos
                                       ? std::string()
                                       : rest.substr(rest.find(' ') + 1);
            if (mech != "PLAIN") {
                conn.send(tag + " NO Unsupported mechanism\r\n");
                continue;
            }
            if (response.empty()) {
                conn.send("+ \r\n");
                if (!conn.line(response))
                    break;
            }
            const std::string raw = base64_decode(response);
            const size_t a = raw.find('\0'), b = raw.find('\0', a + 1);
            SeenLogin seen{verb, "", "", "sasl-plain"};
            if (a != std::string::npos && b != std::string::npos) {
                seen.user = raw.substr(a + 1, b - a - 1);
                seen.password = raw.substr(b + 1);
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                logins_.push_back(seen);
            }
            if (!s.password.empty() && seen.password != s.password)
                conn.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
            else if (!s.login_reply.empty())
                conn.send(tag + " " + s.login_reply + "\r\n");
        } else if (verb == "LIST") {
            std::string out;
            for (const auto &name : s.folders)
                out += "* LIST (\\HasNoChildren) \"/\" " + quoted(name) + "\r\n";
            conn.send(out + tag + " OK List completed.\r\n");
        } else if (verb == "LOGOUT") {
            conn.send("* BYE bye\r\n" + tag + " OK Logout completed.\r\n");
            break;
        } else if (verb == "NOOP") {
            conn.send(tag + " OK done\r\n");
        } else {
            conn.send(tag + " BAD unexpected command\r\n");
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
    close(fd);
}

} // namespace testsupport
