#include "crypto/passwords.hpp"

#include "catch_compat.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace imapmig;

namespace {

constexpr const char *doveadm = "/usr/bin/doveadm";

// Exit code of `doveadm -c /dev/null pw -t HASH -p PASSWORD` (0 = verified); no shell involved.
int doveadm_verify(const std::string &hash, const std::string &password) {
    std::vector<std::string> args = {doveadm, "-O", "pw", "-t", hash, "-p", password};
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, doveadm, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        REQUIRE(errno == EINTR);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

std::string hash_of(const std::string &scheme, const std::string &password) {
    auto hashed = hash_password(scheme, SecretString(password));
    INFO(scheme);
    REQUIRE(hashed.ok());
    return hashed.value();
}

} // namespace

TEST_CASE("every supported scheme is tagged and salted", "[unit]") {
    for (const auto &scheme : supported_password_schemes()) {
        INFO(scheme);
        const auto a = hash_of(scheme, "correct horse");
        const auto b = hash_of(scheme, "correct horse");
        CHECK(a.rfind("{" + scheme + "}", 0) == 0);
        CHECK(a.size() > scheme.size() + 10);
        CHECK(a != b);
        CHECK(a.find("correct horse") == std::string::npos);
    }
}

TEST_CASE("hashes have the expected formats", "[unit]") {
    CHECK_THAT(hash_of("ARGON2ID", "pw"), Catch::StartsWith("{ARGON2ID}$argon2id$v=19$"));
    CHECK_THAT(hash_of("ARGON2I", "pw"), Catch::StartsWith("{ARGON2I}$argon2i$v=19$"));
    CHECK_THAT(hash_of("SHA512-CRYPT", "pw"),
               Catch::Matches(R"(\{SHA512-CRYPT\}\$6\$[./0-9A-Za-z]{16}\$.+)"));
    CHECK_THAT(hash_of("SHA256-CRYPT", "pw"),
               Catch::Matches(R"(\{SHA256-CRYPT\}\$5\$[./0-9A-Za-z]{16}\$.+)"));
    CHECK_THAT(hash_of("BLF-CRYPT", "pw"), Catch::StartsWith("{BLF-CRYPT}$2y$10$"));
    // base64 of 64-byte digest + 8-byte salt = 96 characters
    CHECK(hash_of("SSHA512", "pw").size() == std::string("{SSHA512}").size() + 96);
}

TEST_CASE("scheme names are case-insensitive, output upper-case", "[unit]") {
    CHECK(password_scheme_supported("argon2id"));
    CHECK(password_scheme_supported("Sha512-Crypt"));
    CHECK_FALSE(password_scheme_supported("MD5"));
    CHECK_THAT(hash_of("ssha512", "pw"), Catch::StartsWith("{SSHA512}"));
    CHECK_THAT(hash_of("blf-crypt", "pw"), Catch::StartsWith("{BLF-CRYPT}"));
}

TEST_CASE("doveadm pw -t verifies every supported scheme", "[unit]") {
    REQUIRE(access(doveadm, X_OK) == 0);
    const std::vector<std::string> passwords = {"s3cret", "pässwörd with spaces & 'quotes'",
                                                std::string(100, 'x'), "$2y$!{PLAIN}"};
    for (const auto &scheme : supported_password_schemes()) {
        for (const auto &password : passwords) {
            INFO(scheme << " password of " << password.size() << " bytes");
            const auto hashed = hash_of(scheme, password);
            CHECK(doveadm_verify(hashed, password) == 0);
            // bcrypt (Dovecot's own BLF-CRYPT too) only uses the first 72 bytes.
            if (scheme != "BLF-CRYPT" || password.size() < 72)
                CHECK(doveadm_verify(hashed, password + "x") != 0);
            else
                CHECK(doveadm_verify(hashed, password + "x") == 0);
            CHECK(doveadm_verify(hashed, "wrong") != 0);
        }
    }
}

TEST_CASE("unsupported scheme and bad passwords are refused", "[unit]") {
    auto md5 = hash_password("MD5", SecretString("pw"));
    REQUIRE_FALSE(md5.ok());
    CHECK(md5.error().kind == ErrorKind::config);
    CHECK(md5.error().message == "unsupported password scheme 'MD5'; supported: ARGON2ID ARGON2I "
                                 "SHA512-CRYPT SHA256-CRYPT BLF-CRYPT SSHA512");
    CHECK_FALSE(hash_password("", SecretString("pw")).ok());

    auto nul = hash_password("SHA512-CRYPT", SecretString(std::string_view("a\0b", 3)));
    REQUIRE_FALSE(nul.ok());
    CHECK(nul.error().kind == ErrorKind::permanent);
}

TEST_CASE("check_password_hash accepts schemes Dovecot knows", "[unit]") {
    for (const char *good :
         {"{SHA512-CRYPT}$6$abcdefgh$xyz", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$a$b",
          "{BLF-CRYPT}$2y$05$abc", "{ssha512}AAAA", "{PLAIN}secret with spaces", "{CRYPT}ab01234",
          "{SHA256.HEX}0123abcd", "{SHA1.b64}AAAA", "{sha1.base64}AAAA", "{LDAP-MD5}AAAA",
          "{SCRAM-SHA-256}4096,abc,def"}) {
        INFO(good);
        CHECK(check_password_hash(good).ok());
    }
    for (const auto &scheme : dovecot_password_schemes())
        CHECK(check_password_hash("{" + scheme + "}x").ok());
    for (const auto &scheme : supported_password_schemes())
        CHECK(check_password_hash(hash_of(scheme, "pw")).ok());
}

TEST_CASE("check_password_hash explains what is wrong without echoing the hash", "[unit]") {
    struct Case {
        std::string stored;
        std::string expected_part;
    };
    const std::vector<Case> cases = {
        {"", "does not start with {SCHEME}"},
        {"$6$abc$hiddenhash", "does not start with {SCHEME}"},
        {"{SHA512-CRYPT$6$hiddenhash", "no closing '}'"},
        {"{SHA512-CRYPT}", "is empty after {SHA512-CRYPT}"},
        {"{NOPE}hiddenhash", "unknown scheme {NOPE}; Dovecot knows: SHA1 SSHA512"},
        {"{SHA1.ROT13}hiddenhash", "unknown encoding suffix"},
        {"{hidden hash with spaces}x", "an unknown scheme;"},
        {"{SHA512-CRYPT}hidden\nhash", "control characters"},
    };
    for (const auto &c : cases) {
        INFO(c.stored);
        auto checked = check_password_hash(c.stored);
        REQUIRE_FALSE(checked.ok());
        CHECK(checked.error().kind == ErrorKind::permanent);
        CHECK_THAT(checked.error().message, Catch::Contains(c.expected_part));
        CHECK(checked.error().message.find("hidden") == std::string::npos);
    }
}

TEST_CASE("weak_in_dovecot_24: the MD4/MD5 schemes and DES-CRYPT are weak", "[unit]") {
    for (const char *stored :
         {"{MD5}$1$salt$hash", "{MD5-CRYPT}$1$c9809462$CJlGOsYlAf6LBeiX6aNNj0", "{SMD5}AAAAAAAA",
          "{HMAC-MD5}0123abcd", "{PLAIN-MD4}0123456789abcdef0123456789abcdef",
          "{PLAIN-MD5}0123456789abcdef0123456789abcdef",
          "{LDAP-MD5}AAAAAAAAAAAAAAAAAAAAAA==", "{DES-CRYPT}ab01234567890"}) {
        INFO(stored);
        CHECK(weak_in_dovecot_24(stored));
    }
}

TEST_CASE("weak_in_dovecot_24: SHA, crypt(3) SHA-2, bcrypt, Argon2, PBKDF2, cleartext and the "
          "mechanism schemes are not weak",
          "[unit]") {
    for (const char *stored : {"{SHA}AAAA",
                               "{SHA1}AAAA",
                               "{SSHA}AAAA",
                               "{SHA256}AAAA",
                               "{SSHA256}AAAA",
                               "{SHA512}AAAA",
                               "{SSHA512}AAAA",
                               "{SHA256-CRYPT}$5$salt$hash",
                               "{SHA512-CRYPT}$6$salt$hash",
                               "{BLF-CRYPT}$2y$10$abc",
                               "{ARGON2I}$argon2i$v=19$x",
                               "{ARGON2ID}$argon2id$v=19$x",
                               "{PBKDF2}$1$salt$5000$hash",
                               "{PLAIN}secret",
                               "{CLEAR}secret",
                               "{CLEARTEXT}secret",
                               "{PLAIN-TRUNC}6-secret",
                               "{CRAM-MD5}0123abcd",
                               "{DIGEST-MD5}0123abcd",
                               "{SCRAM-SHA-1}4096,a,b,c",
                               "{SCRAM-SHA-256}4096,a,b,c",
                               "{OTP}md5 99 seed 0123"}) {
        INFO(stored);
        CHECK_FALSE(weak_in_dovecot_24(stored));
    }
    for (const auto &scheme : supported_password_schemes())
        CHECK_FALSE(weak_in_dovecot_24(hash_of(scheme, "pw")));
}

TEST_CASE("weak_in_dovecot_24: {CRYPT} is weak for DES and $1$ hashes only", "[unit]") {
    CHECK(weak_in_dovecot_24("{CRYPT}ab01234567890"));                      // DES
    CHECK(weak_in_dovecot_24("{CRYPT}_J9..abcdefghijk"));                   // BSDi extended DES
    CHECK(weak_in_dovecot_24("{CRYPT}$1$c9809462$CJlGOsYlAf6LBeiX6aNNj0")); // MD5-crypt
    for (const char *strong : {"{CRYPT}$2y$10$abcdefghijklmnopqrstuv", "{CRYPT}$2b$10$abcdefgh",
                               "{CRYPT}$2a$10$abcdefgh", "{CRYPT}$5$salt$hash",
                               "{CRYPT}$6$rounds=5000$salt$hash", "{CRYPT}$y$j9T$salt$hash"}) {
        INFO(strong);
        CHECK_FALSE(weak_in_dovecot_24(strong));
    }
    // Locked or empty: no password verifies, whatever auth_allow_weak_schemes says.
    CHECK_FALSE(weak_in_dovecot_24("{CRYPT}!"));
    CHECK_FALSE(weak_in_dovecot_24("{CRYPT}*"));
    CHECK_FALSE(weak_in_dovecot_24("{CRYPT}"));
    // The hash is decoded first when the scheme names an encoding.
    CHECK(weak_in_dovecot_24("{CRYPT.B64}JDEkc2FsdCRoYXNo"));          // $1$salt$hash
    CHECK(weak_in_dovecot_24("{CRYPT.HEX}24312473616c742468617368"));  // $1$salt$hash
    CHECK_FALSE(weak_in_dovecot_24("{CRYPT.BASE64}JDYkc2FsdCRoYXNo")); // $6$salt$hash
}

TEST_CASE("weak_in_dovecot_24: scheme names are case-insensitive", "[unit]") {
    CHECK(weak_in_dovecot_24("{md5-crypt}$1$salt$hash"));
    CHECK(weak_in_dovecot_24("{Plain-Md5}0123456789abcdef0123456789abcdef"));
    CHECK(weak_in_dovecot_24("{ldap-md5.b64}AAAAAAAAAAAAAAAAAAAAAA=="));
    CHECK(weak_in_dovecot_24("{Plain-MD5.hex}0123456789abcdef0123456789abcdef"));
    CHECK(weak_in_dovecot_24("{crypt}$1$salt$hash"));
    CHECK(weak_in_dovecot_24("{Crypt.Hex}24312473616c742468617368"));
    CHECK_FALSE(weak_in_dovecot_24("{crypt}$6$salt$hash"));
    CHECK_FALSE(weak_in_dovecot_24("{sha512-crypt}$6$salt$hash"));
}

TEST_CASE("weak_in_dovecot_24: no {SCHEME} or a scheme Dovecot 2.4 does not know is not weak",
          "[unit]") {
    // Such hashes fail on every Dovecot (check_password_hash refuses them): the setting is no cure.
    for (const char *stored : {"", "$1$salt$hash", "{MD5-CRYPT$1$salt$hash", "{NOPE}x", "{LANMAN}x",
                               "{NTLM}x", "{RPA}x", "{MD5.FOO}x"}) {
        INFO(stored);
        CHECK_FALSE(weak_in_dovecot_24(stored));
    }
}
