// Dovecot glue: turns the passdb callbacks into calls on the core library and its decisions
// back into passdb results and log lines. No exception leaves this file.
#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "dovecot_glue.hpp"

#include "config.hpp"
#include "imap_check.hpp"
#include "login_migration.hpp"
#include "secrets.hpp"

#include <imapmig_build_config.h>

#include <exception>
#include <memory>
#include <string>

namespace {

// Everything a process needs to answer logins. Immovable: migrator refers to config.
struct PluginState {
    PluginState(imapmig::Config cfg, imapmig::KeyRing keys)
        : config(std::move(cfg)),
          migrator(config, std::move(keys), std::make_unique<imapmig::CurlCredentialChecker>()) {}
    PluginState(const PluginState &) = delete;
    PluginState &operator=(const PluginState &) = delete;

    const imapmig::Config config;
    imapmig::LoginMigrator migrator;
};

// Dovecot allocates this from a pool and runs no constructors: a plain struct whose first
// member is the passdb_module. It owns `state` (released from a unique_ptr in preinit).
struct imapmigration_passdb_module {
    struct passdb_module module;
    PluginState *state;
};

[[noreturn]] void refuse_to_start(const std::string &reason) {
    i_fatal("imapmigration: %s", reason.c_str());
}

std::unique_ptr<PluginState> load_state(const std::string &path) {
    imapmig::ConfigLoadResult loaded = imapmig::load_config(path);
    if (!loaded.config) {
        for (const auto &diag : loaded.errors)
            i_error("imapmigration: %s", diag.to_string().c_str());
        refuse_to_start(path + ": " + std::to_string(loaded.errors.size()) +
                        " configuration error(s), see above; `imap-migrator -c " + path +
                        " check-config` prints them too");
    }
    auto keys = imapmig::KeyRing::load(loaded.config->secret_key_file,
                                       loaded.config->previous_secret_key_files);
    if (!keys)
        refuse_to_start(keys.error().message);
    return std::make_unique<PluginState>(std::move(*loaded.config), std::move(keys.value()));
}

enum passdb_result to_passdb_result(imapmig::LoginOutcome outcome) {
    using imapmig::LoginOutcome;
    switch (outcome) {
    case LoginOutcome::ok:
        return PASSDB_RESULT_OK;
    case LoginOutcome::password_mismatch:
        return PASSDB_RESULT_PASSWORD_MISMATCH;
    case LoginOutcome::user_unknown:
        return PASSDB_RESULT_USER_UNKNOWN;
    case LoginOutcome::user_disabled:
        return PASSDB_RESULT_USER_DISABLED;
    case LoginOutcome::temporary_failure:
        break;
    }
    return PASSDB_RESULT_INTERNAL_FAILURE;
}

void log_decision(struct auth_request *request, const imapmig::LoginDecision &d) {
    struct event *event = authdb_event(request);
    switch (d.level) {
    case imapmig::LogLevel::debug:
        e_debug(event, "%s", d.message.c_str());
        break;
    case imapmig::LogLevel::info:
        e_info(event, "%s", d.message.c_str());
        break;
    case imapmig::LogLevel::error:
        e_error(event, "%s", d.message.c_str());
        break;
    }
}

enum passdb_result verify(PluginState &state, struct auth_request *request, const char *password) {
    const imapmig::SecretString secret(password);
    std::string remote_ip;
    if (request->fields.remote_ip.family != 0)
        remote_ip = net_ip2addr(&request->fields.remote_ip);
    imapmig::LoginDecision d = state.migrator.verify({request->fields.user, secret, remote_ip});
    log_decision(request, d);
    if (!d.new_user.empty())
        auth_request_set_field(request, "user", d.new_user.c_str(), nullptr);
    return to_passdb_result(d.outcome);
}

} // namespace

struct passdb_module *imapmigration_preinit(pool_t pool, const char *args) {
    auto *m = p_new(pool, struct imapmigration_passdb_module, 1);
    const std::string path = (args != nullptr && *args != '\0') ? args : IMAPMIG_DEFAULT_CONFIG;
    try {
        m->state = load_state(path).release();
    } catch (const std::exception &e) {
        refuse_to_start(path + ": " + e.what());
    }
    // Provider checks and SQL are synchronous: they run in auth-worker processes so a slow
    // provider never stalls the auth process for other users.
    m->module.blocking = TRUE;
    if (!worker)
        i_info("imapmigration: version " IMAPMIG_VERSION " (Dovecot ABI " DOVECOT_ABI_VERSION
               "), %zu provider(s) from %s",
               m->state->config.providers.size(), path.c_str());
    return &m->module;
}

void imapmigration_deinit(struct passdb_module *module) {
    auto *m = reinterpret_cast<imapmigration_passdb_module *>(module);
    std::unique_ptr<PluginState> owned(m->state);
    m->state = nullptr;
}

void imapmigration_verify_plain(struct auth_request *request, const char *password,
                                verify_plain_callback_t *callback) {
    auto *m = reinterpret_cast<imapmigration_passdb_module *>(request->passdb->passdb);
    enum passdb_result result = PASSDB_RESULT_INTERNAL_FAILURE;
    try {
        result = verify(*m->state, request, password);
    } catch (const std::exception &e) {
        e_error(authdb_event(request), "internal error: %s", e.what());
    } catch (...) {
        e_error(authdb_event(request), "internal error: unknown exception");
    }
    callback(result, request);
}
