// The login path's statements on PostgreSQL, over pipelined non-blocking sessions
// (db/pg_async.hpp): every SELECT next to the struct it fills. The provider slots' statements
// are shared with the sync worker's blocking ProviderSlot and stay in db/provider_guard.
#pragma once

#include "db/pg_async.hpp"
#include "login/login_store.hpp"
#include "loop/event_loop.hpp"

#include <memory>
#include <string>
#include <vector>

namespace imapmig {

class PgLoginStore final : public LoginStore {
public:
    // sessions: database connections; each carries many logins' statements at once.
    PgLoginStore(EventLoop &loop, const std::string &conninfo, int sessions);
    // Statements in flight are dropped: their replies never run.
    ~PgLoginStore() override;

    Lane pick_lane() override;
    void find_account(Lane lane, const std::string &local_address, const std::string &old_login,
                      Reply<std::optional<StoredAccount>> reply) override;
    void reserve_check(Lane lane, const CheckLimits &limits, Reply<Reservation> reply) override;
    void end_check(Lane lane, const CheckLimits &limits, CheckEnd end, Reply<bool> reply) override;
    void acquire_slot(Lane lane, const std::string &provider, int slots,
                      Reply<std::optional<HeldSlot>> reply) override;
    void release_slot(Lane lane, const std::string &provider, HeldSlot slot) override;
    void create_account(Lane lane, const NewAccount &account,
                        Reply<std::optional<CreatedAccount>> reply) override;
    void update_password(Lane lane, const PasswordUpdate &update,
                         Reply<std::optional<UpdatedPassword>> reply) override;
    void find_migration(Lane lane, const std::string &local_address, const std::string &provider,
                        const std::string &old_login,
                        Reply<std::optional<std::string>> reply) override;

private:
    AsyncSession &session(Lane lane) { return *sessions_.at(lane); }
    std::vector<std::unique_ptr<AsyncSession>> sessions_;
};

} // namespace imapmig
