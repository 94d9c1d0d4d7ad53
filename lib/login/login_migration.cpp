#include "login/login_migration.hpp"

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
      flow_(config, keys_, loop_, *host_, 1) {}

LoginMigrator::~LoginMigrator() = default;

LoginDecision LoginMigrator::verify(const LoginAttempt &attempt) {
    std::optional<LoginDecision> decision;
    flow_.start({std::string(attempt.user), attempt.password, std::string(attempt.remote_ip)},
                [&decision](LoginDecision d) { decision = std::move(d); });
    if (!loop_.run_until([&decision] { return decision.has_value(); })) {
        flow_.shutdown("internal error: the login stopped with nothing left to wait for");
        return decision.value_or(LoginDecision{LoginOutcome::temporary_failure, LogLevel::error,
                                               "internal error: the login stalled", {}, std::nullopt});
    }
    return std::move(*decision);
}

} // namespace imapmig
