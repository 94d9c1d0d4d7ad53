// The CSV import's tokenizer, line rules and planning, without a database.
#include "import/csv_import.hpp"
#include "import/csv_import_plan.hpp"
#include "import/csv_parser.hpp"
#include "import/migration_import.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

namespace {

const std::string hash = "{SHA512-CRYPT}$6$abcdefgh$0123456789";

// The only error of a one-file parse, as the command prints it.
std::string parse_error(const std::string &text, ImportOptions options = {}) {
    ParsedImport p = parse_import(text, options);
    REQUIRE(p.errors.size() == 1);
    CHECK(p.lines.empty());
    return p.errors[0].to_string("f.csv");
}

template <class T> T parse_one(const std::string &text, ImportOptions options = {}) {
    ParsedImport p = parse_import(text, options);
    INFO(text);
    REQUIRE(p.errors.empty());
    REQUIRE(p.lines.size() == 1);
    return std::get<T>(p.lines[0].record);
}

std::string account_line(const std::string &tail) {
    return "account; u@a.example; " + hash + tail;
}

} // namespace

TEST_CASE("csv: fields are split at the separator, trimmed and unquoted", "[unit][csv]") {
    auto f = split_csv_line("  a ;b;\t\"c;d\" ; \"say \"\"hi\"\"\";  \" keep \" ", ';');
    REQUIRE(f.ok);
    CHECK(f.fields == std::vector<std::string>{"a", "b", "c;d", "say \"hi\"", " keep "});
    CHECK(split_csv_line("a;;b", ';').fields == std::vector<std::string>{"a", "", "b"});
    CHECK(split_csv_line("a;b;;", ';').fields == std::vector<std::string>{"a", "b"});
    CHECK(split_csv_line("a;\"\"", ';').fields == std::vector<std::string>{"a", ""});
    CHECK(split_csv_line("a,\"b,c\",d", ',').fields == std::vector<std::string>{"a", "b,c", "d"});
    CHECK(split_csv_line("a\tb c", '\t').fields == std::vector<std::string>{"a", "b c"});
    CHECK(split_csv_line("x\"y;z", ';').fields == std::vector<std::string>{"x\"y", "z"});

    auto open = split_csv_line("a; \"b;c", ';');
    CHECK_FALSE(open.ok);
    CHECK(open.bad_field == 1);
    CHECK(open.error == "quoted field has no closing double quote");
    auto after = split_csv_line("a;b;\"c\"d;e", ';');
    CHECK_FALSE(after.ok);
    CHECK(after.bad_field == 2);
    CHECK(after.error ==
          "text after the closing double quote (write \"\" for a quote inside quotes)");
}

TEST_CASE("csv: line numbers count blank and comment lines", "[unit][csv]") {
    auto lines = record_lines("\xEF\xBB\xBF# header\r\n\r\ndomain;a\n   \n  # note\nx\n\ny");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].number == 3);
    CHECK(lines[0].text == "domain;a");
    CHECK(lines[1].number == 6);
    CHECK(lines[2].number == 8);
    CHECK(record_lines("").empty());
    CHECK(record_lines("\n\n#x\n").empty());

    ParsedImport p = parse_import("# exported\n\ndomain; a.example; 0; 0; yes\n\n# accounts\n"
                                  "account; u@a.example; secret; ; ; y; SimpleUsers; u@a.example\n",
                                  {});
    REQUIRE(p.errors.size() == 1);
    CHECK(p.lines.size() == 1);
    CHECK(p.lines[0].line == 3);
    CHECK(p.errors[0].to_string("f.csv") ==
          "f.csv:6: field password: expected {SCHEME}hash (for clear-text passwords use "
          "--crypt-passwords)");
}

TEST_CASE("csv: UTF-8 is validated", "[unit][csv]") {
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("J\xC3\xBCrgen \xE2\x82\xAC \xF0\x9F\x98\x80"));
    CHECK_FALSE(valid_utf8("\xFF"));
    CHECK_FALSE(valid_utf8("J\xFCrgen"));        // Latin-1
    CHECK_FALSE(valid_utf8("\xC0\xAF"));         // overlong '/'
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));     // surrogate
    CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xE2\x82"));         // truncated

    CHECK(parse_error("\n" + account_line("; J\xFCrgen; M; y; SimpleUsers; u@a.example")) ==
          "f.csv:2: field first name: not valid UTF-8 (the file must be UTF-8 encoded)");
    CHECK(parse_error("dom\xFF"
                      "ain; a.example; 0; 0; y") ==
          "f.csv:1: field type: not valid UTF-8 (the file must be UTF-8 encoded)");
    CHECK(parse_error(account_line("; A\x01; M; y; SimpleUsers; u@a.example")) ==
          "f.csv:1: field first name: contains control characters");
    auto a = parse_one<AccountRecord>(account_line("; \"J\xC3\xBCrgen\"; M\xC3\xBCller; y; "
                                                   "SimpleUsers; u@a.example"));
    CHECK(a.first_name == "J\xC3\xBCrgen");
    CHECK(a.last_name == "M\xC3\xBCller");
}

TEST_CASE("csv: line types and field counts", "[unit][csv]") {
    CHECK(parse_error("mailbox; a.example") ==
          "f.csv:1: field type: expected domain, domainalias, relaydomain, account or alias");
    CHECK(parse_error("domain; a.example; 0; 0") ==
          "f.csv:1: field enabled: missing (a domain line has 5 fields)");
    CHECK(parse_error("domain; a.example; 0; 0; y; extra") ==
          "f.csv:1: field 6: unexpected extra field (a domain line has 5 fields; quote a field "
          "that contains ';')");
    CHECK(parse_error("alias; x@a.example; y") ==
          "f.csv:1: field recipient: missing (a alias line has 4 or more fields)");
    CHECK(parse_error("account; u@a.example; " + hash + "; A; B; y") ==
          "f.csv:1: field group: missing (a account line has 7 or more fields)");
    CHECK(parse_error("domain; \"a.example; 0; 0; y") ==
          "f.csv:1: field name: quoted field has no closing double quote");
    CHECK(parse_one<DomainRecord>("DOMAIN; a.example; 0; 0; y;").name == "a.example");
}

TEST_CASE("csv: domains", "[unit][csv]") {
    auto d = parse_one<DomainRecord>("domain; Mail.Example.COM ; 1000; 100; Yes");
    CHECK(d.name == "mail.example.com");
    CHECK(d.quota_mb == 1000);
    CHECK(d.default_mailbox_quota_mb == 100);
    CHECK(d.enabled);
    CHECK(parse_one<DomainRecord>("domain;a.example;0;500;no").default_mailbox_quota_mb == 500);
    CHECK_FALSE(parse_one<DomainRecord>("domain;a.example;0;500;no").enabled);

    CHECK(parse_error("domain; not_a_domain; 0; 0; y") ==
          "f.csv:1: field name: expected a domain name (letters, digits, hyphens, at least one "
          "dot; IDNs in xn-- form)");
    CHECK(parse_error("domain; a.example; -1; 0; y") ==
          "f.csv:1: field quota: expected a non-negative integer (MB; 0 = no limit)");
    CHECK(parse_error("domain; a.example; 10MB; 0; y") ==
          "f.csv:1: field quota: expected a non-negative integer (MB; 0 = no limit)");
    CHECK(parse_error("domain; a.example; ; 0; y") ==
          "f.csv:1: field quota: expected a non-negative integer (MB; 0 = no limit)");
    CHECK(parse_error("domain; a.example; 99999999999999999999; 0; y") ==
          "f.csv:1: field quota: expected a non-negative integer (MB; 0 = no limit)");
    CHECK(parse_error("domain; a.example; 100; 1.5; y") ==
          "f.csv:1: field default mailbox quota: expected a non-negative integer (MB; 0 = no "
          "limit)");
    CHECK(parse_error("domain; a.example; 100; 200; y") ==
          "f.csv:1: field default mailbox quota: may not exceed the domain quota (100 MB)");
}

TEST_CASE("csv: booleans follow the seed", "[unit][csv]") {
    for (const char *t : {"true", "TRUE", "1", "yes", "Y", "y", "YeS"})
        CHECK(parse_import_bool(t));
    for (const char *f : {"false", "0", "no", "", "on", "2", "yess", "t"})
        CHECK_FALSE(parse_import_bool(f));
}

TEST_CASE("csv: domain aliases and relay domains", "[unit][csv]") {
    auto a = parse_one<DomainAliasRecord>("domainalias; Alias.Example; A.Example; 1");
    CHECK(a.name == "alias.example");
    CHECK(a.target == "a.example");
    CHECK(a.enabled);
    CHECK(parse_error("domainalias; a.example; a.example; y") ==
          "f.csv:1: field targeted domain: a domain alias cannot target itself");
    CHECK(parse_error("domainalias; b.example; bad domain; y") ==
          "f.csv:1: field targeted domain: expected a domain name (letters, digits, hyphens, at "
          "least one dot; IDNs in xn-- form)");

    auto r = parse_one<RelayDomainRecord>("relaydomain; r.example; MX.r.example; 2525; smtp; y; n");
    CHECK(r.name == "r.example");
    CHECK(r.target_host == "mx.r.example");
    CHECK(r.target_port == 2525);
    CHECK(r.service == "smtp");
    CHECK(r.enabled);
    CHECK_FALSE(r.verify_recipients);
    CHECK(parse_one<RelayDomainRecord>("relaydomain; r.example; 192.0.2.1; 25; relay; y; y")
              .verify_recipients);
    CHECK(parse_one<RelayDomainRecord>("relaydomain; r.example; [2001:db8::1]; 25; relay; y; y")
              .target_host == "[2001:db8::1]");
    CHECK(parse_one<RelayDomainRecord>("relaydomain; r.example; mailhub; 25; relay; y; y")
              .target_host == "mailhub");
    CHECK(parse_error("relaydomain; r.example; mx r; 25; relay; y; n") ==
          "f.csv:1: field target host: expected a host name or an IP address");
    CHECK(parse_error("relaydomain; r.example; mx.r.example; 0; relay; y; n") ==
          "f.csv:1: field target port: expected a port number from 1 to 65535");
    CHECK(parse_error("relaydomain; r.example; mx.r.example; 65536; relay; y; n") ==
          "f.csv:1: field target port: expected a port number from 1 to 65535");
    CHECK(parse_error("relaydomain; r.example; mx.r.example; 25; re lay; y; n") ==
          "f.csv:1: field service: expected a Postfix service name (letters, digits, - _ .), "
          "e.g. relay");
}

TEST_CASE("csv: accounts", "[unit][csv]") {
    auto a = parse_one<AccountRecord>("account; U@A.Example; " + hash +
                                      "; Ann; Lee; yes; SimpleUsers; u@a.example; 250");
    CHECK(a.username == "u@a.example");
    CHECK(a.password.reveal() == hash);
    CHECK(a.first_name == "Ann");
    CHECK(a.last_name == "Lee");
    CHECK(a.enabled);
    CHECK(a.role == AccountRole::simple_user);
    CHECK(a.address == "u@a.example");
    CHECK(a.quota_mb == 250);
    CHECK(parse_one<AccountRecord>(account_line("; ; ; n; simpleusers; u@a.example")).quota_mb ==
          std::nullopt);

    auto admin = parse_one<AccountRecord>("account; Admin; {ARGON2ID}$argon2id$v=19$x; ; ; y; "
                                          "SuperAdmins");
    CHECK(admin.username == "admin");
    CHECK(admin.role == AccountRole::super_admin);
    CHECK(admin.address.empty());

    auto da = parse_one<AccountRecord>(account_line("; ; ; y; DomainAdmins; ; ; A.example; "
                                                    "b.example; a.example"));
    CHECK(da.role == AccountRole::domain_admin);
    CHECK(da.address.empty());
    CHECK(da.domains == std::vector<std::string>{"a.example", "b.example"});
    CHECK(parse_one<AccountRecord>(account_line("; ; ; y; Resellers; boss@a.example; 0")).role ==
          AccountRole::reseller);
}

TEST_CASE("csv: bad accounts", "[unit][csv]") {
    CHECK(parse_error(account_line("; ; ; y; Users; u@a.example")) ==
          "f.csv:1: field group: expected SuperAdmins, DomainAdmins, Resellers or SimpleUsers");
    CHECK(parse_error(account_line("; ; ; y; SimpleUsers; v@a.example")) ==
          "f.csv:1: field address: a SimpleUsers account needs an address equal to its login "
          "name");
    CHECK(parse_error(account_line("; ; ; y; SimpleUsers")) ==
          "f.csv:1: field address: a SimpleUsers account needs an address equal to its login "
          "name");
    CHECK(parse_error(account_line("; ; ; y; SimpleUsers; u@a.example; 1; b.example")) ==
          "f.csv:1: field domain: only DomainAdmins and Resellers accounts administer domains");
    CHECK(parse_error(account_line("; ; ; y; DomainAdmins; ; 5")) ==
          "f.csv:1: field quota: an account without an address has no mailbox and takes no "
          "quota");
    CHECK(parse_error(account_line("; ; ; y; DomainAdmins; ; ; not a domain")) ==
          "f.csv:1: field domain: expected a domain name (letters, digits, hyphens, at least one "
          "dot; IDNs in xn-- form)");
    CHECK(parse_error(account_line("; ; ; y; DomainAdmins; x@; ")) ==
          "f.csv:1: field address: expected an address local@domain, or nothing for an account "
          "without a mailbox (domain is not a valid host name)");
    CHECK(parse_error(account_line("; ; ; y; SimpleUsers; u@a.example; lots")) ==
          "f.csv:1: field quota: expected a non-negative integer (MB; 0 = no limit)");
    CHECK(parse_error("account; a b; " + hash + "; ; ; y; SuperAdmins") ==
          "f.csv:1: field loginname: expected a login name: an address local@domain, or a name "
          "of letters, digits and . _ -");
}

TEST_CASE("csv: passwords are checked and never echoed", "[unit][csv]") {
    const std::string secret = "Sup3r-Secret-Pw";
    auto err = parse_error("account; u@a.example; " + secret + "; ; ; y; SimpleUsers; u@a.example");
    CHECK(err == "f.csv:1: field password: expected {SCHEME}hash (for clear-text passwords use "
                 "--crypt-passwords)");
    auto unknown = parse_error("account; u@a.example; {" + secret +
                               "}x; ; ; y; SimpleUsers; "
                               "u@a.example");
    CHECK(unknown == "f.csv:1: field password: expected {SCHEME}hash with a scheme `doveadm pw "
                     "-l` lists and a non-empty hash without control characters");
    CHECK(unknown.find(secret) == std::string::npos);
    CHECK(parse_error("account; u@a.example; {SHA512-CRYPT}; ; ; y; SimpleUsers; u@a.example")
              .find("field password: expected {SCHEME}hash with a scheme") != std::string::npos);
    for (const char *ok : {"{SHA512-CRYPT}$6$x$y", "{ssha512}abc", "{PLAIN}pw", "{SHA256.HEX}ab",
                           "{BLF-CRYPT}$2y$10$abc"})
        CHECK(parse_one<AccountRecord>("account; u@a.example; " + std::string(ok) +
                                       "; ; ; y; SimpleUsers; u@a.example")
                  .password.reveal() == ok);

    ImportOptions crypt{';', true};
    auto clear = parse_one<AccountRecord>(
        "account; u@a.example; \" " + secret + ";x\"; ; ; y; SimpleUsers; u@a.example", crypt);
    CHECK(clear.password.reveal() == " " + secret + ";x");
    CHECK(parse_error("account; u@a.example; \"\"; ; ; y; SimpleUsers; u@a.example", crypt) ==
          "f.csv:1: field password: expected a clear-text password of 1 to 1024 bytes without "
          "control characters (--crypt-passwords)");
}

TEST_CASE("csv: aliases", "[unit][csv]") {
    auto a = parse_one<AliasRecord>("alias; Info@A.example; y; Ann@a.example; ext@b.example; "
                                    "ann@A.example");
    CHECK(a.address == "info@a.example");
    CHECK(a.enabled);
    CHECK(a.recipients == std::vector<std::string>{"ann@a.example", "ext@b.example"});
    CHECK(parse_one<AliasRecord>("alias; @A.example; n; postmaster@a.example").address ==
          "@a.example");
    CHECK(parse_error("alias; @; y; x@a.example") ==
          "f.csv:1: field address: expected an address local@domain, or @domain for a "
          "catch-all");
    CHECK(parse_error("alias; info@a.example; y; x@a.example; ; y@a.example") ==
          "f.csv:1: field recipient: expected a recipient address local@domain (empty address)");
}

TEST_CASE("csv: a file lists every bad line", "[unit][csv]") {
    ParsedImport p = parse_import("domain; a.example; 0; 0; y\n"
                                  "domain; b..example; 0; 0; y\n"
                                  "\n"
                                  "alias; x@a.example; y; nobody\n"
                                  "domain; c.example; 1; 0; y\n",
                                  {});
    REQUIRE(p.errors.size() == 2);
    CHECK(p.errors[0].line == 2);
    CHECK(p.errors[0].field == "name");
    CHECK(p.errors[1].to_string("f") ==
          "f:4: field recipient: expected a recipient address local@domain (address has no "
          "@domain)");
    REQUIRE(p.lines.size() == 2);
    CHECK(p.lines[1].line == 5);
}

namespace {

ImportPlan plan(const std::string &text, ImportCatalog &cat, bool cont = false) {
    ParsedImport parsed = parse_import(text, {});
    REQUIRE(parsed.errors.empty());
    return plan_import(parsed, cat, cont);
}

std::vector<std::string> plan_errors(const std::string &text, ImportCatalog cat = {},
                                     bool cont = false) {
    std::vector<std::string> out;
    for (const auto &e : plan(text, cat, cont).errors)
        out.push_back(e.to_string("f"));
    return out;
}

} // namespace

TEST_CASE("plan: order matters and names must exist", "[unit][csv]") {
    const std::string good = "domain; a.example; 100; 10; y\n"
                             "domainalias; alias.example; a.example; y\n"
                             "relaydomain; r.example; mx.r.example; 25; relay; y; n\n"
                             "account; u@a.example; " +
                             hash +
                             "; ; ; y; SimpleUsers; u@a.example\n"
                             "account; boss; " +
                             hash +
                             "; ; ; y; DomainAdmins; ; ; a.example\n"
                             "alias; info@a.example; y; u@a.example; x@elsewhere.example\n"
                             "alias; all@a.example; y; info@a.example\n";
    ImportCatalog cat;
    ParsedImport parsed = parse_import(good, {});
    REQUIRE(parsed.errors.empty());
    ImportPlan p = plan_import(parsed, cat, false);
    CHECK(p.errors.empty());
    CHECK(p.steps.size() == 7);
    CHECK(p.counts[0].created == 1);
    CHECK(p.counts[3].created == 2);
    CHECK(p.counts[4].created == 2);
    CHECK(std::get<AccountRecord>(parsed.lines[3].record).quota_mb == 10); // the domain default

    CHECK(plan_errors("account; u@a.example; " + hash +
                      "; ; ; y; SimpleUsers; u@a.example\n"
                      "domain; a.example; 0; 0; y\n") ==
          std::vector<std::string>{"f:1: field address: domain a.example does not exist (create "
                                   "it in the database or earlier in the file)"});
    CHECK(plan_errors("domainalias; b.example; a.example; y") ==
          std::vector<std::string>{"f:1: field targeted domain: domain a.example does not exist "
                                   "(create it in the database or earlier in the file)"});
    CHECK(plan_errors("domain; a.example; 0; 0; y\naccount; boss; " + hash +
                      "; ; ; y; DomainAdmins; ; ; a.example; b.example") ==
          std::vector<std::string>{"f:2: field domain: domain b.example does not exist (create "
                                   "it in the database or earlier in the file)"});
    CHECK(plan_errors("domain; a.example; 0; 0; y\nalias; x@a.example; y; nobody@a.example") ==
          std::vector<std::string>{"f:2: field recipient: nobody@a.example is in the local domain "
                                   "a.example but is neither a mailbox nor an alias (create it "
                                   "in the database or earlier in the file)"});
    CHECK(plan_errors("alias; x@b.example; y; u@c.example") ==
          std::vector<std::string>{"f:1: field address: domain b.example does not exist (create "
                                   "it in the database or earlier in the file)"});
}

TEST_CASE("plan: existing objects are errors unless --continue-if-exists", "[unit][csv]") {
    ImportCatalog db;
    db.domains["a.example"] = {0, 0, 5};
    db.usernames["u@a.example"] = 0;
    db.addresses["u@a.example"] = "u@a.example";
    db.aliases["info@a.example"] = {0, {"u@a.example"}};
    db.domain_aliases["alias.example"] = 0;
    const std::string text = "domain; a.example; 0; 0; y\n"
                             "account; u@a.example; " +
                             hash +
                             "; ; ; y; SimpleUsers; u@a.example\n"
                             "alias; info@a.example; y; u@a.example; ext@b.example\n"
                             "domainalias; alias.example; a.example; y\n"
                             "domain; b.example; 0; 0; y\n"
                             "domain; b.example; 0; 0; y\n";
    CHECK(plan_errors(text, db) ==
          std::vector<std::string>{
              "f:1: field name: domain a.example already exists in the database "
              "(--continue-if-exists skips existing objects)",
              "f:2: field loginname: account u@a.example already exists in the database "
              "(--continue-if-exists skips existing objects)",
              "f:3: field address: alias info@a.example already exists in the database "
              "(--continue-if-exists skips existing objects)",
              "f:4: field name: domain alias alias.example already exists in the database "
              "(--continue-if-exists skips existing objects)",
              "f:6: field name: domain b.example already exists on line 5 "
              "(--continue-if-exists skips existing objects)"});

    ImportCatalog cat = db;
    ImportPlan p = plan(text, cat, true);
    CHECK(p.errors.empty());
    CHECK(p.counts[0].created == 1);
    CHECK(p.counts[0].skipped == 2);
    CHECK(p.counts[3].skipped == 1);
    CHECK(p.counts[4].merged == 1);
    REQUIRE(p.steps.size() == 6);
    CHECK(p.steps[2].action == PlannedAction::merge);
    CHECK(p.steps[2].added_recipients == std::vector<std::string>{"ext@b.example"});
    CHECK(cat.aliases["info@a.example"].recipients.size() == 2);
}

TEST_CASE("plan: a name is a domain, a domain alias or a relay domain", "[unit][csv]") {
    CHECK(
        plan_errors("domain; a.example; 0; 0; y\n"
                    "domain; b.example; 0; 0; y\n"
                    "domainalias; a.example; b.example; y\n"
                    "domainalias; c.example; b.example; y\n"
                    "relaydomain; c.example; mx.example; 25; relay; y; n\n"
                    "domain; c.example; 0; 0; y\n") ==
        std::vector<std::string>{"f:3: field name: a.example is already a domain on line 1",
                                 "f:5: field name: c.example is already a domain alias on line 4",
                                 "f:6: field name: c.example is already a domain alias on line 4"});
}

TEST_CASE("plan: accounts created with hashes Dovecot 2.4 calls weak are named", "[unit][csv]") {
    ImportCatalog db;
    db.domains["a.example"] = {0, 0, 0};
    db.usernames["old@a.example"] = 0;
    const std::string text = "account; ann@a.example; {MD5-CRYPT}$1$s$h; ; ; y; SimpleUsers; "
                             "ann@a.example\n"
                             "account; bob@a.example; " +
                             hash +
                             "; ; ; y; SimpleUsers; bob@a.example\n"
                             "account; cat; {crypt}ab01234567890; ; ; n; SuperAdmins\n"
                             "account; old@a.example; {PLAIN-MD5}0123456789abcdef0123456789abcdef; "
                             "; ; y; SimpleUsers; old@a.example\n"
                             "account; dan; {CRYPT}$6$s$h; ; ; y; SuperAdmins\n";
    ParsedImport parsed = parse_import(text, {});
    REQUIRE(parsed.errors.empty());
    ImportPlan p = plan_import(parsed, db, true);
    REQUIRE(p.errors.empty());
    // old@a.example exists and is skipped: its stored password is not the file's.
    CHECK(weak_password_accounts(parsed, p) == std::vector<std::string>{"ann@a.example", "cat"});
}

TEST_CASE("migrations csv: lines are parsed without echoing passwords", "[unit][csv]") {
    auto p = parse_migration_lines("# address; old login; old password\n"
                                   "Ann@New.example; ann@Old.example; \"pw;with;semis\"\n"
                                   "\n"
                                   "bob@new.example; bob@old.example\n"
                                   "x@new.example; nope; Secret-1\n"
                                   "y@new.example; y@old.example; \"\"\n"
                                   "z@new.example; z@old.example; a; b\n",
                                   ';');
    REQUIRE(p.lines.size() == 1);
    CHECK(p.lines[0].line == 2);
    CHECK(p.lines[0].address.str() == "ann@new.example");
    CHECK(p.lines[0].old_login.str() == "ann@old.example");
    CHECK(p.lines[0].old_password.reveal() == "pw;with;semis");
    std::vector<std::string> errs;
    for (const auto &e : p.errors)
        errs.push_back(e.to_string("m.csv"));
    CHECK(errs == std::vector<std::string>{
                      "m.csv:4: field old password: missing (a line has 3 fields: address; old "
                      "login; old password)",
                      "m.csv:5: field old login: expected the login at the old provider, "
                      "local@domain (address has no @domain)",
                      "m.csv:6: field old password: expected a password of 1 to 1024 bytes "
                      "without control characters",
                      "m.csv:7: field 4: unexpected extra field (a line has 3 fields: address; "
                      "old login; old password)"});
}
