#include "crypto/secrets.hpp"

#include <fstream>

#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace imapmig {

namespace {

constexpr std::string_view key_id_context = "imapmig secret key id v1";
constexpr size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t tag_bytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == secret_key_bytes);

bool sodium_ready() {
    static const bool ready = sodium_init() >= 0;
    return ready;
}

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

std::string key_file_error(const std::string &path, const std::string &what) {
    return "secret key file " + path + ": " + what;
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

// Empty if the mode is acceptable for a key file.
std::string check_key_file_mode(mode_t mode) {
    if ((mode & 0007) == 0)
        return {};
    const char *what = (mode & 0004) ? "readable" : (mode & 0002) ? "writable" : "accessible";
    return std::string("is ") + what + " by others (mode " + octal_mode(mode) +
           "); chmod 0640 or 0600";
}

Result<void> read_exactly(int fd, unsigned char *buf, size_t len, const std::string &path) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::read(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return config_error(key_file_error(path, "read failed: " + errno_text(errno)));
        if (n == 0)
            break;
        done += static_cast<size_t>(n);
    }
    unsigned char extra;
    ssize_t more = ::read(fd, &extra, 1);
    if (done != len || more > 0)
        return config_error(key_file_error(path, "changed size while being read"));
    return {};
}

Result<void> write_all(int fd, const unsigned char *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return config_error("write failed: " + errno_text(errno));
        done += static_cast<size_t>(n);
    }
    return {};
}

// Best effort: makes the new directory entry durable.
void fsync_parent_dir(const std::string &path) {
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0)
        ::fsync(fd.get());
}

Result<void> fill_new_key_file(int fd, mode_t mode) {
    if (::fchmod(fd, mode) < 0)
        return config_error("fchmod failed: " + errno_text(errno));
    std::array<unsigned char, secret_key_bytes> bytes;
    randombytes_buf(bytes.data(), bytes.size());
    auto written = write_all(fd, bytes.data(), bytes.size());
    sodium_memzero(bytes.data(), bytes.size());
    if (!written)
        return written;
    if (::fsync(fd) < 0)
        return config_error("fsync failed: " + errno_text(errno));
    return {};
}

} // namespace

SecretKey::~SecretKey() {
    sodium_memzero(bytes.data(), bytes.size());
}

SecretKey make_secret_key(const std::array<unsigned char, secret_key_bytes> &bytes) {
    if (!sodium_ready())
        throw std::runtime_error("libsodium initialisation failed");
    SecretKey key;
    key.bytes = bytes;
    unsigned char digest[crypto_generichash_BYTES_MIN];
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, sizeof digest);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char *>(key_id_context.data()),
                              key_id_context.size());
    crypto_generichash_update(&st, key.bytes.data(), key.bytes.size());
    crypto_generichash_final(&st, digest, sizeof digest);
    sodium_memzero(&st, sizeof st);
    char hex[2 * 8 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, 8);
    key.id = hex;
    return key;
}

Result<SecretKey> load_key_file(const std::string &path) {
    if (!sodium_ready())
        return bug_error("libsodium initialisation failed");
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0)
        return config_error(key_file_error(path, "cannot open: " + errno_text(errno)));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return config_error(key_file_error(path, "cannot stat: " + errno_text(errno)));
    if (!S_ISREG(st.st_mode))
        return config_error(key_file_error(path, "is not a regular file"));
    if (auto bad_mode = check_key_file_mode(st.st_mode); !bad_mode.empty())
        return config_error(key_file_error(path, bad_mode));
    if (st.st_size != static_cast<off_t>(secret_key_bytes))
        return config_error(
            key_file_error(path, "must be exactly " + std::to_string(secret_key_bytes) +
                                     " bytes, found " + std::to_string(st.st_size)));
    std::array<unsigned char, secret_key_bytes> bytes;
    auto rd = read_exactly(fd.get(), bytes.data(), bytes.size(), path);
    if (!rd) {
        sodium_memzero(bytes.data(), bytes.size());
        return rd.error();
    }
    SecretKey key = make_secret_key(bytes);
    sodium_memzero(bytes.data(), bytes.size());
    return key;
}

Result<void> generate_key_file(const std::string &path, bool group_readable) {
    if (!sodium_ready())
        return bug_error("libsodium initialisation failed");
    const mode_t mode = group_readable ? 0640 : 0600;
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (fd.get() < 0) {
        int err = errno;
        if (err == EEXIST)
            return config_error(key_file_error(path, "already exists; refusing to overwrite it"));
        return config_error(key_file_error(path, "cannot create: " + errno_text(err)));
    }
    auto filled = fill_new_key_file(fd.get(), mode);
    int close_rc = ::close(fd.release());
    if (filled && close_rc < 0)
        filled = config_error("close failed: " + errno_text(errno));
    if (!filled) {
        ::unlink(path.c_str());
        return config_error(key_file_error(path, filled.error().message));
    }
    fsync_parent_dir(path);
    return {};
}

Result<KeyRing> KeyRing::load(const std::string &current,
                              const std::vector<std::string> &previous) {
    std::vector<SecretKey> keys;
    keys.reserve(1 + previous.size());
    for (size_t i = 0; i < 1 + previous.size(); i++) {
        auto key = load_key_file(i == 0 ? current : previous[i - 1]);
        if (!key)
            return key.error();
        bool duplicate = false;
        for (const auto &k : keys)
            duplicate = duplicate || k.id == key.value().id;
        if (!duplicate)
            keys.push_back(std::move(key).value());
    }
    KeyRing ring;
    ring.keys_ = std::move(keys);
    return ring;
}

KeyRing KeyRing::from_keys(std::vector<SecretKey> keys) {
    if (keys.empty())
        throw std::invalid_argument("KeyRing::from_keys: no keys");
    KeyRing ring;
    for (const auto &k : keys)
        ring.keys_.push_back(make_secret_key(k.bytes));
    return ring;
}

const std::string &KeyRing::current_key_id() const {
    return keys_.at(0).id;
}

SealedSecret KeyRing::seal(const SecretString &plaintext, std::string_view associated_data) const {
    if (!sodium_ready())
        throw std::runtime_error("libsodium initialisation failed");
    const SecretKey &key = keys_.at(0);
    const std::string_view pt = plaintext.reveal();
    SealedSecret out;
    out.key_id = key.id;
    out.blob.resize(nonce_bytes + pt.size() + tag_bytes);
    unsigned char *nonce = out.blob.data();
    randombytes_buf(nonce, nonce_bytes);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        nonce + nonce_bytes, &clen, reinterpret_cast<const unsigned char *>(pt.data()), pt.size(),
        reinterpret_cast<const unsigned char *>(associated_data.data()), associated_data.size(),
        nullptr, nonce, key.bytes.data());
    out.blob.resize(nonce_bytes + clen);
    return out;
}

Result<SecretString> KeyRing::open(const SealedSecret &sealed,
                                   std::string_view associated_data) const {
    if (!sodium_ready())
        return bug_error("libsodium initialisation failed");
    const SecretKey *key = nullptr;
    for (const auto &k : keys_)
        if (k.id == sealed.key_id)
            key = &k;
    if (key == nullptr)
        return config_error("sealed secret uses key id " + sealed.key_id +
                            ", which no loaded key file has (current key id " + current_key_id() +
                            "); if that key file was rotated away, list it in "
                            "previous_secret_key_files");
    if (sealed.blob.size() < nonce_bytes + tag_bytes)
        return permanent_error("sealed secret is truncated (" + std::to_string(sealed.blob.size()) +
                               " bytes, expected at least " +
                               std::to_string(nonce_bytes + tag_bytes) + ")");
    const unsigned char *nonce = sealed.blob.data();
    const size_t clen = sealed.blob.size() - nonce_bytes;
    std::vector<unsigned char> plain(clen - tag_bytes + 1);
    unsigned long long plen = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        plain.data(), &plen, nullptr, nonce + nonce_bytes, clen,
        reinterpret_cast<const unsigned char *>(associated_data.data()), associated_data.size(),
        nonce, key->bytes.data());
    if (rc != 0) {
        sodium_memzero(plain.data(), plain.size());
        return permanent_error("sealed secret failed authentication");
    }
    SecretString secret(
        std::string_view(reinterpret_cast<const char *>(plain.data()), static_cast<size_t>(plen)));
    sodium_memzero(plain.data(), plain.size());
    return secret;
}

SealedSecret sealed_secret_from_hex(std::string_view key_id, std::string_view hex) {
    SealedSecret s;
    s.key_id = std::string(key_id);
    s.blob.resize(hex.size() / 2);
    size_t len = 0;
    if (sodium_hex2bin(s.blob.data(), s.blob.size(), hex.data(), hex.size(), nullptr, &len,
                       nullptr) != 0)
        len = 0;
    s.blob.resize(len);
    return s;
}

Result<SecretString> read_password_file(const std::string &path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty())
        return config_error("cannot read a password from " + path +
                            " (expected the password on its first line)");
    SecretString password(line);
    sodium_memzero(line.data(), line.size());
    return password;
}

} // namespace imapmig
