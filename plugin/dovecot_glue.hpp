// The passdb callbacks Dovecot calls. Include only after Dovecot's headers.
#pragma once

#include <string>

struct ModuleArgs;

// A module for these arguments (the version's preinit reads them); modules with equal arguments
// share one state per process. nullptr with error set when the config or the keys do not load.
struct passdb_module *imapmigration_module_new(pool_t pool, const ModuleArgs &args,
                                               std::string &error);
void imapmigration_deinit(struct passdb_module *module);
void imapmigration_verify_plain(struct auth_request *request, const char *password,
                                verify_plain_callback_t *callback);
