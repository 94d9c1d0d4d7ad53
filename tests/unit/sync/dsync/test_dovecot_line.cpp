#include "sync/dsync/dovecot_line.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

TEST_CASE("the Dovecot line is read from the config's first setting", "[unit][dsync]") {
    const DovecotLine debian13 = dovecot_line_of_config("# Debian's dovecot.conf\n\n"
                                                        "dovecot_config_version = 2.4.0\n"
                                                        "dovecot_storage_version = 2.4.0\n"
                                                        "!include conf.d/*.conf\n");
    CHECK(debian13.is_24());
    CHECK(debian13.config_version == "2.4.0");
    CHECK(dovecot_line_of_config("  dovecot_config_version=\"2.4.1\"\r\n").config_version ==
          "2.4.1");

    const DovecotLine debian12 =
        dovecot_line_of_config("## Dovecot configuration file\n"
                               "!include_try /usr/share/dovecot/protocols.d/*.protocol\n"
                               "dovecot_config_version = 2.4.0\n");
    CHECK_FALSE(debian12.is_24()); // only the FIRST setting counts, as on 2.4 itself
    CHECK_FALSE(dovecot_line_of_config("").is_24());
    CHECK_FALSE(dovecot_line_of_config("protocols = imap\n").is_24());
}

TEST_CASE("the dsync run config is spelled for the line", "[unit][dsync]") {
    const DovecotLine v23;
    const DovecotLine v24{"2.4.0"};
    CHECK(v23.run_config_header().empty());
    CHECK(v24.run_config_header() == "dovecot_config_version = 2.4.0\n");
    CHECK(v23.verify_certificate_setting(true) == "imapc_ssl_verify = yes\n");
    CHECK(v24.verify_certificate_setting(false) == "ssl_client_require_valid_cert = no\n");
    CHECK(v23.imapc_mail_overrides() == std::vector<std::string>{"-o", "mail_location=imapc:"});
    CHECK(v24.imapc_mail_overrides() ==
          std::vector<std::string>{"-o", "mail_driver=imapc", "-o", "mail_path="});
    CHECK(v23.imapc_features_setting().empty());
    CHECK(v24.imapc_features_setting() == "imapc_features = no-modseq no-metadata\n");
    CHECK(v23.folders_pass_adopts_uidvalidity());
    CHECK_FALSE(v24.folders_pass_adopts_uidvalidity());
    CHECK(v23.rejected_login_status() == 134);
    CHECK(v24.rejected_login_status() == 77);
}

TEST_CASE("an unreadable server config is a config error", "[unit][dsync]") {
    auto line = read_dovecot_line("/nonexistent/dovecot.conf");
    REQUIRE_FALSE(line);
    CHECK_THAT(line.error().message, Catch::Contains("/nonexistent/dovecot.conf"));
}
