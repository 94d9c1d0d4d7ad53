#include "crypto/secrets.hpp"

#include "catch_compat.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace imapmig;

namespace {

constexpr std::string_view plaintext = "old-provider-P4ss!";

SecretKey key_with(unsigned char fill) {
    std::array<unsigned char, secret_key_bytes> bytes;
    bytes.fill(fill);
    bytes[0] = static_cast<unsigned char>(fill ^ 0x5a);
    return make_secret_key(bytes);
}

KeyRing ring_of(std::initializer_list<unsigned char> fills) {
    std::vector<SecretKey> keys;
    for (auto f : fills)
        keys.push_back(key_with(f));
    return KeyRing::from_keys(std::move(keys));
}

// A mkdtemp directory removed with its contents at scope exit.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "imapmig-secrets-XXXXXX");
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void write_file(const std::string &path, size_t size, mode_t mode) {
    {
        std::ofstream out(path, std::ios::binary);
        out << std::string(size, 'k');
    }
    REQUIRE(chmod(path.c_str(), mode) == 0);
}

mode_t file_mode(const std::string &path) {
    struct stat st;
    REQUIRE(stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

class UmaskGuard {
public:
    explicit UmaskGuard(mode_t mask) : old_(umask(mask)) {}
    UmaskGuard(const UmaskGuard &) = delete;
    UmaskGuard &operator=(const UmaskGuard &) = delete;
    ~UmaskGuard() { umask(old_); }

private:
    mode_t old_;
};

} // namespace

TEST_CASE("sealed secrets round trip", "[unit]") {
    auto ring = ring_of({1});
    auto sealed = ring.seal(SecretString(plaintext), "oldmail:alice");
    CHECK(sealed.key_id == ring.current_key_id());
    CHECK(sealed.key_id.size() == 16);
    CHECK(sealed.key_id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(sealed.blob.size() == 24 + plaintext.size() + 16);

    auto opened = ring.open(sealed, "oldmail:alice");
    REQUIRE(opened.ok());
    CHECK(opened.value().reveal() == plaintext);

    auto empty = ring.open(ring.seal(SecretString(""), "ad"), "ad");
    REQUIRE(empty.ok());
    CHECK(empty.value().empty());
}

TEST_CASE("key ids are stable and differ between keys", "[unit]") {
    CHECK(key_with(1).id == key_with(1).id);
    CHECK(key_with(1).id != key_with(2).id);
}

TEST_CASE("two seals of one plaintext differ", "[unit]") {
    auto ring = ring_of({1});
    auto a = ring.seal(SecretString(plaintext), "ad");
    auto b = ring.seal(SecretString(plaintext), "ad");
    CHECK(a.blob != b.blob);
    CHECK(!std::equal(a.blob.begin(), a.blob.begin() + 24, b.blob.begin()));
}

TEST_CASE("tampering with any byte of the blob fails authentication", "[unit]") {
    auto ring = ring_of({1});
    const auto sealed = ring.seal(SecretString(plaintext), "ad");
    for (size_t i = 0; i < sealed.blob.size(); i++) {
        auto tampered = sealed;
        tampered.blob[i] ^= 0x01;
        auto opened = ring.open(tampered, "ad");
        INFO("byte " << i);
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error().kind == ErrorKind::permanent);
        CHECK(opened.error().message == "sealed secret failed authentication");
    }
    auto truncated = sealed;
    truncated.blob.resize(30);
    auto opened = ring.open(truncated, "ad");
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == ErrorKind::permanent);
    CHECK(opened.error().message.find(plaintext) == std::string::npos);
}

TEST_CASE("wrong associated data fails authentication", "[unit]") {
    auto ring = ring_of({1});
    auto sealed = ring.seal(SecretString(plaintext), "oldmail:alice");
    auto opened = ring.open(sealed, "oldmail:bob");
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == ErrorKind::permanent);
    CHECK(opened.error().message == "sealed secret failed authentication");
}

TEST_CASE("unknown or wrong key id is refused with the id in the message", "[unit]") {
    auto ring = ring_of({1});
    auto sealed = ring.seal(SecretString(plaintext), "ad");

    SECTION("unknown id") {
        sealed.key_id = "0123456789abcdef";
        auto opened = ring.open(sealed, "ad");
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error().kind == ErrorKind::config);
        CHECK_THAT(opened.error().message, Catch::Contains("0123456789abcdef") &&
                                               Catch::Contains("previous_secret_key_files"));
        CHECK(opened.error().message.find(plaintext) == std::string::npos);
    }
    SECTION("sealed with a key the ring does not have") {
        auto other = ring_of({2});
        auto opened = other.open(sealed, "ad");
        REQUIRE_FALSE(opened.ok());
        CHECK_THAT(opened.error().message, Catch::Contains(sealed.key_id));
    }
    SECTION("id of another loaded key: authentication fails") {
        auto two = ring_of({2, 1});
        sealed.key_id = two.current_key_id();
        auto opened = two.open(sealed, "ad");
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error().message == "sealed secret failed authentication");
    }
}

TEST_CASE("key rotation: previous keys open old secrets, new seals use the current key", "[unit]") {
    auto ring_a = ring_of({0xa});
    auto old_sealed = ring_a.seal(SecretString(plaintext), "ad");

    auto ring_ba = ring_of({0xb, 0xa});
    CHECK(ring_ba.current_key_id() == key_with(0xb).id);
    auto opened = ring_ba.open(old_sealed, "ad");
    REQUIRE(opened.ok());
    CHECK(opened.value().reveal() == plaintext);

    auto new_sealed = ring_ba.seal(SecretString(plaintext), "ad");
    CHECK(new_sealed.key_id == key_with(0xb).id);
    CHECK(new_sealed.key_id != old_sealed.key_id);
    CHECK_FALSE(ring_a.open(new_sealed, "ad").ok());
    CHECK(ring_of({0xb}).open(new_sealed, "ad").ok());
}

TEST_CASE("load_key_file reports what is wrong with the file", "[unit]") {
    TempDir dir;

    SECTION("missing") {
        const auto path = dir.file("missing.key");
        auto key = load_key_file(path);
        REQUIRE_FALSE(key.ok());
        CHECK(key.error().kind == ErrorKind::config);
        CHECK(key.error().message ==
              "secret key file " + path + ": cannot open: No such file or directory");
    }
    SECTION("wrong size") {
        const auto path = dir.file("short.key");
        write_file(path, 31, 0600);
        auto key = load_key_file(path);
        REQUIRE_FALSE(key.ok());
        CHECK(key.error().message ==
              "secret key file " + path + ": must be exactly 32 bytes, found 31");
        write_file(path, 33, 0600);
        CHECK(load_key_file(path).error().message ==
              "secret key file " + path + ": must be exactly 32 bytes, found 33");
    }
    SECTION("readable by others") {
        const auto path = dir.file("open.key");
        write_file(path, 32, 0644);
        auto key = load_key_file(path);
        REQUIRE_FALSE(key.ok());
        CHECK(key.error().message == "secret key file " + path +
                                         ": is readable by others (mode 0644); chmod 0640 or 0600");
        REQUIRE(chmod(path.c_str(), 0602) == 0);
        CHECK(load_key_file(path).error().message ==
              "secret key file " + path +
                  ": is writable by others (mode 0602); chmod 0640 or 0600");
    }
    SECTION("a directory") {
        CHECK_THAT(load_key_file(dir.file("")).error().message,
                   Catch::Contains("is not a regular file"));
    }
    SECTION("good file, 0640") {
        const auto path = dir.file("good.key");
        write_file(path, 32, 0640);
        auto key = load_key_file(path);
        REQUIRE(key.ok());
        std::array<unsigned char, secret_key_bytes> expected;
        expected.fill('k');
        CHECK(key.value().bytes == expected);
        CHECK(key.value().id == make_secret_key(expected).id);
    }
}

TEST_CASE("generate_key_file creates a private 32-byte key and never overwrites", "[unit]") {
    TempDir dir;
    UmaskGuard no_umask(0);

    const auto private_path = dir.file("private.key");
    REQUIRE(generate_key_file(private_path, false).ok());
    CHECK(file_mode(private_path) == 0600);
    CHECK(std::filesystem::file_size(private_path) == 32);

    const auto group_path = dir.file("group.key");
    REQUIRE(generate_key_file(group_path, true).ok());
    CHECK(file_mode(group_path) == 0640);

    auto a = load_key_file(private_path);
    auto b = load_key_file(group_path);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.value().id != b.value().id);

    auto again = generate_key_file(private_path, false);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message ==
          "secret key file " + private_path + ": already exists; refusing to overwrite it");
    auto unchanged = load_key_file(private_path);
    REQUIRE(unchanged.ok());
    CHECK(unchanged.value().bytes == a.value().bytes);

    auto no_dir = generate_key_file(dir.file("nodir/x.key"), false);
    REQUIRE_FALSE(no_dir.ok());
    CHECK_THAT(no_dir.error().message, Catch::Contains("cannot create"));
}

TEST_CASE("KeyRing::load reads current and previous key files", "[unit]") {
    TempDir dir;
    const auto current = dir.file("current.key");
    const auto previous = dir.file("previous.key");
    REQUIRE(generate_key_file(current, false).ok());
    REQUIRE(generate_key_file(previous, false).ok());

    auto old_ring = KeyRing::load(previous, {});
    REQUIRE(old_ring.ok());
    auto sealed = old_ring.value().seal(SecretString(plaintext), "ad");

    auto ring = KeyRing::load(current, {previous});
    REQUIRE(ring.ok());
    CHECK(ring.value().current_key_id() == load_key_file(current).value().id);
    auto opened = ring.value().open(sealed, "ad");
    REQUIRE(opened.ok());
    CHECK(opened.value().reveal() == plaintext);

    auto bad = KeyRing::load(current, {dir.file("gone.key")});
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("gone.key"));
}
