// A first login is a first login whatever the protocol: POP3, and SMTP AUTH through Dovecot's
// auth socket (as Postfix's smtpd_sasl_type = dovecot asks it), create the account and the
// migration exactly as an IMAP login does.
#include "migration_env.hpp"
#include "pop3_client.hpp"
#include "process.hpp"

#include "catch_compat.hpp"

#include <string>

using namespace testsupport;

namespace {

MigrationEnvOptions with_pop3(int pop3_port) {
    MigrationEnvOptions o;
    o.new_dovecot_config =
        "protocols = imap pop3\n"
        "service pop3-login {\n  inet_listener pop3 {\n    port = " +
        std::to_string(pop3_port) + "\n  }\n  inet_listener pop3s {\n    port = 0\n  }\n}\n" +
        (dovecot_24() ? "pop3_uidl_format = %{uid | hex(8)}%{uidvalidity | hex(8)}\n"
                      : "pop3_uidl_format = %08Xu%08Xv\n");
    return o;
}

} // namespace

TEST_CASE("a first login over POP3 creates the account and the migration",
          "[integration][login][protocols]") {
    const int pop3_port = free_tcp_port();
    MigrationEnv env(with_pop3(pop3_port));
    env.start_new_dovecot();
    Pop3Client c(pop3_port);
    CHECK(c.greeting().rfind("+OK", 0) == 0);
    CHECK(c.command("USER " + bob).rfind("+OK", 0) == 0);
    const std::string pass = c.command("PASS " + bob_pw);
    INFO(env.new_log());
    CHECK(pass.rfind("+OK", 0) == 0);
    CHECK(c.command("STAT").rfind("+OK 0 0", 0) == 0); // the new, empty mailbox (immediate)
    c.command("QUIT");
    CHECK(env.sql("SELECT count(*) FROM migrations m JOIN accounts a ON a.id = m.account_id "
                  "WHERE a.username = '" +
                  bob + "' AND m.state = 'pending'") == "1");
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("a first login by SMTP AUTH through the auth socket creates the account and the "
          "migration",
          "[integration][login][protocols]") {
    MigrationEnv env;
    env.start_new_dovecot();
    // doveadm speaks the auth-client protocol on Dovecot's auth socket, as Postfix's smtpd does
    // with smtpd_sasl_type = dovecot, and names the service as it would.
    auto r = env.new_dovecot().doveadm({"auth", "test", "-x", "service=smtp", carol, carol_pw});
    INFO(r.out + r.err);
    CHECK(r.exit_code == 0);
    CHECK(env.sql("SELECT count(*) FROM migrations m JOIN accounts a ON a.id = m.account_id "
                  "WHERE a.username = '" +
                  carol + "'") == "1");
    // The next SMTP AUTH is the SQL passdb's, with the local hash.
    CHECK(env.new_dovecot()
              .doveadm({"auth", "test", "-x", "service=smtp", carol, carol_pw})
              .exit_code == 0);
    CHECK(env.new_dovecot()
              .doveadm({"auth", "test", "-x", "service=smtp", carol, "wrong"})
              .exit_code != 0);
    CHECK(env.count("migrations") == 1);
}
