// The module's ABI with Dovecot: registration and the interface table, nothing else.
#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "dovecot_glue.hpp"
#include "passdb_preinit.hpp" // the version's: plugin/v23/ or plugin/v24/

namespace {

struct passdb_module_interface passdb_imapmigration = {
    "imapmigration",
    imapmigration_preinit,
    nullptr, // init: nothing beyond preinit; connections open on first use in each worker
    imapmigration_deinit,
    imapmigration_verify_plain,
    nullptr, // lookup_credentials: the old password is never known here, only checked
    nullptr, // set_credentials
};

} // namespace

extern "C" {

// Checked by Dovecot's module loader: a module built for another ABI refuses to load.
// The loader reads it as `const char **`: it must be a pointer variable, not an array.
__attribute__((visibility("default"))) extern const char *const authdb_imapmigration_version;
const char *const authdb_imapmigration_version = DOVECOT_ABI_VERSION;

__attribute__((visibility("default"))) void authdb_imapmigration_init(struct module *) {
    passdb_register_module(&passdb_imapmigration);
}

__attribute__((visibility("default"))) void authdb_imapmigration_deinit(void) {
    passdb_unregister_module(&passdb_imapmigration);
}
}
