#include "sync/dsync/dsync_config.hpp"

#include <algorithm>
#include <regex>

namespace imapmig {

namespace {

std::string_view imapc_ssl(TlsMode mode) {
    switch (mode) {
    case TlsMode::tls:
        return "imaps";
    case TlsMode::starttls:
        return "starttls";
    case TlsMode::none:
        return "no";
    }
    return "imaps";
}

} // namespace

Result<std::string> dovecot_quote(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return permanent_error("a control character cannot be written into a Dovecot config");
        if (c == '\\' || c == '"')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

Result<SecretString> render_dsync_config(const Config &config, const ProviderConfig &provider,
                                         std::string_view old_login,
                                         const SecretString &old_password,
                                         const DovecotLine &line) {
    auto host = dovecot_quote(provider.host);
    auto user = dovecot_quote(old_login);
    auto ca = dovecot_quote(provider.ca_file.empty() ? system_ca_bundle : provider.ca_file);
    if (!host || !user || !ca)
        return permanent_error("the provider's host, the old login or ca_file cannot be written "
                               "into a doveadm config (control character)");
    auto password = dovecot_quote(old_password.reveal());
    if (!password)
        return permanent_error("the old password holds a control character: dsync cannot use it");
    SecretString quoted_password(password.value());
    std::fill(password.value().begin(), password.value().end(), '\0');
    std::string text = line.run_config_header() +
                       "# Written by imap-migrator for one dsync run; removed afterwards.\n";
    text += "!include " + config.sync.dovecot_config + "\n";
    text += "imapc_host = " + host.value() + "\n";
    text += "imapc_port = " + std::to_string(provider.port) + "\n";
    text += "imapc_ssl = " + std::string(imapc_ssl(provider.security)) + "\n";
    text += line.verify_certificate_setting(provider.verify_certificate);
    text += "ssl_client_ca_file = " + ca.value() + "\n";
    text += "imapc_user = " + user.value() + "\n";
    text += "imapc_features = guid-forced\n";
    SecretString out(text + "imapc_password = " + std::string(quoted_password.reveal()) + "\n");
    return out;
}

std::vector<std::string> dsync_arguments(const Config &config, const std::string &run_config,
                                         const std::string &local_user, const std::string &state,
                                         const std::vector<std::string> &excluded_folders) {
    std::vector<std::string> argv = {config.dovecot_bin_dir + "/doveadm",
                                     "-c",
                                     run_config,
                                     "sync",
                                     "-1",
                                     "-R",
                                     "-s",
                                     state,
                                     "-u",
                                     local_user};
    for (const auto &folder : excluded_folders) {
        argv.push_back("-x");
        argv.push_back(folder);
    }
    argv.push_back("imapc:");
    return argv;
}

std::vector<std::string> excluded_folders(const SyncConfig &sync,
                                          const std::vector<std::string> &old_folders) {
    std::vector<std::string> out;
    std::optional<std::regex> exclude;
    if (!sync.folder_exclude.empty())
        exclude.emplace(sync.folder_exclude, std::regex::ECMAScript); // checked at load
    for (const auto &name : old_folders) {
        const bool listed = sync.folder_include.empty() ||
                            std::find(sync.folder_include.begin(), sync.folder_include.end(),
                                      name) != sync.folder_include.end();
        if (!listed || (exclude && std::regex_search(name, *exclude)))
            out.push_back(name);
    }
    return out;
}

} // namespace imapmig
