#include "sync/offlineimap/offlineimap_ui.hpp"

#include <charconv>

namespace imapmig {

namespace {

std::vector<std::string> payload_fields(std::string_view payload) {
    std::vector<std::string> out;
    std::string decoded = url_decode(payload);
    size_t start = 0;
    while (true) {
        size_t nl = decoded.find('\n', start);
        out.push_back(decoded.substr(start, nl == std::string::npos ? nl : nl - start));
        if (nl == std::string::npos)
            return out;
        start = nl + 1;
    }
}

int64_t to_int(const std::string &s) {
    int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

bool mentions_auth_failure(const std::string &text) {
    return text.find("AUTHENTICATIONFAILED") != std::string::npos ||
           text.find("authentication failed") != std::string::npos ||
           text.find("Authentication failed") != std::string::npos ||
           text.find("LOGIN failed") != std::string::npos;
}

} // namespace

std::string url_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size()) {
            unsigned v = 0;
            auto r = std::from_chars(text.data() + i + 1, text.data() + i + 3, v, 16);
            if (r.ec == std::errc() && r.ptr == text.data() + i + 3) {
                out += static_cast<char>(v);
                i += 2;
            } else {
                out += '%';
            }
        } else {
            out += text[i];
        }
    }
    return out;
}

bool MachineUiParser::feed(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 == std::string_view::npos)
        return false; // banner lines and other free text
    std::string_view severity = line.substr(0, c1);
    std::string_view command = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view thread = line.substr(c2 + 1, c3 - c2 - 1);
    std::string_view payload = line.substr(c3 + 1);

    if (severity == "error") {
        on_error(url_decode(payload));
        return false;
    }
    if (severity != "msg")
        return false;
    if (command == "connecting") {
        auto f = payload_fields(payload);
        connecting_repo_ = f.size() >= 3 ? f[2] : "";
    } else if (command == "syncingfolder") {
        ++progress_.folders_seen;
        return true;
    } else if (command == "messagelistloaded") {
        // Fields: repository type, folder, count. The old side is the remote ("IMAP") one.
        auto f = payload_fields(payload);
        if (f.size() >= 3 && f[0] == "IMAP")
            progress_.messages_total += to_int(f[2]);
        return true;
    } else if (command == "copyingmessage") {
        ++progress_.messages_copied;
        return true;
    } else if (command == "threadExited" && url_decode(payload).starts_with("Folder ")) {
        ++progress_.folders_done;
        return true;
    } else if (command == "terminate") {
        terminated_ = true;
        (void)thread;
    }
    return false;
}

void MachineUiParser::on_error(const std::string &text) {
    errors_.push_back(text.size() > 500 ? text.substr(0, 500) + "..." : text);
    if (connecting_repo_ == old_repo_ && mentions_auth_failure(text))
        old_login_rejected_ = true;
    if (text.find("Could not lock account") != std::string::npos)
        account_locked_ = true;
}

} // namespace imapmig
