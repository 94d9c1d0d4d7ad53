// A LoginStore the test answers by hand, call by call, and the held-checks host: LoginFlow's
// decisions driven without PostgreSQL, Dovecot or a provider.
#pragma once

#include "login/login_flow.hpp"
#include "login/login_store.hpp"

#include "catch_compat.hpp"

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fakes {

using namespace imapmig;

// Each call is logged by name; its reply waits in a queue until the test answers it. A call
// named in throw_on throws instead, as a broken store or host would.
class FakeStore final : public LoginStore {
public:
    std::vector<std::string> calls;
    std::string throw_on;

    std::deque<Reply<std::optional<StoredAccount>>> finds;
    std::deque<Reply<Reservation>> reserves;
    std::vector<CheckLimits> reserved_limits;
    std::deque<Reply<std::optional<HeldSlot>>> slots;
    std::deque<Reply<bool>> ends;
    std::vector<CheckEnd> ended;
    std::deque<Reply<std::optional<CreatedAccount>>> creates;
    std::vector<NewAccount> created;
    std::deque<Reply<std::optional<std::string>>> migrations;
    std::deque<Reply<std::optional<UpdatedPassword>>> updates;
    std::vector<PasswordUpdate> updated;
    int slots_released = 0;

    Lane pick_lane() override { return 0; }
    void find_account(Lane, const std::string &, const std::string &,
                      Reply<std::optional<StoredAccount>> reply) override {
        log("find_account");
        finds.push_back(std::move(reply));
    }
    void reserve_check(Lane, const CheckLimits &limits, Reply<Reservation> reply) override {
        log("reserve_check");
        reserved_limits.push_back(limits);
        reserves.push_back(std::move(reply));
    }
    void end_check(Lane, const CheckLimits &, CheckEnd end, Reply<bool> reply) override {
        log("end_check");
        ended.push_back(end);
        ends.push_back(std::move(reply));
    }
    void acquire_slot(Lane, const std::string &, int,
                      Reply<std::optional<HeldSlot>> reply) override {
        log("acquire_slot");
        slots.push_back(std::move(reply));
    }
    void release_slot(Lane, const std::string &, HeldSlot) override {
        log("release_slot");
        ++slots_released;
    }
    void create_account(Lane, const NewAccount &account,
                        Reply<std::optional<CreatedAccount>> reply) override {
        log("create_account");
        created.push_back(account);
        creates.push_back(std::move(reply));
    }
    void update_password(Lane, const PasswordUpdate &update,
                         Reply<std::optional<UpdatedPassword>> reply) override {
        log("update_password");
        updated.push_back(update);
        updates.push_back(std::move(reply));
    }
    void find_migration(Lane, const std::string &, const std::string &, const std::string &,
                        Reply<std::optional<std::string>> reply) override {
        log("find_migration");
        migrations.push_back(std::move(reply));
    }

    // Answers the oldest waiting call of that kind.
    template <class T> static void answer(std::deque<Reply<T>> &queue, Result<T> result) {
        REQUIRE(!queue.empty());
        auto reply = std::move(queue.front());
        queue.pop_front();
        reply(std::move(result));
    }
    static Reservation reserved() { return {}; }
    static Reservation verdict(Reservation::Verdict v, LimitKind k, bool first = false) {
        Reservation r;
        r.verdict = v;
        r.limit = k;
        r.first_refusal = first;
        return r;
    }

private:
    void log(const std::string &name) {
        calls.push_back(name);
        if (name == throw_on)
            throw std::runtime_error("store broke in " + name);
    }
};

// Holds every provider check until the test answers it; offloaded work runs in line.
class HeldChecks final : public LoginHost {
public:
    std::map<std::string, std::function<void(CheckResult)>> held;
    int checks = 0;
    std::string throw_on; // "check" or "offload"

    void check(const ProviderConfig &, const std::string &login, const SecretString &,
               std::function<void(CheckResult)> done) override {
        ++checks;
        if (throw_on == "check")
            throw std::runtime_error("host broke in check");
        held[login] = std::move(done);
    }
    void offload(std::function<void()> work, std::function<void()> done) override {
        if (throw_on == "offload")
            throw std::runtime_error("host broke in offload");
        work();
        done();
    }
    void answer(const std::string &login, CheckOutcome outcome, std::string detail = "") {
        REQUIRE(held.count(login) == 1);
        auto done = std::move(held.at(login));
        held.erase(login);
        done({outcome, std::move(detail)});
    }
};

} // namespace fakes
