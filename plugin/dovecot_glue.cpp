// Dovecot glue: turns the passdb callbacks into calls on the core library and its decisions
// back into passdb results and log lines. No exception leaves this file.
#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "dovecot_glue.hpp"

#include "async_login.hpp"
#include "blocking_login.hpp"
#include "login_result.hpp"
#include "module_args.hpp"
#include "shared_states.hpp"

#include "config/config.hpp"
#include "crypto/secrets.hpp"
#include "loop/guarded.hpp"

#include <imapmig_build_config.h>

#include <exception>
#include <memory>
#include <string>

namespace {

// Everything a process needs to answer logins. Immovable: mode refers to config.
struct PluginState {
    PluginState(imapmig::Config cfg, imapmig::KeyRing k, const ModuleArgs &a)
        : config(std::move(cfg)), keys(std::move(k)), args(a) {}
    PluginState(const PluginState &) = delete;
    PluginState &operator=(const PluginState &) = delete;

    // Built by the first login (not in preinit, which also runs in processes that never answer
    // one): only the mode the passdb args select.
    LoginMode &login_mode() {
        if (!mode) {
            if (args.blocking)
                mode = std::make_unique<BlockingLogins>(config, keys);
            else
                mode = std::make_unique<AsyncLogins>(config, keys, args.threads, args.connections);
        }
        return *mode;
    }

    const imapmig::Config config;
    const imapmig::KeyRing keys;
    const ModuleArgs args;
    std::unique_ptr<LoginMode> mode;
};

// Dovecot allocates this from a pool and runs no constructors: a plain struct whose first
// member is the passdb_module. It owns `state` (released from a unique_ptr in preinit).
struct imapmigration_passdb_module {
    struct passdb_module module;
    PluginState *state;        // nullptr: the configuration did not load
    const char *broken_reason; // pool string, set when state is nullptr
};

// A broken imap-migration.yaml must not take every login down (a refused preinit stops the
// whole auth service, master user and migrated users included): the errors are logged, and
// first logins get a temporary failure until the file is fixed and Dovecot reloaded. Temporary,
// not "unknown user": clients retry a temporary failure instead of asking for a new password,
// and Dovecot never caches it (auth_cache_negative_ttl would keep refusing after the fix).
// Returns nullptr with reason set when the configuration is unusable.
std::unique_ptr<PluginState> load_state(const ModuleArgs &args, std::string &reason) {
    const std::string &path = args.config_path;
    imapmig::ConfigLoadResult loaded = imapmig::load_config(path);
    if (!loaded.config) {
        for (const auto &diag : loaded.errors)
            i_error("imapmigration: %s", diag.to_string().c_str());
        reason = path + ": " + std::to_string(loaded.errors.size()) +
                 " configuration error(s), see above; `imap-migrator -c " + path +
                 " check-config` prints them too";
        return nullptr;
    }
    auto keys = imapmig::KeyRing::load(loaded.config->secret_key_file,
                                       loaded.config->previous_secret_key_files);
    if (!keys) {
        reason = keys.error().message;
        return nullptr;
    }
    return std::make_unique<PluginState>(std::move(*loaded.config), std::move(keys.value()), args);
}

SharedStates<PluginState> &process_states() {
    static SharedStates<PluginState> states;
    return states;
}

} // namespace

struct passdb_module *imapmigration_module_new(pool_t pool, const ModuleArgs &args) {
    auto *m = p_new(pool, struct imapmigration_passdb_module, 1);
    std::string reason;
    bool created = false;
    try {
        m->state = process_states().acquire(args.key(), [&] {
            created = true;
            return load_state(args, reason);
        });
    } catch (const std::exception &e) {
        reason = args.config_path + ": " + e.what();
    }
    // blocking: every step runs synchronously in auth-worker processes (one login per
    // process). Default: the auth process itself, every step on its ioloop (the provider
    // check on libcurl multi, the SQL on non-blocking libpq) except hashing, which runs on a
    // few threads: a slow provider delays only its own logins. (2.4: the core sets blocking
    // from the passdb's use_worker after preinit; the same value.)
    m->module.blocking = args.blocking ? TRUE : FALSE;
    if (m->state == nullptr) {
        m->broken_reason = p_strdup(pool, reason.c_str());
        i_error("imapmigration: NOT CONFIGURED: %s. First logins (users not migrated yet) get a "
                "temporary failure and the old provider is not contacted until the file is fixed "
                "and Dovecot reloaded; migrated users, the master user and the other passdbs "
                "keep working",
                reason.c_str());
        return &m->module;
    }
    if (created && !worker)
        i_info("imapmigration: version " IMAPMIG_VERSION " (Dovecot ABI " DOVECOT_ABI_VERSION
               "), %zu provider(s) from %s, %s",
               m->state->config.providers.size(), args.config_path.c_str(),
               args.blocking
                   ? "blocking (auth-worker)"
                   : ("non-blocking, " + std::to_string(args.connections) + " SQL connection(s), " +
                      std::to_string(args.threads) + " hashing thread(s)")
                         .c_str());
    return &m->module;
}

void imapmigration_deinit(struct passdb_module *module) {
    auto *m = reinterpret_cast<imapmigration_passdb_module *>(module);
    process_states().release(m->state);
    m->state = nullptr;
}

void imapmigration_verify_plain(struct auth_request *request, const char *password,
                                verify_plain_callback_t *callback) {
    auto *m = reinterpret_cast<imapmigration_passdb_module *>(request->passdb->passdb);
    if (m->state == nullptr) {
        e_error(authdb_event(request),
                "imapmigration is not configured (%s): temporary failure for this first login",
                m->broken_reason);
        callback(PASSDB_RESULT_INTERNAL_FAILURE, request);
        return;
    }
    std::shared_ptr<LoginAnswer> answer;
    imapmig::run_guarded(
        [&] {
            answer = std::make_shared<LoginAnswer>(request, callback);
            m->state->login_mode().verify(login_request(request, password), answer);
        },
        [&](const std::string &what) {
            if (answer)
                return answer->answer({imapmig::LoginOutcome::temporary_failure,
                                       imapmig::LogLevel::error,
                                       "internal error: " + what,
                                       {},
                                       std::nullopt});
            e_error(authdb_event(request), "internal error: %s", what.c_str());
            callback(PASSDB_RESULT_INTERNAL_FAILURE, request);
        });
}
