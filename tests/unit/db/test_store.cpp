// The blocking store's pieces that need no server: conninfo redaction.
#include "db/store.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

TEST_CASE("redact_conninfo masks every password form libpq accepts", "[unit]") {
    const std::string kv = redact_conninfo("host=db.example port=5433 dbname=mail user=mail "
                                           "password=Kv-Secret");
    CHECK(kv.find("Kv-Secret") == std::string::npos);
    CHECK(kv.find("password=***") != std::string::npos);
    CHECK(kv.find("host=db.example") != std::string::npos);
    CHECK(kv.find("dbname=mail") != std::string::npos);

    const std::string quoted = redact_conninfo("host=db password='Quoted Secret' user=x");
    CHECK(quoted.find("Quoted") == std::string::npos);
    CHECK(quoted.find("Secret") == std::string::npos);
    CHECK(quoted.find("user=x") != std::string::npos);

    const std::string uri = redact_conninfo("postgresql://mail:Uri-Secret@db.example:5433/mail");
    CHECK(uri.find("Uri-Secret") == std::string::npos);
    CHECK(uri.find("db.example") != std::string::npos);

    const std::string query = redact_conninfo("postgresql://db.example/mail?password=Query-Secret");
    CHECK(query.find("Query-Secret") == std::string::npos);

    const std::string ssl = redact_conninfo("host=db sslpassword=Ssl-Secret");
    CHECK(ssl.find("Ssl-Secret") == std::string::npos);
}

TEST_CASE("redact_conninfo keeps values readable and shows nothing of an unparsable one",
          "[unit]") {
    CHECK(redact_conninfo("host=/run/postgresql dbname=mail") ==
          "dbname=mail host=/run/postgresql");
    CHECK(redact_conninfo("host=db application_name='a b'").find("application_name='a b'") !=
          std::string::npos);
    const std::string bad = redact_conninfo("host=db password='Never-Closed");
    CHECK(bad.find("Never-Closed") == std::string::npos);
    CHECK(bad.find("host") == std::string::npos);
}
