/* The passdb's settings on Dovecot 2.4 (see imapmigration_settings.h). They are read inside
   the passdb's block, where Dovecot applies the passdb_imapmigration filter:

     passdb imapmigration {
       driver = imapmigration
       imapmigration_config_file = /etc/dovecot/imap-migration.yaml
       imapmigration_hash_threads = 4
       imapmigration_sql_connections = 2
     }

   Bad values are refused by Dovecot's own config checks (dovecot, doveconf) before anything
   starts. */
#include "config.h"
#include "lib.h"
#include "settings-parser.h"
#include "imapmigration_settings.h"

#include <imapmig_build_config.h>

#include <stddef.h>

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type(#name, name, struct imapmigration_settings)

static const struct setting_define imapmigration_setting_defines[] = {
	{ .type = SET_FILTER_NAME, .key = "passdb_imapmigration" },
	DEF(STR_NOVARS, imapmigration_config_file),
	DEF(UINT, imapmigration_hash_threads),
	DEF(UINT, imapmigration_sql_connections),

	SETTING_DEFINE_LIST_END
};

static const struct imapmigration_settings imapmigration_default_settings = {
	.imapmigration_config_file = IMAPMIG_DEFAULT_CONFIG,
	.imapmigration_hash_threads = 4,
	.imapmigration_sql_connections = 2,
};

/* The same limits as the 2.3 args (threads=N, connections=N). */
static bool count_in_range(const char *key, unsigned int value, const char **error_r)
{
	if (value >= 1 && value <= 999)
		return TRUE;
	*error_r = t_strdup_printf("%s = %u: expected a number 1-999", key, value);
	return FALSE;
}

static bool imapmigration_settings_check(void *_set, pool_t pool ATTR_UNUSED,
					 const char **error_r)
{
	struct imapmigration_settings *set = _set;

	if (set->imapmigration_config_file[0] != '/') {
		*error_r = t_strdup_printf(
			"imapmigration_config_file = %s: expected an absolute path",
			set->imapmigration_config_file);
		return FALSE;
	}
	return count_in_range("imapmigration_hash_threads",
			      set->imapmigration_hash_threads, error_r) &&
		count_in_range("imapmigration_sql_connections",
			       set->imapmigration_sql_connections, error_r);
}

const struct setting_parser_info imapmigration_setting_parser_info = {
	.name = "imapmigration",

	.defines = imapmigration_setting_defines,
	.defaults = &imapmigration_default_settings,

	.struct_size = sizeof(struct imapmigration_settings),
	.pool_offset1 = 1 + offsetof(struct imapmigration_settings, pool),
	.check_func = imapmigration_settings_check,
};
