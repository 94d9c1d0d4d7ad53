#include "dovecot_conf24.hpp"

#include "dovecot_instance.hpp"

#include <sstream>

namespace testsupport {

std::string shipped_conf_dir() {
    return dovecot_24() ? "conf.d/2.4" : "conf.d";
}

std::string passdb_settings_24(const std::string &args) {
    std::istringstream words(args);
    std::string out;
    for (std::string word; words >> word;) {
        const auto eq = word.find('=');
        const std::string key = word.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
        if (key == "blocking")
            out += "  use_worker = " + value + "\n";
        else if (key == "threads")
            out += "  imapmigration_hash_threads = " + value + "\n";
        else if (key == "connections")
            out += "  imapmigration_sql_connections = " + value + "\n";
        else if (eq == std::string::npos)
            out += "  imapmigration_config_file = " + word + "\n";
        else
            out += "  " + key + " = " + value + "\n";
    }
    return out;
}

std::string pgsql_parameters_24(const std::string &conninfo) {
    std::istringstream words(conninfo);
    std::string out;
    for (std::string word; words >> word;) {
        const auto eq = word.find('=');
        if (eq != std::string::npos)
            out += "    " + word.substr(0, eq) + " = " + word.substr(eq + 1) + "\n";
    }
    return out;
}

std::string lowercase_username_format() {
    return dovecot_24() ? "%{user | lower}" : "%Lu";
}

} // namespace testsupport
