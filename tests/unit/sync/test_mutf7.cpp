// Modified UTF-7 folder names (RFC 3501 5.1.3) to UTF-8 and back.
#include "sync/mutf7.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

TEST_CASE("modified UTF-7 folder names decode to UTF-8", "[unit]") {
    CHECK(mutf7_to_utf8("INBOX.Sent Items") == "INBOX.Sent Items");
    CHECK(mutf7_to_utf8("Entw&APw-rfe") == "Entw\xc3\xbcrfe");                    // Entwürfe
    CHECK(mutf7_to_utf8("Gel&APY-scht") == "Gel\xc3\xb6scht");                    // Gelöscht
    CHECK(mutf7_to_utf8("&ZeVnLIqe-") == "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"); // 日本語
    CHECK(mutf7_to_utf8("Tom &- Jerry") == "Tom & Jerry");
    CHECK(mutf7_to_utf8("&2D3eAA-") == "\xf0\x9f\x98\x80");    // U+1F600, a surrogate pair
    CHECK_FALSE(mutf7_to_utf8("&APw").has_value());            // no closing '-'
    CHECK_FALSE(mutf7_to_utf8("&A!w-").has_value());           // not base64
    CHECK_FALSE(mutf7_to_utf8("&2D0-").has_value());           // a lone high surrogate
    CHECK_FALSE(mutf7_to_utf8("Gel\xc3\xb6scht").has_value()); // 8-bit is not modified UTF-7
}

TEST_CASE("UTF-8 folder names encode to modified UTF-7 and back", "[unit]") {
    CHECK(utf8_to_mutf7("Entw\xc3\xbcrfe") == "Entw&APw-rfe");
    CHECK(utf8_to_mutf7("Tom & Jerry") == "Tom &- Jerry");
    CHECK(utf8_to_mutf7("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e") == "&ZeVnLIqe-");
    CHECK(utf8_to_mutf7("\xf0\x9f\x98\x80") == "&2D3eAA-");
    CHECK_FALSE(utf8_to_mutf7("bad \xc3").has_value());     // cut sequence
    CHECK_FALSE(utf8_to_mutf7("\xc0\xaf").has_value());     // overlong '/'
    CHECK_FALSE(utf8_to_mutf7("\xed\xa0\x80").has_value()); // an encoded surrogate
    for (const char *name : {"Sent Items", "Entw\xc3\xbcrfe/2024", "Post\xc3\xa9ingang & Co",
                             "\xe2\x82\xac-Rechnungen",
                             "a\xf0\x9f\x98\x80"
                             "b"}) {
        INFO(name);
        auto encoded = utf8_to_mutf7(name);
        REQUIRE(encoded.has_value());
        CHECK(mutf7_to_utf8(*encoded) == name);
    }
}
