// The passdb callbacks Dovecot calls. Include only after Dovecot's headers.
#pragma once

struct ModuleArgs;

// A module for these arguments (the version's preinit reads them); modules with equal arguments
// share one state per process. Never fails: when the config or the keys do not load, the module
// answers first logins with a temporary failure (the reason logged) until Dovecot is reloaded.
struct passdb_module *imapmigration_module_new(pool_t pool, const ModuleArgs &args);
void imapmigration_deinit(struct passdb_module *module);
void imapmigration_verify_plain(struct auth_request *request, const char *password,
                                verify_plain_callback_t *callback);
