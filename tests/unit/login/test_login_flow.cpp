// LoginFlow's decisions with a scripted store and provider checks held by hand: the order of
// the steps, the limits, the slot, the races, shutdown, and exceptions in any continuation.
#include "fake_login_store.hpp"

#include "crypto/passwords.hpp"
#include "db/migrations_table.hpp"
#include "login/client_key.hpp"
#include "loop/poll_loop.hpp"

#include "catch_compat.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace imapmig;
using namespace fakes;
using namespace std::chrono_literals;

namespace {

const std::string bob = "bob@other.example";
const std::string bob_pw = "B0b-0ld-Secret#";
const std::string alice = "alice@old.example"; // old.example is renamed to new.example
const std::string carol = "carol@other.example";

Config test_config() {
    Config c;
    c.database = "unused by the fake store";
    c.accounts.password_scheme = "SHA512-CRYPT"; // cheap
    c.login_protection.max_failures_per_ip = 10;
    c.login_protection.max_failures_per_user = 5;
    c.login_protection.failure_window_seconds = 900;
    c.login_protection.slot_wait_seconds = 1;
    ProviderConfig p;
    p.name = "oldmail";
    p.host = "imap.old.example";
    p.port = 993;
    p.timeout_seconds = 1;
    p.max_connections = 2;
    p.domains = {{"old.example", "new.example"}, {"other.example", "other.example"}};
    c.providers.push_back(p);
    return c;
}

KeyRing test_keys() {
    std::array<unsigned char, secret_key_bytes> bytes{};
    bytes.fill(7);
    return KeyRing::from_keys({make_secret_key(bytes)});
}

struct Harness {
    Config config = test_config();
    KeyRing keys = test_keys();
    PollLoop loop;
    FakeStore store;
    HeldChecks host;
    std::optional<LoginFlow> flow;
    std::map<std::string, std::vector<LoginDecision>> answers;

    LoginFlow &make() {
        flow.emplace(config, keys, loop, host, store);
        return *flow;
    }
    void start(const std::string &user, const std::string &pw = bob_pw,
               const std::string &ip = "192.0.2.7") {
        if (!flow)
            make();
        flow->start({user, SecretString(pw), ip},
                    [this, user](LoginDecision d) { answers[user].push_back(std::move(d)); });
    }
    const LoginDecision &only_answer(const std::string &user) {
        REQUIRE(answers[user].size() == 1);
        return answers[user].front();
    }
    // Runs the loop until pred holds (timers: the pauses between retries).
    bool run_until(std::function<bool()> pred, std::chrono::milliseconds limit = 3000ms) {
        bool over = false;
        auto timer = loop.after(limit, [&] { over = true; });
        loop.run_until([&] { return over || pred(); });
        return pred();
    }
    // A new login for user taken up to the provider check.
    void up_to_check(const std::string &user) {
        start(user);
        FakeStore::answer(store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        FakeStore::answer(store.reserves, Result<Reservation>(FakeStore::reserved()));
        FakeStore::answer(store.slots,
                          Result<std::optional<HeldSlot>>(std::optional<HeldSlot>(HeldSlot{1, 1})));
        REQUIRE(host.held.count(user) == 1);
    }
};

Result<std::optional<CreatedAccount>> created(std::optional<std::string> migration,
                                              bool domain_created = false) {
    return std::optional<CreatedAccount>(CreatedAccount{true, domain_created, migration});
}

} // namespace

TEST_CASE("LoginFlow: lookup, reservation, slot, check, then one creating statement", "[unit]") {
    Harness h;
    h.up_to_check(bob);
    CHECK(h.store.calls ==
          std::vector<std::string>{"find_account", "reserve_check", "acquire_slot"});
    // The reservation is made for this client's counters, before anything reaches the provider.
    REQUIRE(h.store.reserved_limits.size() == 1);
    CHECK(h.store.reserved_limits[0].ip == "192.0.2.7");
    CHECK(h.store.reserved_limits[0].ip_limit == 10);
    CHECK(h.store.reserved_limits[0].login == bob);
    CHECK(h.store.reserved_limits[0].login_limit == 5);
    CHECK(h.store.reserved_limits[0].window_seconds == 900);

    h.host.answer(bob, CheckOutcome::accepted, "OK");
    // The slot goes back first, the reservation is given back as accepted, then the account.
    CHECK(h.store.calls == std::vector<std::string>{"find_account", "reserve_check", "acquire_slot",
                                                    "release_slot", "end_check", "create_account"});
    CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::accepted});
    REQUIRE(h.store.created.size() == 1);
    const NewAccount &a = h.store.created[0];
    CHECK(a.local_address == bob);
    CHECK(a.old_login == bob);
    CHECK(a.provider == "oldmail");
    CHECK(verify_password(a.password_hash, SecretString(bob_pw)).value());
    CHECK(a.sealed_secret.find(bob_pw) == std::string::npos);
    CHECK(h.answers.empty());

    FakeStore::answer(h.store.creates, created("42", true));
    const LoginDecision &d = h.only_answer(bob);
    CHECK(d.outcome == LoginOutcome::ok);
    CHECK(d.message == "created domain other.example, account bob@other.example and migration "
                       "42 from provider oldmail (imap.old.example:993)");
    CHECK(d.new_user.empty());
    CHECK(h.flow->in_flight() == 0);
}

TEST_CASE("LoginFlow: a renamed domain's login continues under the local address", "[unit]") {
    Harness h;
    h.up_to_check(alice);
    h.host.answer(alice, CheckOutcome::accepted);
    REQUIRE(h.store.created.size() == 1);
    CHECK(h.store.created[0].local_address == "alice@new.example");
    CHECK(h.store.created[0].local_domain == "new.example");
    CHECK(h.store.created[0].old_login == alice);
    FakeStore::answer(h.store.creates, created("7"));
    CHECK(h.only_answer(alice).outcome == LoginOutcome::ok);
    CHECK(h.only_answer(alice).new_user == "alice@new.example");
}

TEST_CASE("LoginFlow: the limits come before the slot and the provider", "[unit]") {
    Harness h;
    SECTION("refused for the remote IP: first refusal at info, no slot, no check") {
        h.start(bob);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        FakeStore::answer(h.store.reserves,
                          Result<Reservation>(FakeStore::verdict(Reservation::Verdict::refused,
                                                                 LimitKind::ip, true)));
        const LoginDecision &d = h.only_answer(bob);
        CHECK(d.outcome == LoginOutcome::password_mismatch);
        CHECK(d.level == LogLevel::info);
        CHECK(d.message == "refused without asking provider oldmail (imap.old.example:993): too "
                           "many rejected logins for this remote IP in the last 900 s");
    }
    SECTION("refused for the login: repeats at debug") {
        h.start(bob);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        FakeStore::answer(h.store.reserves,
                          Result<Reservation>(FakeStore::verdict(Reservation::Verdict::refused,
                                                                 LimitKind::login, false)));
        const LoginDecision &d = h.only_answer(bob);
        CHECK(d.outcome == LoginOutcome::password_mismatch);
        CHECK(d.level == LogLevel::debug);
        CHECK(d.message.find("too many rejected logins for this login") != std::string::npos);
    }
    SECTION("busy: asks again after a pause, then goes on") {
        h.start(bob);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::verdict(
                                                Reservation::Verdict::busy, LimitKind::login)));
        CHECK(h.store.reserves.empty());
        REQUIRE(h.run_until([&] { return !h.store.reserves.empty(); }));
        FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::reserved()));
        CHECK(h.store.slots.size() == 1);
        CHECK(h.answers.empty());
    }
    SECTION("busy until the deadline: a temporary failure, nothing to give back") {
        h.config.login_protection.slot_wait_seconds = 0;
        h.config.providers[0].timeout_seconds = 0;
        h.start(bob);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::verdict(
                                                Reservation::Verdict::busy, LimitKind::ip)));
        const LoginDecision &d = h.only_answer(bob);
        CHECK(d.outcome == LoginOutcome::temporary_failure);
        CHECK(d.message.find("checks for this remote IP") != std::string::npos);
        CHECK(h.store.ended.empty());
    }
    SECTION("no limits configured: straight to the slot") {
        h.config.login_protection.max_failures_per_ip = 0;
        h.config.login_protection.max_failures_per_user = 0;
        h.start(bob);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        CHECK(h.store.reserves.empty());
        CHECK(h.store.slots.size() == 1);
    }
    CHECK(h.host.checks == 0);
    CHECK(h.store.slots_released == 0);
}

TEST_CASE("LoginFlow: rejections count, temporary failures never do", "[unit]") {
    Harness h;
    h.up_to_check(bob);
    SECTION("rejected: answered once the rejection counts") {
        h.host.answer(bob, CheckOutcome::rejected, "NO [AUTHENTICATIONFAILED]");
        CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::rejected});
        CHECK(h.answers.empty());
        FakeStore::answer(h.store.ends, Result<bool>(true));
        const LoginDecision &d = h.only_answer(bob);
        CHECK(d.outcome == LoginOutcome::password_mismatch);
        CHECK(d.message.find("rejected the credentials (NO [AUTHENTICATIONFAILED])") !=
              std::string::npos);
    }
    SECTION("rejected, and the count cannot be written: a temporary failure") {
        h.host.answer(bob, CheckOutcome::rejected);
        FakeStore::answer(h.store.ends, Result<bool>(temporary_error("connection lost")));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::temporary_failure);
        CHECK(h.only_answer(bob).message == "connection lost");
    }
    SECTION("temporary: the reservation is given back") {
        h.host.answer(bob, CheckOutcome::temporary, "timed out");
        CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::void_});
        CHECK(h.only_answer(bob).outcome == LoginOutcome::temporary_failure);
        CHECK(h.only_answer(bob).message == "provider oldmail (imap.old.example:993): timed out");
    }
    CHECK(h.store.slots_released == 1);
    CHECK(h.store.created.empty());
}

TEST_CASE("LoginFlow: no slot within slot_wait_seconds gives up without asking", "[unit]") {
    Harness h;
    h.start(bob);
    FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
    FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::reserved()));
    // Every slot busy: it asks again after pauses, until the second is over.
    const auto started = std::chrono::steady_clock::now();
    while (h.answers.empty()) {
        REQUIRE(h.run_until([&] { return !h.store.slots.empty(); }));
        FakeStore::answer(h.store.slots, Result<std::optional<HeldSlot>>(std::nullopt));
    }
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= 700ms);
    CHECK(waited < 6s); // gave up: not much more than the second, with room for a loaded machine
    const LoginDecision &d = h.only_answer(bob);
    CHECK(d.outcome == LoginOutcome::temporary_failure);
    CHECK(d.message == "provider oldmail (imap.old.example:993): all 2 connections busy "
                       "(max_connections); try again later");
    CHECK(h.host.checks == 0);
    // Never reached the provider: the reservation does not count.
    CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::void_});
    CHECK(h.store.slots_released == 0);
}

TEST_CASE("LoginFlow: a domain created concurrently is found by one more try", "[unit]") {
    Harness h;
    h.up_to_check(bob);
    h.host.answer(bob, CheckOutcome::accepted);
    FakeStore::answer(h.store.creates, Result<std::optional<CreatedAccount>>(std::nullopt));
    REQUIRE(h.store.created.size() == 2); // tried again
    SECTION("found") {
        FakeStore::answer(h.store.creates, created("9"));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::ok);
        CHECK(h.only_answer(bob).message.find("created account bob@other.example") == 0);
    }
    SECTION("still missing: a temporary failure, no third try") {
        FakeStore::answer(h.store.creates, Result<std::optional<CreatedAccount>>(std::nullopt));
        CHECK(h.store.created.size() == 2);
        CHECK(h.only_answer(bob).outcome == LoginOutcome::temporary_failure);
        CHECK(h.only_answer(bob).message == "domain other.example could not be created nor found");
    }
}

TEST_CASE("LoginFlow: without auto_create_domains a missing domain is not retried", "[unit]") {
    Harness h;
    h.config.accounts.auto_create_domains = false;
    h.up_to_check(bob);
    h.host.answer(bob, CheckOutcome::accepted);
    CHECK_FALSE(h.store.created.at(0).may_create_domain);
    FakeStore::answer(h.store.creates, Result<std::optional<CreatedAccount>>(std::nullopt));
    CHECK(h.store.created.size() == 1);
    CHECK(h.only_answer(bob).outcome == LoginOutcome::temporary_failure);
    CHECK(h.only_answer(bob).message.find("accounts.auto_create_domains is off") !=
          std::string::npos);
}

TEST_CASE("LoginFlow: concurrent first logins of one user", "[unit]") {
    Harness h;
    SECTION("the account created by the other: this one's migration is looked up") {
        h.up_to_check(bob);
        h.host.answer(bob, CheckOutcome::accepted);
        FakeStore::answer(h.store.creates, created(std::nullopt));
        REQUIRE(h.store.migrations.size() == 1);
        SECTION("it is ours") {
            FakeStore::answer(h.store.migrations,
                              Result<std::optional<std::string>>(std::optional<std::string>("5")));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::ok);
            CHECK(h.only_answer(bob).message ==
                  "account bob@other.example and migration 5 were created by a concurrent "
                  "login");
        }
        SECTION("it is not") {
            FakeStore::answer(h.store.migrations, Result<std::optional<std::string>>(std::nullopt));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::user_unknown);
        }
    }
    SECTION("the account committed before the lookup: the stored hash decides") {
        const std::string hash = hash_password("SHA512-CRYPT", SecretString(bob_pw)).value();
        SECTION("right password") {
            h.start(bob);
            FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(StoredAccount{
                                                 hash, true, true, "oldmail", false, false}));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::ok);
            CHECK(h.only_answer(bob).message ==
                  "account bob@other.example was just created or its password updated by a "
                  "concurrent login");
        }
        SECTION("wrong password, migration finished") {
            h.start(bob, "not-it");
            FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(StoredAccount{
                                                 hash, true, true, "oldmail", true, false}));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::password_mismatch);
        }
        SECTION("an account that is not a migration of ours: the local passdb decides") {
            h.start(bob);
            FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(StoredAccount{
                                                 hash, true, false, "", false, false}));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::user_unknown);
        }
        CHECK(h.store.reserves.empty());
        CHECK(h.host.checks == 0);
    }
    SECTION("two logins in flight at once keep their own state") {
        h.up_to_check(bob);
        h.up_to_check(carol);
        h.host.answer(carol, CheckOutcome::rejected);
        h.host.answer(bob, CheckOutcome::accepted);
        FakeStore::answer(h.store.ends, Result<bool>(true)); // carol's rejection
        FakeStore::answer(h.store.creates, created("1"));
        CHECK(h.only_answer(carol).outcome == LoginOutcome::password_mismatch);
        CHECK(h.only_answer(bob).outcome == LoginOutcome::ok);
    }
}

TEST_CASE("LoginFlow: shutdown answers every login in flight once", "[unit]") {
    Harness h;
    h.up_to_check(bob); // holds a slot and a reservation
    h.start(carol);     // waiting for its lookup
    h.flow->shutdown("auth process shutting down");
    for (const std::string &user : {bob, carol}) {
        CHECK(h.only_answer(user).outcome == LoginOutcome::temporary_failure);
        CHECK(h.only_answer(user).message == "auth process shutting down");
    }
    CHECK(h.store.slots_released == 1);
    CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::void_});
    CHECK(h.flow->in_flight() == 0);
    // What was under way answers later, and answers nothing again.
    h.host.answer(bob, CheckOutcome::accepted);
    FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
    CHECK(h.answers[bob].size() == 1);
    CHECK(h.answers[carol].size() == 1);
    CHECK(h.store.created.empty());
}

TEST_CASE("LoginFlow: an exception in any continuation answers the login once, temporarily",
          "[unit]") {
    const std::string where =
        GENERATE(as<std::string>{}, "find_account", "reserve_check", "acquire_slot", "check",
                 "release_slot", "end_check", "offload", "create_account", "find_migration");
    INFO("throws in " << where);
    Harness h;
    if (where == "check" || where == "offload")
        h.host.throw_on = where;
    else
        h.store.throw_on = where;
    h.start(bob);
    // Walk the login as far as it goes, answering whatever waits.
    for (int step = 0; step < 12 && h.answers[bob].empty(); ++step) {
        if (!h.store.finds.empty())
            FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
        else if (!h.store.reserves.empty())
            FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::reserved()));
        else if (!h.store.slots.empty())
            FakeStore::answer(h.store.slots, Result<std::optional<HeldSlot>>(
                                                 std::optional<HeldSlot>(HeldSlot{0, 1})));
        else if (h.host.held.count(bob) == 1)
            h.host.answer(bob, CheckOutcome::accepted);
        else if (!h.store.creates.empty())
            FakeStore::answer(h.store.creates, created(std::nullopt)); // -> find_migration
        else if (!h.store.migrations.empty())
            FakeStore::answer(h.store.migrations,
                              Result<std::optional<std::string>>(std::optional<std::string>("3")));
    }
    const LoginDecision &d = h.only_answer(bob);
    CHECK(d.outcome == LoginOutcome::temporary_failure);
    CHECK(d.level == LogLevel::error);
    CHECK(d.message.find("internal error: ") == 0);
    CHECK(d.message.find("broke in " + where) != std::string::npos);
    CHECK(h.flow->in_flight() == 0);
    // Replies still owed arrive later and answer nothing.
    while (!h.store.ends.empty())
        FakeStore::answer(h.store.ends, Result<bool>(true));
    for (auto &[login, done] : std::map(h.host.held))
        h.host.answer(login, CheckOutcome::accepted);
    CHECK(h.answers[bob].size() == 1);
}

TEST_CASE("LoginFlow: IPv6 clients are limited per /64, IPv4 per address", "[unit]") {
    Harness h;
    for (const std::string ip :
         {"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2:abcd::9"}) {
        h.start(bob, bob_pw, ip);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
    }
    REQUIRE(h.store.reserved_limits.size() == 3);
    for (const CheckLimits &l : h.store.reserved_limits)
        CHECK(l.ip == "2001:db8:1:2::/64");
    h.config.login_protection.ipv6_prefix_length = 128;
    h.start(carol, bob_pw, "2001:db8:1:2::1");
    FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(std::nullopt));
    CHECK(h.store.reserved_limits.back().ip == "2001:db8:1:2::1/128");
}

TEST_CASE("remote_ip_limit_key: one counter per IPv6 network of the prefix", "[unit]") {
    CHECK(remote_ip_limit_key("", 64) == "");
    CHECK(remote_ip_limit_key("192.0.2.7", 64) == "192.0.2.7");
    CHECK(remote_ip_limit_key("::ffff:192.0.2.7", 64) == "192.0.2.7");
    CHECK(remote_ip_limit_key("2001:db8:aa:bb:1:2:3:4", 64) == "2001:db8:aa:bb::/64");
    CHECK(remote_ip_limit_key("2001:DB8:AA:BB::5", 64) == "2001:db8:aa:bb::/64");
    CHECK(remote_ip_limit_key("2001:db8:aa:bc::5", 64) !=
          remote_ip_limit_key("2001:db8:aa:bb::5", 64));
    // A /56 holds 256 /64s; a prefix that ends inside a byte keeps only its bits.
    CHECK(remote_ip_limit_key("2001:db8:aa:bc::5", 56) == "2001:db8:aa::/56");
    CHECK(remote_ip_limit_key("2001:db8:aa:ff::5", 52) == "2001:db8:aa::/52");
    CHECK(remote_ip_limit_key("2001:db8:aa:1fff::5", 52) == "2001:db8:aa:1000::/52");
    CHECK(remote_ip_limit_key("2001:db8::1", 128) == "2001:db8::1/128");
    CHECK(remote_ip_limit_key("not an address", 64) == "not an address");
}

namespace {

const std::string bob_new_pw = "B0b-New-Secret!";

// bob's account of ours, its local hash made from bob_pw (the password before the change).
StoredAccount bobs_account(bool finished = false, bool proxied = false,
                           std::string provider = "oldmail") {
    StoredAccount a;
    a.password_hash = hash_password("SHA512-CRYPT", SecretString(bob_pw)).value();
    a.enabled = true;
    a.ours = true;
    a.provider = std::move(provider);
    a.finished = finished;
    a.proxied = proxied;
    return a;
}

Result<std::optional<UpdatedPassword>> updated(std::string id, bool resumed, bool proxied) {
    return std::optional<UpdatedPassword>(UpdatedPassword{std::move(id), resumed, proxied});
}

} // namespace

TEST_CASE("LoginFlow: a password the local hash rejects goes to the provider until the "
          "migration is finished",
          "[unit]") {
    Harness h;
    SECTION("accepted there: throttled like a first login, then hash and secret updated") {
        h.start(bob, bob_new_pw);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(bobs_account()));
        // The same counters and slot as a first login, before anything reaches the provider.
        REQUIRE(h.store.reserved_limits.size() == 1);
        CHECK(h.store.reserved_limits[0].login == bob);
        CHECK(h.store.reserved_limits[0].ip == "192.0.2.7");
        FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::reserved()));
        FakeStore::answer(h.store.slots,
                          Result<std::optional<HeldSlot>>(std::optional<HeldSlot>(HeldSlot{1, 1})));
        h.host.answer(bob, CheckOutcome::accepted, "OK");
        CHECK(h.store.calls == std::vector<std::string>{"find_account", "reserve_check",
                                                        "acquire_slot", "release_slot", "end_check",
                                                        "update_password"});
        CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::accepted});
        CHECK(h.store.created.empty());
        REQUIRE(h.store.updated.size() == 1);
        const PasswordUpdate &u = h.store.updated[0];
        CHECK(u.local_address == bob);
        CHECK(u.old_login == bob);
        CHECK(u.provider == "oldmail");
        CHECK(verify_password(u.password_hash, SecretString(bob_new_pw)).value());
        CHECK_FALSE(verify_password(u.password_hash, SecretString(bob_pw)).value());
        // The sealed secret opens to the new password, bound to this migration's row.
        SealedSecret sealed{u.secret_key_id, std::vector<unsigned char>(u.sealed_secret.begin(),
                                                                        u.sealed_secret.end())};
        auto opened = h.keys.open(sealed, migration_secret_context("oldmail", bob));
        REQUIRE(opened);
        CHECK(opened.value().reveal() == bob_new_pw);
        CHECK(u.sealed_secret.find(bob_new_pw) == std::string::npos);
        CHECK(h.answers.empty());
        SECTION("resumed") {
            FakeStore::answer(h.store.updates, updated("9", true, false));
            const LoginDecision &d = h.only_answer(bob);
            CHECK(d.outcome == LoginOutcome::ok);
            CHECK(d.level == LogLevel::info);
            CHECK(d.message == "account bob@other.example: password changed at provider oldmail "
                               "(imap.old.example:993); local password and migration 9's "
                               "stored password updated, migration resumed");
            CHECK_FALSE(d.proxy);
        }
        SECTION("still proxied: the session goes to the old provider") {
            FakeStore::answer(h.store.updates, updated("9", false, true));
            const LoginDecision &d = h.only_answer(bob);
            CHECK(d.outcome == LoginOutcome::ok);
            REQUIRE(d.proxy);
            CHECK(d.proxy->host == "imap.old.example");
            CHECK(d.proxy->destuser == bob);
        }
        SECTION("finished meanwhile: only the local password counts") {
            FakeStore::answer(h.store.updates,
                              Result<std::optional<UpdatedPassword>>(std::nullopt));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::password_mismatch);
            CHECK(h.only_answer(bob).message.find("finished or went away meanwhile") !=
                  std::string::npos);
        }
        SECTION("the update fails: a temporary failure") {
            FakeStore::answer(h.store.updates, Result<std::optional<UpdatedPassword>>(
                                                   temporary_error("connection lost")));
            CHECK(h.only_answer(bob).outcome == LoginOutcome::temporary_failure);
        }
        CHECK(h.flow->in_flight() == 0);
    }
    SECTION("rejected there too: a mismatch that counts, nothing updated") {
        h.start(bob, "typo");
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(bobs_account()));
        FakeStore::answer(h.store.reserves, Result<Reservation>(FakeStore::reserved()));
        FakeStore::answer(h.store.slots,
                          Result<std::optional<HeldSlot>>(std::optional<HeldSlot>(HeldSlot{1, 1})));
        h.host.answer(bob, CheckOutcome::rejected, "NO [AUTHENTICATIONFAILED]");
        CHECK(h.store.ended == std::vector<CheckEnd>{CheckEnd::rejected});
        FakeStore::answer(h.store.ends, Result<bool>(true));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::password_mismatch);
        CHECK(h.store.updated.empty());
    }
    SECTION("too many rejected logins: refused without asking") {
        h.start(bob, bob_new_pw);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(bobs_account()));
        FakeStore::answer(h.store.reserves,
                          Result<Reservation>(FakeStore::verdict(Reservation::Verdict::refused,
                                                                 LimitKind::login, true)));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::password_mismatch);
        CHECK(h.host.checks == 0);
        CHECK(h.store.updated.empty());
    }
}

TEST_CASE("LoginFlow: after finished, or from another provider, only the local password counts",
          "[unit]") {
    Harness h;
    SECTION("finished: a mismatch, the provider never asked") {
        h.start(bob, bob_new_pw);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(bobs_account(true)));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::password_mismatch);
        CHECK(h.only_answer(bob).message ==
              "account bob@other.example: password mismatch (migration finished: only the local "
              "password counts)");
    }
    SECTION("finished, the local password: ok") {
        h.start(bob, bob_pw);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(bobs_account(true)));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::ok);
        CHECK_FALSE(h.only_answer(bob).proxy);
    }
    SECTION("a migration from a provider this domain is no longer under") {
        h.start(bob, bob_new_pw);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(
                                             bobs_account(false, false, "elsewhere")));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::password_mismatch);
        CHECK(h.only_answer(bob).message.find("from provider elsewhere, not oldmail") !=
              std::string::npos);
    }
    SECTION("not ours: the local passdb decides") {
        StoredAccount a = bobs_account();
        a.ours = false;
        h.start(bob, bob_new_pw);
        FakeStore::answer(h.store.finds, Result<std::optional<StoredAccount>>(a));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::user_unknown);
    }
    SECTION("the local password of a proxied migration: proxied") {
        h.start(bob, bob_pw);
        FakeStore::answer(h.store.finds,
                          Result<std::optional<StoredAccount>>(bobs_account(false, true)));
        CHECK(h.only_answer(bob).outcome == LoginOutcome::ok);
        CHECK(h.only_answer(bob).proxy);
    }
    CHECK(h.store.reserves.empty());
    CHECK(h.store.slots.empty());
    CHECK(h.host.checks == 0);
    CHECK(h.store.updated.empty());
}
