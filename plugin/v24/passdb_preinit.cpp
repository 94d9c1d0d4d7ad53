// Dovecot 2.4: the module's settings (imapmigration_settings.c) read through the settings API
// on the passdb's event. Dovecot checked them already; use_worker (blocking) is the core's: it
// sets module->blocking from it after preinit, we only read it for the start-up log line.
#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "passdb_preinit.hpp"

#include "dovecot_glue.hpp"
#include "module_args.hpp"

// clang-format off
extern "C" {
#include "settings.h"
#include "auth-settings.h"
#include "imapmigration_settings.h"
}
// clang-format on

#include <string>

namespace {

// Dovecot's settings_get macro is C: it passes the struct pointer's address as void *.
template <typename T>
int get_settings(struct event *event, const struct setting_parser_info *info, const T **set_r,
                 const char **error_r) {
    return (settings_get)(event, info, static_cast<enum settings_get_flags>(0), __FILE__, __LINE__,
                          reinterpret_cast<const void **>(set_r), error_r);
}

// Reads the settings; false with error_r set as Dovecot's settings API reports it.
bool read_args(struct event *event, ModuleArgs &args, const char **error_r) {
    const struct imapmigration_settings *set;
    if (get_settings(event, &imapmigration_setting_parser_info, &set, error_r) < 0)
        return false;
    args.config_path = set->imapmigration_config_file;
    args.threads = static_cast<int>(set->imapmigration_hash_threads);
    args.connections = static_cast<int>(set->imapmigration_sql_connections);
    settings_free(set);

    const struct auth_passdb_settings *passdb_set;
    if (get_settings(event, &auth_passdb_setting_parser_info, &passdb_set, error_r) < 0)
        return false;
    args.blocking = passdb_set->use_worker;
    settings_free(passdb_set);
    return true;
}

int preinit(pool_t pool, struct event *event, struct passdb_module **module_r,
            const char **error_r) {
    ModuleArgs args;
    if (!read_args(event, args, error_r))
        return -1;
    *module_r = imapmigration_module_new(pool, args);
    return 0;
}

} // namespace

#if DOVECOT_PREREQ(2, 4, 3)
int imapmigration_preinit(pool_t pool, struct event *event, const struct passdb_parameters *,
                          struct passdb_module **module_r, const char **error_r) {
    return preinit(pool, event, module_r, error_r);
}
#else
int imapmigration_preinit(pool_t pool, struct event *event, struct passdb_module **module_r,
                          const char **error_r) {
    return preinit(pool, event, module_r, error_r);
}
#endif
