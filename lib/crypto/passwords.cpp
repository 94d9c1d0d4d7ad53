#include "crypto/passwords.hpp"

#include <crypt.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/resource.h>
#include <thread>

namespace imapmig {

namespace {

// A copy of password bytes (NUL-terminated for crypt_r) that is wiped when it goes away.
class WipedBuffer {
public:
    explicit WipedBuffer(std::string_view value) : buf_(value) {}
    WipedBuffer(const WipedBuffer &) = delete;
    WipedBuffer &operator=(const WipedBuffer &) = delete;
    ~WipedBuffer() {
        if (!buf_.empty())
            sodium_memzero(buf_.data(), buf_.size());
    }
    const char *c_str() const { return buf_.c_str(); }

private:
    std::string buf_;
};

// crypt_r's state is ~32 KiB: on the heap, wiped afterwards (it holds password-derived data).
struct CryptDataDeleter {
    void operator()(crypt_data *d) const {
        sodium_memzero(d, sizeof *d);
        delete d;
    }
};
using CryptDataPtr = std::unique_ptr<crypt_data, CryptDataDeleter>;

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (auto &c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string join(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &s : items)
        out += (out.empty() ? "" : " ") + s;
    return out;
}

// n characters from crypt's salt alphabet [./0-9A-Za-z].
std::string crypt_salt_chars(size_t n) {
    static constexpr char alphabet[] =
        "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string out(n, '.');
    for (auto &c : out)
        c = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    return out;
}

Result<std::string> run_crypt(const SecretString &password, const std::string &setting) {
    WipedBuffer pw(password.reveal());
    CryptDataPtr data(new crypt_data{});
    const char *hashed = crypt_r(pw.c_str(), setting.c_str(), data.get());
    if (hashed == nullptr || hashed[0] == '*')
        return bug_error("crypt_r failed for setting prefix " + setting.substr(0, 4));
    return std::string(hashed);
}

Result<std::string> hash_sha_crypt(const SecretString &password, const char *prefix) {
    return run_crypt(password, prefix + crypt_salt_chars(16));
}

Result<std::string> hash_blf_crypt(const SecretString &password) {
    constexpr unsigned long cost = 10;
    std::array<char, 16> rbytes;
    randombytes_buf(rbytes.data(), rbytes.size());
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
    if (crypt_gensalt_rn("$2y$", cost, rbytes.data(), static_cast<int>(rbytes.size()),
                         setting.data(), static_cast<int>(setting.size())) == nullptr)
        return bug_error("crypt_gensalt_rn does not support $2y$ (bcrypt)");
    return run_crypt(password, setting.data());
}

// How many Argon2 hashes of 64 MB each fit in this process's address space limit next to what
// it already maps. Dovecot's auth process, where the non-blocking login path hashes on several
// threads, runs under vsz_limit (256 MB by default): two hashes at once fit there.
int argon2_slots() {
    const long cores = std::max(1u, std::thread::hardware_concurrency());
    rlimit limit{};
    if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return static_cast<int>(cores);
    long vsz_kb = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmSize:", 0) == 0)
            vsz_kb = std::atol(line.c_str() + 7);
    constexpr long per_hash = 72L << 20, margin = 32L << 20;
    const long spare = static_cast<long>(limit.rlim_cur) - vsz_kb * 1024 - margin;
    return static_cast<int>(std::clamp(spare / per_hash, 1L, cores));
}

// A counting gate sized once, at the first hash (when the hashing threads exist).
// A first-come, first-served gate sized once, at the first hash (when the hashing threads
// exist): a login storm's hashes finish in the order they arrived.
class Argon2Gate {
public:
    void enter() {
        std::unique_lock lock(mutex_);
        if (slots_ < 0)
            slots_ = argon2_slots();
        const uint64_t ticket = next_ticket_++;
        turn_.wait(lock, [&] { return ticket == serving_ && slots_ > 0; });
        ++serving_;
        --slots_;
        turn_.notify_all(); // the next ticket may fit in a slot left
    }
    void leave() {
        {
            std::lock_guard lock(mutex_);
            ++slots_;
        }
        turn_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable turn_;
    int slots_ = -1;
    uint64_t next_ticket_ = 0, serving_ = 0;
};

Result<std::string> hash_argon2(const SecretString &password, bool id) {
    static Argon2Gate gate;
    gate.enter();
    struct Leave {
        Argon2Gate &g;
        ~Leave() { g.leave(); }
    } leave{gate};
    const std::string_view pw = password.reveal();
    std::array<char, crypto_pwhash_STRBYTES> out{};
    int rc = id ? crypto_pwhash_argon2id_str(out.data(), pw.data(), pw.size(),
                                             crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                                             crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE)
                : crypto_pwhash_argon2i_str(out.data(), pw.data(), pw.size(),
                                            crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE,
                                            crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE);
    if (rc != 0)
        return temporary_error("Argon2 hashing failed (out of memory?)");
    return std::string(out.data());
}

// base64(sha512(password || salt) || salt), 8-byte salt.
Result<std::string> hash_ssha512(const SecretString &password) {
    constexpr size_t salt_len = 8;
    const std::string_view pw = password.reveal();
    std::array<unsigned char, crypto_hash_sha512_BYTES + salt_len> raw;
    unsigned char *salt = raw.data() + crypto_hash_sha512_BYTES;
    randombytes_buf(salt, salt_len);
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, reinterpret_cast<const unsigned char *>(pw.data()), pw.size());
    crypto_hash_sha512_update(&st, salt, salt_len);
    crypto_hash_sha512_final(&st, raw.data());
    sodium_memzero(&st, sizeof st);
    std::array<char, sodium_base64_ENCODED_LEN(crypto_hash_sha512_BYTES + salt_len,
                                               sodium_base64_VARIANT_ORIGINAL)>
        b64;
    sodium_bin2base64(b64.data(), b64.size(), raw.data(), raw.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    return std::string(b64.data());
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

} // namespace

const std::vector<std::string> &supported_password_schemes() {
    static const std::vector<std::string> schemes = {
        "ARGON2ID", "ARGON2I", "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "SSHA512",
    };
    return schemes;
}

bool password_scheme_supported(std::string_view scheme) {
    const auto &all = supported_password_schemes();
    return std::find(all.begin(), all.end(), to_upper(scheme)) != all.end();
}

Result<std::string> hash_password(std::string_view scheme, const SecretString &password) {
    const std::string name = to_upper(scheme);
    if (!password_scheme_supported(name))
        return config_error("unsupported password scheme '" + std::string(scheme) +
                            "'; supported: " + join(supported_password_schemes()));
    if (password.reveal().find('\0') != std::string_view::npos)
        return permanent_error("password contains a NUL byte");
    if (sodium_init() < 0)
        return bug_error("libsodium initialisation failed");

    Result<std::string> hashed = bug_error("unreachable");
    if (name == "ARGON2ID" || name == "ARGON2I")
        hashed = hash_argon2(password, name == "ARGON2ID");
    else if (name == "SHA512-CRYPT")
        hashed = hash_sha_crypt(password, "$6$");
    else if (name == "SHA256-CRYPT")
        hashed = hash_sha_crypt(password, "$5$");
    else if (name == "BLF-CRYPT")
        hashed = hash_blf_crypt(password);
    else if (name == "SSHA512")
        hashed = hash_ssha512(password);
    if (!hashed)
        return hashed.error();
    return "{" + name + "}" + hashed.value();
}

namespace {

bool verify_ssha512(std::string_view b64, std::string_view pw) {
    std::array<unsigned char, 512> raw{};
    size_t len = 0;
    if (sodium_base642bin(raw.data(), raw.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len <= crypto_hash_sha512_BYTES)
        return false;
    std::array<unsigned char, crypto_hash_sha512_BYTES> digest{};
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, reinterpret_cast<const unsigned char *>(pw.data()), pw.size());
    crypto_hash_sha512_update(&st, raw.data() + digest.size(), len - digest.size());
    crypto_hash_sha512_final(&st, digest.data());
    sodium_memzero(&st, sizeof st);
    return sodium_memcmp(digest.data(), raw.data(), digest.size()) == 0;
}

} // namespace

Result<bool> verify_password(std::string_view stored, const SecretString &password) {
    if (stored.size() < 3 || stored.front() != '{' || stored.find('}') == std::string_view::npos)
        return permanent_error("stored password has no {SCHEME} prefix");
    const size_t close = stored.find('}');
    const std::string scheme = to_upper(stored.substr(1, close - 1));
    const std::string hash(stored.substr(close + 1));
    const std::string_view pw = password.reveal();
    if (scheme == "ARGON2ID" || scheme == "ARGON2I")
        return crypto_pwhash_str_verify(hash.c_str(), pw.data(), pw.size()) == 0;
    if (scheme == "SHA512-CRYPT" || scheme == "SHA256-CRYPT" || scheme == "BLF-CRYPT") {
        auto computed = run_crypt(password, hash);
        return computed.ok() && computed.value().size() == hash.size() &&
               sodium_memcmp(computed.value().data(), hash.data(), hash.size()) == 0;
    }
    if (scheme == "SSHA512")
        return verify_ssha512(hash, pw);
    return permanent_error("cannot verify passwords stored in scheme " + scheme);
}

const std::vector<std::string> &dovecot_password_schemes() {
    static const std::vector<std::string> schemes = {
        "SHA1",      "SSHA512",   "SCRAM-SHA-256", "BLF-CRYPT",    "PLAIN",        "HMAC-MD5",
        "OTP",       "SHA512",    "SHA",           "DES-CRYPT",    "CRYPT",        "SSHA",
        "MD5-CRYPT", "PLAIN-MD4", "PLAIN-MD5",     "SCRAM-SHA-1",  "SHA512-CRYPT", "CLEAR",
        "CLEARTEXT", "ARGON2I",   "ARGON2ID",      "SSHA256",      "MD5",          "PBKDF2",
        "SHA256",    "CRAM-MD5",  "PLAIN-TRUNC",   "SHA256-CRYPT", "SMD5",         "DIGEST-MD5",
        "LDAP-MD5",
    };
    return schemes;
}

Result<void> check_password_hash(std::string_view stored) {
    const std::string expected =
        "expected {SCHEME}hash with a scheme `doveadm pw -l` lists (e.g. {ARGON2ID}$argon2id$...)";
    if (stored.empty() || stored[0] != '{')
        return permanent_error("password hash does not start with {SCHEME}; " + expected);
    const auto close = stored.find('}');
    if (close == std::string_view::npos)
        return permanent_error("password hash has no closing '}' after the scheme; " + expected);
    std::string name = to_upper(stored.substr(1, close - 1));
    if (auto dot = name.find('.'); dot != std::string::npos) {
        const std::string encoding = name.substr(dot + 1);
        if (encoding != "HEX" && encoding != "B64" && encoding != "BASE64")
            return permanent_error("password hash has an unknown encoding suffix in its scheme "
                                   "(Dovecot accepts .HEX, .B64, .BASE64); " +
                                   expected);
        name.resize(dot);
    }
    const auto &known = dovecot_password_schemes();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
        const bool printable =
            name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
            });
        return permanent_error("password hash has " +
                               (printable ? "unknown scheme {" + name + "}" : "an unknown scheme") +
                               "; Dovecot knows: " + join(known));
    }
    const auto hash = stored.substr(close + 1);
    if (hash.empty())
        return permanent_error("password hash is empty after {" + name + "}; " + expected);
    if (std::any_of(hash.begin(), hash.end(),
                    [](char c) { return is_control(static_cast<unsigned char>(c)); }))
        return permanent_error("password hash after {" + name +
                               "} contains control characters (CR, LF, tab, ...)");
    return {};
}

namespace {

// The bytes Dovecot hands to a scheme's verify function: the hash, decoded if the scheme name
// carries an encoding suffix. nullopt when it does not decode (then no login works at all).
std::optional<std::string> decoded_hash(std::string_view hash, std::string_view encoding) {
    if (encoding.empty())
        return std::string(hash);
    std::string raw(hash.size(), '\0');
    size_t len = 0;
    const int rc = encoding == "HEX"
                       ? sodium_hex2bin(reinterpret_cast<unsigned char *>(raw.data()), raw.size(),
                                        hash.data(), hash.size(), nullptr, &len, nullptr)
                       : sodium_base642bin(reinterpret_cast<unsigned char *>(raw.data()),
                                           raw.size(), hash.data(), hash.size(), nullptr, &len,
                                           nullptr, sodium_base64_VARIANT_ORIGINAL);
    if (rc != 0)
        return std::nullopt;
    raw.resize(len);
    return raw;
}

// Dovecot 2.4's CRYPT scheme hands $2?$ to BLF-CRYPT and refuses, before calling crypt(3), what
// does not start with $ (DES) or starts with $1 (MD5-crypt). 0 or 1 bytes ("!", "*": locked)
// never reach that check.
bool weak_crypt_hash(std::string_view h) {
    if (h.size() > 4 && h[0] == '$' && h[1] == '2' && h[3] == '$')
        return false;
    if (h.size() <= 1)
        return false;
    return h[0] != '$' || h[1] == '1';
}

} // namespace

bool weak_in_dovecot_24(std::string_view stored) {
    // Dovecot 2.4's schemes marked weak (lib-auth/password-scheme.c, password-scheme-crypt.c).
    static const std::array<std::string_view, 8> weak = {
        "MD5", "MD5-CRYPT", "SMD5", "HMAC-MD5", "PLAIN-MD4", "PLAIN-MD5", "LDAP-MD5", "DES-CRYPT",
    };
    const auto close = stored.find('}');
    if (stored.empty() || stored[0] != '{' || close == std::string_view::npos)
        return false;
    std::string name = to_upper(stored.substr(1, close - 1));
    std::string encoding;
    if (auto dot = name.find('.'); dot != std::string::npos) {
        encoding = name.substr(dot + 1);
        name.resize(dot);
        if (encoding != "HEX" && encoding != "B64" && encoding != "BASE64")
            return false; // an unknown scheme to Dovecot: refused whatever the setting
    }
    if (std::find(weak.begin(), weak.end(), name) != weak.end())
        return true;
    if (name != "CRYPT")
        return false;
    const auto hash = decoded_hash(stored.substr(close + 1), encoding);
    return hash && weak_crypt_hash(*hash);
}

} // namespace imapmig
