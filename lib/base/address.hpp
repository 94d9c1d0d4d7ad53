// What a client may send as a login name or password before anything is contacted.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>

namespace imapmig {

constexpr size_t max_address_length = 254; // RFC 5321 path limit
constexpr size_t max_local_part_length = 64;
constexpr size_t max_password_length = 1024;

struct MailAddress {
    std::string local;  // lower-case
    std::string domain; // lower-case
    std::string str() const { return local + "@" + domain; }
};

// local@domain with a dot-atom local part and a hostname domain; returned lower-case.
// Errors are permanent and describe the problem without echoing control characters.
Result<MailAddress> parse_mail_address(std::string_view text);
bool valid_hostname(std::string_view name);
Result<void> check_password_input(std::string_view password);
std::string to_lower_ascii(std::string_view s);

} // namespace imapmig
