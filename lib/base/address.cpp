#include "base/address.hpp"

#include <algorithm>

namespace imapmig {

namespace {

bool is_control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// RFC 5322 atext minus '%' and '*', which Dovecot treats specially in logins
// (variable expansion, master user separator).
bool is_local_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    static constexpr std::string_view extra = "!#$&'+-/=?^_`{|}~.";
    return extra.find(c) != std::string_view::npos;
}

bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
        return false;
    return std::all_of(label.begin(), label.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-';
    });
}

} // namespace

std::string to_lower_ascii(std::string_view s) {
    std::string out(s);
    for (char &c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool valid_hostname(std::string_view name) {
    if (name.empty() || name.size() > 253 || name.find('.') == std::string_view::npos)
        return false;
    size_t start = 0;
    while (true) {
        size_t dot = name.find('.', start);
        if (!valid_label(
                name.substr(start, dot == std::string_view::npos ? name.npos : dot - start)))
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

Result<MailAddress> parse_mail_address(std::string_view text) {
    if (text.empty())
        return permanent_error("empty address");
    if (std::any_of(text.begin(), text.end(), is_control))
        return permanent_error("address contains control characters (CR, LF, NUL ...)");
    if (text.size() > max_address_length)
        return permanent_error("address longer than " + std::to_string(max_address_length) +
                               " characters");
    size_t at = text.rfind('@');
    if (at == std::string_view::npos)
        return permanent_error("address has no @domain");
    std::string_view local = text.substr(0, at), domain = text.substr(at + 1);
    if (local.empty() || local.size() > max_local_part_length)
        return permanent_error("local part must be 1 to " + std::to_string(max_local_part_length) +
                               " characters");
    if (!std::all_of(local.begin(), local.end(), is_local_char) || local.front() == '.' ||
        local.back() == '.' || local.find("..") != std::string_view::npos)
        return permanent_error("local part is not a valid dot-atom");
    if (!valid_hostname(domain))
        return permanent_error("domain is not a valid host name");
    return MailAddress{to_lower_ascii(local), to_lower_ascii(domain)};
}

Result<void> check_password_input(std::string_view password) {
    if (password.empty())
        return permanent_error("empty password");
    if (password.size() > max_password_length)
        return permanent_error("password longer than " + std::to_string(max_password_length) +
                               " bytes");
    if (std::any_of(password.begin(), password.end(), is_control))
        return permanent_error("password contains control characters (CR, LF, NUL ...)");
    return {};
}

} // namespace imapmig
