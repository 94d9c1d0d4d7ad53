// Old-provider passwords encrypted at rest: XChaCha20-Poly1305 (libsodium) with a random nonce
// per secret and the id of the key that sealed it, so keys can be rotated.
#pragma once

#include "error.hpp"
#include "secret_string.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

constexpr size_t secret_key_bytes = 32;

struct SecretKey {
    std::string id; // 16 hex chars derived from the key; safe to store and log
    std::array<unsigned char, secret_key_bytes> bytes{};
    ~SecretKey();
};

struct SealedSecret {
    std::string key_id;
    std::vector<unsigned char> blob; // nonce || ciphertext || tag
};

// A key file holds exactly 32 raw bytes and must not be readable by "other".
Result<SecretKey> load_key_file(const std::string &path);
// Creates a new random key file with mode 0600 (0640 if group_readable); refuses to overwrite.
Result<void> generate_key_file(const std::string &path, bool group_readable);

class KeyRing {
public:
    // current seals new secrets; previous keys only open old ones.
    static Result<KeyRing> load(const std::string &current,
                                const std::vector<std::string> &previous);
    static KeyRing from_keys(std::vector<SecretKey> keys); // keys[0] is current; for tests

    const std::string &current_key_id() const;
    // associated_data binds the secret to its row (e.g. provider + old login): a sealed secret
    // copied to another row fails to open.
    SealedSecret seal(const SecretString &plaintext, std::string_view associated_data) const;
    Result<SecretString> open(const SealedSecret &sealed, std::string_view associated_data) const;

private:
    std::vector<SecretKey> keys_;
};

} // namespace imapmig
