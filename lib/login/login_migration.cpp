#include "login/login_migration.hpp"

#include "loop/guarded.hpp"

#include <optional>

namespace imapmig {

class LoginMigrator::InlineHost final : public LoginHost {
public:
    explicit InlineHost(std::unique_ptr<CredentialChecker> checker)
        : checker_(std::move(checker)) {}
    void check(const ProviderConfig &provider, const std::string &login,
               const SecretString &password, std::function<void(CheckResult)> done) override {
        done(checker_->check(provider, login, password));
    }
    void offload(std::function<void()> work, std::function<void()> done) override {
        work();
        done();
    }

private:
    std::unique_ptr<CredentialChecker> checker_;
};

LoginMigrator::LoginMigrator(const Config &config, KeyRing keys,
                             std::unique_ptr<CredentialChecker> checker)
    : keys_(std::move(keys)), host_(std::make_unique<InlineHost>(std::move(checker))),
      store_(loop_, config.database, 1), flow_(config, keys_, loop_, *host_, store_) {}

LoginMigrator::~LoginMigrator() = default;

LoginDecision LoginMigrator::verify(LoginRequest request) {
    std::optional<LoginDecision> decision;
    flow_.start(std::move(request), [&decision](LoginDecision d) { decision = std::move(d); });
    // The done above refers to this frame: whatever happens, the login is answered before
    // verify returns, never later.
    run_guarded([&] { (void)loop_.run_until([&decision] { return decision.has_value(); }); },
                [&](const std::string &what) { flow_.shutdown("internal error: " + what); });
    if (!decision)
        flow_.shutdown("internal error: the login stopped with nothing left to wait for");
    return decision.value_or(LoginDecision{LoginOutcome::temporary_failure,
                                           LogLevel::error,
                                           "internal error: the login stalled",
                                           {},
                                           std::nullopt});
}

} // namespace imapmig
