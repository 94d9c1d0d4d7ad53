// Local password hashes in schemes Dovecot verifies, stored as "{SCHEME}hash".
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// Schemes we can produce (a subset of `doveadm pw -l`), upper-case.
const std::vector<std::string> &supported_password_schemes();
bool password_scheme_supported(std::string_view scheme); // case-insensitive

// Returns "{SCHEME}..." for the given scheme. Errors: unsupported scheme -> config; a password
// containing NUL -> permanent; out of memory (Argon2) -> temporary. BLF-CRYPT (bcrypt, cost 10)
// uses only the first 72 bytes of the password, as Dovecot's own BLF-CRYPT does.
Result<std::string> hash_password(std::string_view scheme, const SecretString &password);

// Verifies a password against a "{SCHEME}hash" in one of the schemes we produce. Used when a
// concurrent first login created the account after the local passdb had already looked.
// Errors: a scheme we cannot verify -> permanent.
Result<bool> verify_password(std::string_view stored, const SecretString &password);

// Every scheme `doveadm pw -l` lists on Dovecot 2.3, upper-case.
const std::vector<std::string> &dovecot_password_schemes();

// Checks the shape of a stored hash (e.g. from a CSV import): "{SCHEME}hash" where SCHEME is one
// Dovecot knows (case-insensitive, optionally with a .HEX/.B64/.BASE64 encoding suffix) and hash
// is non-empty without control characters. Errors are permanent and never echo the hash.
Result<void> check_password_hash(std::string_view stored);

// Whether Dovecot 2.4 refuses a stored "{SCHEME}hash" unless auth_allow_weak_schemes = yes (2.3
// verifies every scheme it knows). As in Dovecot 2.4's lib-auth: the MD4/MD5 schemes (MD5,
// MD5-CRYPT, SMD5, HMAC-MD5, PLAIN-MD4, PLAIN-MD5, LDAP-MD5) and DES-CRYPT; {CRYPT} when the hash
// is DES (no $ prefix) or $1$ (MD5-crypt), not $2?$, $5$, $6$ and the other crypt(3) formats.
// The SHA-1 schemes, CRAM-MD5, DIGEST-MD5, the cleartext ones and unknown schemes are not weak.
// Case-insensitive; an encoding suffix (.HEX, .B64) is decoded first. Without a {SCHEME}: false.
bool weak_in_dovecot_24(std::string_view stored);

} // namespace imapmig
