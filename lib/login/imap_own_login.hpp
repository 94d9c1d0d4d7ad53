// Our own authentication over a connection libcurl opened (greeting, CAPABILITY and STARTTLS
// done, no credentials given), for passwords curl would send wrongly: with no SASL mechanism it
// knows, curl falls back to `LOGIN user password` with the password as a bare atom, and an atom
// cannot hold 8-bit bytes (servers answer BAD: the user could never migrate). Here such a
// password goes as AUTHENTICATE PLAIN (base64) when offered, else as a LOGIN literal, which
// carries any octets (RFC 3501 section 4.3; UTF-8 per RFC 6855).
#pragma once

#include "base/secret_string.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace imapmig {

// True when curl's own LOGIN fallback would mangle the password (8-bit or control bytes).
bool needs_own_login(std::string_view login, const SecretString &password);

// The transport: send all bytes, or read one line (without CRLF) before the deadline.
struct LineChannel {
    std::function<bool(std::string_view)> send;
    std::function<bool(std::string &)> read_line;
};

// The tagged reply to our command ("Z001 OK ..."), or "" when the connection failed, the
// server never answered or offers no way to log in (LOGINDISABLED without AUTH=PLAIN). capabilities
// is the server's last CAPABILITY list (after STARTTLS).
std::string own_login(LineChannel &channel, std::string_view capabilities, std::string_view login,
                      const SecretString &password);

} // namespace imapmig
