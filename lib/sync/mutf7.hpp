// IMAP folder names travel in modified UTF-7 (RFC 3501 5.1.3): "Entw&APw-rfe" is "Entwürfe".
// The servers' LIST answers are in that form, Dovecot's own tools (doveadm, dsync's -x) and
// the admin's YAML speak UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imapmig {

// nullopt when name is not valid modified UTF-7 (a bad base64 run, an unpaired surrogate,
// an 8-bit byte).
std::optional<std::string> mutf7_to_utf8(std::string_view name);

// nullopt when utf8 is not valid UTF-8.
std::optional<std::string> utf8_to_mutf7(std::string_view utf8);

} // namespace imapmig
