/* The passdb's settings on Dovecot 2.4, declared for Dovecot's settings parser. C, because
   Dovecot's settings macros are C. Compiled into the passdb module (which reads them) and into
   the settings module the config process loads (so that doveconf knows and checks them). */
#ifndef IMAPMIGRATION_SETTINGS_H
#define IMAPMIGRATION_SETTINGS_H

struct imapmigration_settings {
	pool_t pool;
	const char *imapmigration_config_file;
	unsigned int imapmigration_hash_threads;
	unsigned int imapmigration_sql_connections;
};

extern const struct setting_parser_info imapmigration_setting_parser_info;

#endif
