// Dovecot 2.3's preinit: the passdb's args string. Include after Dovecot's headers.
#pragma once

struct passdb_module *imapmigration_preinit(pool_t pool, const char *args);
