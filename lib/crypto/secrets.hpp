// Old-provider passwords encrypted at rest: XChaCha20-Poly1305 (libsodium) with a random nonce
// per secret and the id of the key that sealed it, so keys can be rotated.
#pragma once

#include "base/error.hpp"
#include "base/secret_string.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

constexpr size_t secret_key_bytes = 32;

struct SecretKey {
    std::string id; // 16 hex chars derived from the key; safe to store and log
    std::array<unsigned char, secret_key_bytes> bytes{};

    SecretKey() = default;
    SecretKey(const SecretKey &) = default;
    SecretKey(SecretKey &&) noexcept = default;
    SecretKey &operator=(const SecretKey &) = default;
    SecretKey &operator=(SecretKey &&) noexcept = default;
    ~SecretKey(); // wipes bytes (every copy wipes its own)
};

// The key with its id derived from the bytes (BLAKE2b of a fixed context + key), as
// load_key_file computes it.
SecretKey make_secret_key(const std::array<unsigned char, secret_key_bytes> &bytes);

struct SealedSecret {
    std::string key_id;
    std::vector<unsigned char> blob; // nonce || ciphertext || tag
};

// The form the database returns with encode(secret, 'hex'); an invalid hex string gives an
// empty blob, which then fails to open.
SealedSecret sealed_secret_from_hex(std::string_view key_id, std::string_view hex);

// The first line of a password file (local_imap.master_password_file); a config error names
// the file when it is unreadable or empty.
Result<SecretString> read_password_file(const std::string &path);

// A key file holds exactly 32 raw bytes and must not be readable by "other".
Result<SecretKey> load_key_file(const std::string &path);
// Creates a new random key file with mode 0600 (0640 if group_readable); refuses to overwrite.
Result<void> generate_key_file(const std::string &path, bool group_readable);

class KeyRing {
public:
    // current seals new secrets; previous keys only open old ones.
    static Result<KeyRing> load(const std::string &current,
                                const std::vector<std::string> &previous);
    // keys[0] is current; ids are re-derived from the bytes. For tests; keys must not be empty.
    static KeyRing from_keys(std::vector<SecretKey> keys);

    const std::string &current_key_id() const;
    // associated_data binds the secret to its row (e.g. provider + old login): a sealed secret
    // copied to another row fails to open.
    SealedSecret seal(const SecretString &plaintext, std::string_view associated_data) const;
    // Errors: unknown key id -> config (the key file was rotated away; list it in
    // previous_secret_key_files); truncated or tampered blob, wrong associated data -> permanent.
    Result<SecretString> open(const SealedSecret &sealed, std::string_view associated_data) const;

private:
    std::vector<SecretKey> keys_;
};

} // namespace imapmig
