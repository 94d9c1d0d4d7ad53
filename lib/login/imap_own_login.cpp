#include "login/imap_own_login.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>

namespace imapmig {

namespace {

constexpr std::string_view tag = "Z001";

bool has_capability(std::string_view caps, std::string_view wanted) {
    size_t pos = 0;
    while (pos < caps.size()) {
        size_t end = caps.find(' ', pos);
        if (end == std::string_view::npos)
            end = caps.size();
        std::string_view word = caps.substr(pos, end - pos);
        if (word.size() == wanted.size() &&
            std::equal(word.begin(), word.end(), wanted.begin(), [](char a, char b) {
                return std::toupper(static_cast<unsigned char>(a)) == b;
            }))
            return true;
        pos = end + 1;
    }
    return false;
}

// Wipes on every path out: it holds the password.
struct WipedString {
    std::string text;
    ~WipedString() { sodium_memzero(text.data(), text.size()); }
};

// Reads until our tagged reply; a continuation ("+ ...") ends the wait too.
std::string wait_for(LineChannel &ch, bool continuation_ok) {
    std::string line;
    while (ch.read_line(line)) {
        if (continuation_ok && !line.empty() && line[0] == '+')
            return line;
        if (line.compare(0, tag.size() + 1, std::string(tag) + " ") == 0)
            return line;
    }
    return {};
}

std::string authenticate_plain(LineChannel &ch, std::string_view caps, std::string_view login,
                               const SecretString &password) {
    WipedString raw{std::string(1, '\0') + std::string(login) + '\0' +
                    std::string(password.reveal())};
    WipedString encoded;
    encoded.text.resize(sodium_base64_ENCODED_LEN(raw.text.size(), sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(encoded.text.data(), encoded.text.size(),
                      reinterpret_cast<const unsigned char *>(raw.text.data()), raw.text.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    encoded.text.resize(encoded.text.size() - 1); // the terminating NUL
    if (has_capability(caps, "SASL-IR")) {
        WipedString cmd{std::string(tag) + " AUTHENTICATE PLAIN " + encoded.text + "\r\n"};
        return ch.send(cmd.text) ? wait_for(ch, false) : std::string();
    }
    if (!ch.send(std::string(tag) + " AUTHENTICATE PLAIN\r\n"))
        return {};
    std::string reply = wait_for(ch, true);
    if (reply.empty() || reply[0] != '+')
        return reply;
    WipedString line{encoded.text + "\r\n"};
    return ch.send(line.text) ? wait_for(ch, false) : std::string();
}

// LOGIN {n}<CRLF>user {m}<CRLF>password<CRLF>, waiting for each continuation.
std::string login_literals(LineChannel &ch, std::string_view login, const SecretString &password) {
    if (!ch.send(std::string(tag) + " LOGIN {" + std::to_string(login.size()) + "}\r\n"))
        return {};
    std::string reply = wait_for(ch, true);
    if (reply.empty() || reply[0] != '+')
        return reply;
    if (!ch.send(std::string(login) + " {" + std::to_string(password.reveal().size()) + "}\r\n"))
        return {};
    reply = wait_for(ch, true);
    if (reply.empty() || reply[0] != '+')
        return reply;
    WipedString line{std::string(password.reveal()) + "\r\n"};
    return ch.send(line.text) ? wait_for(ch, false) : std::string();
}

} // namespace

bool needs_own_login(std::string_view login, const SecretString &password) {
    auto unsafe = [](std::string_view s) {
        return std::any_of(s.begin(), s.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u >= 0x80 || u < 0x20 || u == 0x7F;
        });
    };
    return unsafe(login) || unsafe(password.reveal());
}

std::string own_login(LineChannel &channel, std::string_view capabilities, std::string_view login,
                      const SecretString &password) {
    if (has_capability(capabilities, "AUTH=PLAIN"))
        return authenticate_plain(channel, capabilities, login, password);
    if (has_capability(capabilities, "LOGINDISABLED"))
        return {}; // no way in: the caller reports a temporary failure
    return login_literals(channel, login, password);
}

} // namespace imapmig
