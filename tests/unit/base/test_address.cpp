#include "base/address.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

TEST_CASE("login names are parsed and lower-cased", "[unit]") {
    auto a = parse_mail_address("Alice.Smith+tag@Old.Example");
    REQUIRE(a.ok());
    CHECK(a.value().local == "alice.smith+tag");
    CHECK(a.value().domain == "old.example");
    CHECK(a.value().str() == "alice.smith+tag@old.example");
}

TEST_CASE("malformed login names are refused with a reason", "[unit]") {
    auto reason = [](std::string_view text) {
        auto r = parse_mail_address(text);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().kind == ErrorKind::permanent);
        return r.error().message;
    };
    CHECK(reason("") == "empty address");
    CHECK(reason("bob") == "address has no @domain");
    CHECK(reason("@old.example") == "local part must be 1 to 64 characters");
    CHECK(reason(std::string(65, 'a') + "@old.example") == "local part must be 1 to 64 characters");
    CHECK(reason("bob\r\n@old.example") == "address contains control characters (CR, LF, NUL ...)");
    CHECK(reason(std::string("bob\0x@old.example", 17)) ==
          "address contains control characters (CR, LF, NUL ...)");
    CHECK(reason(std::string(250, 'a') + "@old.example") == "address longer than 254 characters");
    CHECK(reason("bob*master@old.example") == "local part is not a valid dot-atom");
    CHECK(reason(".bob@old.example") == "local part is not a valid dot-atom");
    CHECK(reason("b..ob@old.example") == "local part is not a valid dot-atom");
    CHECK(reason("bob@old_example.com") == "domain is not a valid host name");
    CHECK(reason("bob@localhost") == "domain is not a valid host name");
    CHECK(reason("bob@-old.example") == "domain is not a valid host name");
}

TEST_CASE("host names", "[unit]") {
    CHECK(valid_hostname("mail.old-provider.example"));
    CHECK(valid_hostname("xn--bcher-kva.example"));
    CHECK_FALSE(valid_hostname("old..example"));
    CHECK_FALSE(valid_hostname(std::string(64, 'a') + ".example"));
    CHECK_FALSE(valid_hostname("old.example."));
}

TEST_CASE("password input limits", "[unit]") {
    CHECK(check_password_input("correct horse battery staple").ok());
    CHECK(check_password_input(std::string(1024, 'x')).ok());
    CHECK(check_password_input(std::string(1025, 'x')).error().message ==
          "password longer than 1024 bytes");
    CHECK(check_password_input("").error().message == "empty password");
    for (std::string bad : {std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3)}) {
        auto r = check_password_input(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message == "password contains control characters (CR, LF, NUL ...)");
    }
}
