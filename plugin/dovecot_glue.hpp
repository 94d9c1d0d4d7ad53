// The passdb callbacks Dovecot calls. Include only after Dovecot's headers.
#pragma once

struct passdb_module *imapmigration_preinit(pool_t pool, const char *args);
void imapmigration_deinit(struct passdb_module *module);
void imapmigration_verify_plain(struct auth_request *request, const char *password,
                                verify_plain_callback_t *callback);
