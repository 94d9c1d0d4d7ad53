// Dovecot 2.4's preinit: settings through the settings API, errors returned, not fatal.
// 2.4.3 added the passdb's parameters. Include after Dovecot's headers.
#pragma once

#if DOVECOT_PREREQ(2, 4, 3)
int imapmigration_preinit(pool_t pool, struct event *event, const struct passdb_parameters *params,
                          struct passdb_module **module_r, const char **error_r);
#else
int imapmigration_preinit(pool_t pool, struct event *event, struct passdb_module **module_r,
                          const char **error_r);
#endif
