/* lib10_imapmigration_settings.so: loaded by Dovecot's config process from the module dir's
   settings/ folder, so that dovecot, doveconf and doveadm know the passdb's settings (without
   it they refuse the whole config: "Unknown setting"). Holds the declarations only. */
#include "config.h"
#include "lib.h"
#include "settings-parser.h"
#include "imapmigration_settings.h"

/* Dovecot's module loader names the symbols after the file: lib10_<name>.so -> <name>_... */
extern const struct setting_parser_info *const imapmigration_settings_set_infos[];
extern const char *const imapmigration_settings_version;

const struct setting_parser_info *const imapmigration_settings_set_infos[] = {
	&imapmigration_setting_parser_info,
	NULL
};
const char *const imapmigration_settings_version = DOVECOT_ABI_VERSION;
