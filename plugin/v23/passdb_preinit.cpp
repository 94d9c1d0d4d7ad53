// Dovecot 2.3: the module's settings come as the passdb's args string,
// "[blocking=yes|no] [threads=N] [connections=N] [CONFIG_PATH]"; a bad one stops Dovecot.
#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "passdb_preinit.hpp"

#include "dovecot_glue.hpp"
#include "module_args.hpp"

#include <string>

namespace {

[[noreturn]] void refuse_to_start(const std::string &reason) {
    i_fatal("imapmigration: %s", reason.c_str());
}

int count_setting(const std::string &name, const std::string &n) {
    if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(n) < 1)
        refuse_to_start("passdb args: " + name + "=" + n + ": expected a number 1-999");
    return std::stoi(n);
}

ModuleArgs parse_args(const char *text) {
    ModuleArgs a;
    const std::string all = text != nullptr ? text : "";
    size_t pos = 0;
    while (pos < all.size()) {
        size_t end = all.find(' ', pos);
        if (end == std::string::npos)
            end = all.size();
        const std::string arg = all.substr(pos, end - pos);
        pos = end + 1;
        if (arg.empty())
            continue;
        if (arg == "blocking=yes" || arg == "blocking=no") {
            a.blocking = arg == "blocking=yes";
        } else if (arg.rfind("threads=", 0) == 0) {
            a.threads = count_setting("threads", arg.substr(8));
        } else if (arg.rfind("connections=", 0) == 0) {
            a.connections = count_setting("connections", arg.substr(12));
        } else if (arg.find('=') != std::string::npos) {
            refuse_to_start("passdb args: unknown setting " + arg.substr(0, arg.find('=')) +
                            " (expected blocking=yes|no, threads=N, connections=N or the config "
                            "file path)");
        } else {
            a.config_path = arg;
        }
    }
    return a;
}

} // namespace

struct passdb_module *imapmigration_preinit(pool_t pool, const char *args) {
    return imapmigration_module_new(pool, parse_args(args));
}
