// Dovecot glue: turns the passdb callbacks into calls on the core library and its decisions
// back into passdb results and log lines. No exception leaves this file.
#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "dovecot_glue.hpp"

#include "async_login.hpp"
#include "login_result.hpp"
#include "module_args.hpp"
#include "shared_states.hpp"

#include "config/config.hpp"
#include "login/imap_check.hpp"
#include "login/login_migration.hpp"
#include "crypto/secrets.hpp"

#include <imapmig_build_config.h>

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

// Everything a process needs to answer logins. Immovable: migrator refers to config.
struct PluginState {
    PluginState(imapmig::Config cfg, imapmig::KeyRing keys, const ModuleArgs &a)
        : config(std::move(cfg)), keys(keys), args(a),
          migrator(config, std::move(keys), std::make_unique<imapmig::CurlCredentialChecker>()) {}
    PluginState(const PluginState &) = delete;
    PluginState &operator=(const PluginState &) = delete;

    const imapmig::Config config;
    const imapmig::KeyRing keys;
    const ModuleArgs args;
    imapmig::LoginMigrator migrator;     // blocking mode (auth-worker)
    std::unique_ptr<AsyncLogins> async; // non-blocking mode, started by the first login
};

// Dovecot allocates this from a pool and runs no constructors: a plain struct whose first
// member is the passdb_module. It owns `state` (released from a unique_ptr in preinit).
struct imapmigration_passdb_module {
    struct passdb_module module;
    PluginState *state;
};

std::unique_ptr<PluginState> load_state(const ModuleArgs &args) {
    const std::string &path = args.config_path;
    imapmig::ConfigLoadResult loaded = imapmig::load_config(path);
    if (!loaded.config) {
        for (const auto &diag : loaded.errors)
            i_error("imapmigration: %s", diag.to_string().c_str());
        throw std::runtime_error(std::to_string(loaded.errors.size()) +
                                 " configuration error(s), see above; `imap-migrator -c " + path +
                                 " check-config` prints them too");
    }
    auto keys = imapmig::KeyRing::load(loaded.config->secret_key_file,
                                       loaded.config->previous_secret_key_files);
    if (!keys)
        throw std::runtime_error(keys.error().message);
    return std::make_unique<PluginState>(std::move(*loaded.config), std::move(keys.value()), args);
}

SharedStates<PluginState> &process_states() {
    static SharedStates<PluginState> states;
    return states;
}

enum passdb_result verify(PluginState &state, struct auth_request *request, const char *password) {
    const imapmig::SecretString secret(password);
    std::string remote_ip;
    if (request->fields.remote_ip.family != 0)
        remote_ip = net_ip2addr(&request->fields.remote_ip);
    return apply_decision(request,
                          state.migrator.verify({request->fields.user, secret, remote_ip}));
}

} // namespace

struct passdb_module *imapmigration_module_new(pool_t pool, const ModuleArgs &args,
                                               std::string &error) {
    auto *m = p_new(pool, struct imapmigration_passdb_module, 1);
    bool created = false;
    try {
        m->state = process_states().acquire(args.key(), [&] {
            created = true;
            return load_state(args);
        });
    } catch (const std::exception &e) {
        error = "imapmigration: " + args.config_path + ": " + e.what();
        return nullptr;
    }
    // blocking: every step runs synchronously in auth-worker processes (one login per
    // process). Default: the auth process itself, every step on its ioloop (the provider
    // check on libcurl multi, the SQL on non-blocking libpq) except hashing, which runs on a
    // few threads: a slow provider delays only its own logins.
    m->module.blocking = args.blocking ? TRUE : FALSE;
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
    enum passdb_result result = PASSDB_RESULT_INTERNAL_FAILURE;
    try {
        PluginState &state = *m->state;
        if (!request->passdb->passdb->blocking) {
            if (!state.async)
                state.async = std::make_unique<AsyncLogins>(
                    state.config, state.keys, state.args.threads, state.args.connections);
            state.async->verify(request, password, callback);
            return;
        }
        result = verify(state, request, password);
    } catch (const std::exception &e) {
        e_error(authdb_event(request), "internal error: %s", e.what());
    } catch (...) {
        e_error(authdb_event(request), "internal error: unknown exception");
    }
    callback(result, request);
}
