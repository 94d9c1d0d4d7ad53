#include "sync/dsync/dovecot_line.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace imapmig {

namespace {

std::string_view trim(std::string_view s) {
    const size_t start = s.find_first_not_of(" \t\r");
    if (start == std::string_view::npos)
        return {};
    const size_t end = s.find_last_not_of(" \t\r");
    return s.substr(start, end - start + 1);
}

} // namespace

std::string DovecotLine::run_config_header() const {
    if (!is_24())
        return "";
    return "dovecot_config_version = " + config_version + "\n";
}

std::string DovecotLine::verify_certificate_setting(bool verify) const {
    return std::string(is_24() ? "ssl_client_require_valid_cert" : "imapc_ssl_verify") + " = " +
           (verify ? "yes" : "no") + "\n";
}

std::string DovecotLine::imapc_features_setting() const {
    return is_24() ? "imapc_features = no-modseq no-metadata\n" : "";
}

std::vector<std::string> DovecotLine::imapc_mail_overrides() const {
    if (!is_24())
        return {"-o", "mail_location=imapc:"};
    return {"-o", "mail_driver=imapc", "-o", "mail_path="};
}

std::string DovecotLine::add_mail_plugin_setting(std::string_view plugin) const {
    if (!is_24())
        return "mail_plugins = $mail_plugins " + std::string(plugin) + "\n";
    return "mail_plugins {\n  " + std::string(plugin) + " = yes\n}\n";
}

std::string DovecotLine::namespace_driver_settings(std::string_view driver) const {
    if (!is_24())
        return "  location = " + std::string(driver) + ":\n";
    return "  mail_driver = " + std::string(driver) + "\n  mail_path = \n";
}

std::string DovecotLine::plugin_setting(std::string_view name, std::string_view value) const {
    const std::string setting = std::string(name) + " = " + std::string(value) + "\n";
    return is_24() ? setting : "plugin {\n  " + setting + "}\n";
}

int DovecotLine::rejected_login_status() const {
    return is_24() ? 77 : 134;
}

DovecotLine dovecot_line_of_config(std::string_view text) {
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (line.empty() || line.front() == '#')
            continue;
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos || trim(line.substr(0, eq)) != "dovecot_config_version")
            return {};
        std::string_view value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        return {std::string(value)};
    }
    return {};
}

Result<DovecotLine> read_dovecot_line(const std::string &config_path) {
    std::ifstream in(config_path);
    if (!in)
        return config_error("cannot read " + config_path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return dovecot_line_of_config(text.str());
}

} // namespace imapmig
