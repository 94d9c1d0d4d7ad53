#include "imap_client.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace testsupport {

namespace {

std::string upper(std::string s) {
    for (auto &c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

std::string imap_astring(const std::string &value) {
    bool quotable = std::all_of(value.begin(), value.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7f;
    });
    if (!quotable)
        return "{" + std::to_string(value.size()) + "+}\r\n" + value;
    std::string out = "\"";
    for (char c : value) {
        if (c == '\\' || c == '"')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

ImapClient::ImapClient(const std::string &host, int port, int timeout_ms) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *res = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
        throw std::runtime_error("resolve " + host + ": " + gai_strerror(rc));
    std::string last_error = "no address";
    for (addrinfo *ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            fd_ = fd;
        } else {
            last_error = std::strerror(errno);
            close(fd);
        }
    }
    freeaddrinfo(res);
    if (fd_ < 0)
        throw std::runtime_error("connect " + host + ":" + service + ": " + last_error);
    try {
        greeting_ = read_line();
    } catch (...) {
        close(fd_);
        fd_ = -1;
        throw;
    }
    if (greeting_.rfind("* OK", 0) != 0 && greeting_.rfind("* PREAUTH", 0) != 0) {
        close(fd_);
        fd_ = -1;
        throw std::runtime_error("IMAP greeting from " + host + ":" + service + ": " + greeting_);
    }
}

ImapClient::~ImapClient() {
    if (fd_ >= 0)
        close(fd_);
}

bool ImapClient::fill() {
    char tmp[16384];
    for (;;) {
        ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
        if (n > 0) {
            buf_.append(tmp, static_cast<std::size_t>(n));
            return true;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            throw std::runtime_error("IMAP read timed out");
        return false;
    }
}

std::string ImapClient::read_raw_line() {
    if (fd_ < 0)
        throw std::runtime_error("IMAP connection is closed");
    for (;;) {
        std::size_t pos = buf_.find("\r\n");
        if (pos != std::string::npos) {
            std::string line = buf_.substr(0, pos);
            buf_.erase(0, pos + 2);
            return line;
        }
        if (!fill())
            throw std::runtime_error("IMAP connection closed by server" +
                                     (buf_.empty() ? std::string() : ": " + buf_));
    }
}

std::string ImapClient::read_bytes(std::size_t n) {
    while (buf_.size() < n) {
        if (!fill())
            throw std::runtime_error("IMAP connection closed inside a literal");
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
}

std::string ImapClient::read_line() {
    std::string line = read_raw_line();
    // A line ending in {N} continues after N literal bytes.
    while (!line.empty() && line.back() == '}') {
        std::size_t open = line.rfind('{');
        if (open == std::string::npos)
            break;
        const std::string digits = line.substr(open + 1, line.size() - open - 2);
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
            break;
        line += "\r\n" + read_bytes(std::stoul(digits));
        line += read_raw_line();
    }
    return line;
}

void ImapClient::send_all(const std::string &data) {
    if (fd_ < 0)
        throw std::runtime_error("IMAP connection is closed");
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::runtime_error(std::string("IMAP send: ") + std::strerror(errno));
        done += static_cast<std::size_t>(n);
    }
}

ImapClient::Reply ImapClient::command(const std::string &cmd) {
    const std::string tag = "a" + std::to_string(++tag_);
    send_all(tag + " " + cmd + "\r\n");
    Reply reply;
    for (;;) {
        std::string line = read_line();
        if (line.rfind(tag + " ", 0) == 0) {
            std::string rest = line.substr(tag.size() + 1);
            std::size_t sp = rest.find(' ');
            reply.status = upper(rest.substr(0, sp));
            reply.text = sp == std::string::npos ? "" : rest.substr(sp + 1);
            return reply;
        }
        if (line.rfind("+", 0) == 0)
            throw std::runtime_error("unexpected continuation request: " + line);
        reply.untagged.push_back(line);
    }
}

ImapClient::Reply ImapClient::append(const std::string &mailbox, const std::string &flags,
                                     const std::string &date, const std::string &message) {
    const std::string tag = "a" + std::to_string(++tag_);
    std::string cmd = tag + " APPEND " + mailbox + " (" + flags + ")";
    if (!date.empty())
        cmd += " \"" + date + "\"";
    send_all(cmd + " {" + std::to_string(message.size()) + "}\r\n");
    Reply reply;
    bool sent = false;
    for (;;) {
        std::string line = read_line();
        if (!sent && line.rfind("+", 0) == 0) {
            send_all(message + "\r\n");
            sent = true;
            continue;
        }
        if (line.rfind(tag + " ", 0) == 0) {
            std::string rest = line.substr(tag.size() + 1);
            std::size_t sp = rest.find(' ');
            reply.status = upper(rest.substr(0, sp));
            reply.text = sp == std::string::npos ? "" : rest.substr(sp + 1);
            return reply;
        }
        reply.untagged.push_back(line);
    }
}

ImapClient::Reply ImapClient::login(const std::string &user, const std::string &password) {
    return command("LOGIN " + imap_astring(user) + " " + imap_astring(password));
}

std::vector<std::string> ImapClient::capabilities() {
    Reply r = command("CAPABILITY");
    if (!r.ok())
        throw std::runtime_error("CAPABILITY failed: " + r.status + " " + r.text);
    std::vector<std::string> caps;
    for (const auto &line : r.untagged) {
        if (upper(line).rfind("* CAPABILITY ", 0) != 0)
            continue;
        std::size_t pos = std::strlen("* CAPABILITY ");
        while (pos < line.size()) {
            std::size_t end = line.find(' ', pos);
            if (end == std::string::npos)
                end = line.size();
            if (end > pos)
                caps.push_back(upper(line.substr(pos, end - pos)));
            pos = end + 1;
        }
    }
    return caps;
}

bool ImapClient::has_capability(const std::string &cap) {
    auto caps = capabilities();
    return std::find(caps.begin(), caps.end(), upper(cap)) != caps.end();
}

void ImapClient::logout() {
    if (fd_ < 0)
        return;
    try {
        command("LOGOUT");
    } catch (const std::exception &) {
        // The server may close first; nothing to do.
    }
    close(fd_);
    fd_ = -1;
}

} // namespace testsupport
