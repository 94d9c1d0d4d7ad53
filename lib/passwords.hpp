// Local password hashes in schemes Dovecot verifies, stored as "{SCHEME}hash".
#pragma once

#include "error.hpp"
#include "secret_string.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// Schemes we can produce (a subset of `doveadm pw -l`), upper-case.
const std::vector<std::string> &supported_password_schemes();
bool password_scheme_supported(std::string_view scheme); // case-insensitive

// Returns "{SCHEME}..." for the given scheme.
Result<std::string> hash_password(std::string_view scheme, const SecretString &password);

} // namespace imapmig
