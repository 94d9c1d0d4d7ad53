#include "sync/dsync/dsync_config.hpp"

#include "config/folder_pattern.hpp"
#include "sync/mutf7.hpp"
#include "sync/verification.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
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

std::string_view pop3c_ssl(TlsMode mode) {
    switch (mode) {
    case TlsMode::tls:
        return "pop3s";
    case TlsMode::starttls:
        return "starttls";
    case TlsMode::none:
        return "no";
    }
    return "pop3s";
}

// The pop3c namespace name and prefix: hidden and unlisted, so no folder of the user's can
// clash with it, and dsync (which syncs the namespaces using the default mail location, or on
// 2.4 the INBOX namespace) leaves it out of the sync itself.
constexpr std::string_view pop3_namespace_prefix = "IMAPMIG-POP3/";

std::string pop3_migration_settings(const ProviderConfig &provider, const std::string &host,
                                    const std::string &user, const DovecotLine &line) {
    std::string text = "# POP3 UIDLs (keep_pop3_uidls): pop3_migration matches each old INBOX "
                       "message to the\n# provider's POP3 listing and dsync stores its UIDL.\n";
    text += line.add_mail_plugin_setting("pop3_migration");
    text += "namespace imapmig_pop3 {\n  prefix = " + std::string(pop3_namespace_prefix) +
            "\n  separator = /\n";
    text += line.namespace_driver_settings("pop3c");
    text += "  inbox = no\n  list = no\n  hidden = yes\n}\n";
    text +=
        line.plugin_setting("pop3_migration_mailbox", std::string(pop3_namespace_prefix) + "INBOX");
    text += "pop3c_host = " + host + "\n";
    text += "pop3c_port = " + std::to_string(provider.pop3_port) + "\n";
    // Over TLS, pop3c before Dovecot 2.4.3 may wait for an answer it already holds (upstream
    // "pop3c: Fix potential hangs with SSL"): its 5-minute command timeout then fails the run,
    // which is retried. Plain POP3 is only for allow_plaintext providers, as for IMAP.
    text += "pop3c_ssl = " + std::string(pop3c_ssl(provider.security)) + "\n";
    text +=
        std::string("pop3c_ssl_verify = ") + (provider.verify_certificate ? "yes" : "no") + "\n";
    text += "pop3c_user = " + user + "\n";
    text += "pop3c_password = </dev/fd/" + std::to_string(dsync_pop3_password_fd) + "\n";
    return text;
}

} // namespace

void add_dsync_passwords(ProgramSpec &spec, const ProviderConfig &provider,
                         const SecretString &old_password) {
    spec.inputs.push_back({dsync_password_fd, old_password});
    if (provider.keep_pop3_uidls)
        spec.inputs.push_back({dsync_pop3_password_fd, old_password});
    spec.secrets.push_back(old_password.reveal());
}

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
                                         const NamespaceSettings &namespaces,
                                         const DovecotLine &line) {
    auto host = dovecot_quote(provider.host);
    auto user = dovecot_quote(old_login);
    auto ca = dovecot_quote(provider.ca_file.empty() ? system_ca_bundle : provider.ca_file);
    if (!host || !user || !ca)
        return permanent_error("the provider's host, the old login or ca_file cannot be written "
                               "into a doveadm config (control character)");
    // The password reaches doveadm through a pipe, read verbatim: a control character would
    // break the settings doveconf passes on.
    const auto pw = old_password.reveal();
    if (std::any_of(pw.begin(), pw.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
        return permanent_error("the old password holds a control character: dsync cannot use it");
    std::string text = line.run_config_header() +
                       "# Written by imap-migrator for one dsync run; removed afterwards.\n";
    text += "!include " + config.sync.dovecot_config + "\n";
    text += "imapc_host = " + host.value() + "\n";
    text += "imapc_port = " + std::to_string(provider.port) + "\n";
    text += "imapc_ssl = " + std::string(imapc_ssl(provider.security)) + "\n";
    text += line.verify_certificate_setting(provider.verify_certificate);
    text += "ssl_client_ca_file = " + ca.value() + "\n";
    text += "imapc_user = " + user.value() + "\n";
    text += line.imapc_features_setting();
    if (!namespaces.old_list_prefix.empty()) {
        auto prefix = dovecot_quote(namespaces.old_list_prefix);
        if (!prefix)
            return permanent_error("the old server's namespace prefix holds a control character");
        text += "imapc_list_prefix = " + prefix.value() + "\n";
    }
    if (namespaces.separator != 0) {
        auto sep = dovecot_quote(std::string(1, namespaces.separator));
        if (!sep)
            return sep.error();
        for (const auto &name : namespaces.names) {
            const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                       c == '.';
            });
            if (!plain)
                return config_error("namespace \"" + name + "\" of " + config.sync.dovecot_config +
                                    " sets no separator and its name cannot be written into "
                                    "a doveadm config: set its separator explicitly");
            text += "namespace " + name + " {\n  separator = " + sep.value() + "\n}\n";
        }
    }
    // `<FILE`: the value is the file's content (unquoted: a quoted name is taken literally).
    text += "imapc_password = </dev/fd/" + std::to_string(dsync_password_fd) + "\n";
    if (provider.keep_pop3_uidls)
        text += pop3_migration_settings(provider, host.value(), user.value(), line);
    return SecretString(text);
}

std::vector<std::string> dsync_arguments(const Config &config, const std::string &run_config,
                                         const std::string &local_user, const std::string &state,
                                         const std::vector<std::string> &excluded_folders,
                                         bool folders_only) {
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
    if (folders_only) {
        argv.push_back("-t");
        argv.push_back("2147483647");
    }
    for (const auto &folder : excluded_folders) {
        argv.push_back("-x");
        argv.push_back(folder);
    }
    argv.push_back("imapc:");
    return argv;
}

namespace {

// An old folder's name in dsync's run: where imapc puts it by its name alone, in UTF-8.
std::string dsync_name(const FolderPlan &plan, const std::string &old_name) {
    FolderPlan plain = plan;
    plain.renames.clear();
    const std::string name =
        new_folder_name(old_name, plan.old_namespace.separator, plan.new_separator, plain);
    // Not valid modified UTF-7: the name as it is, which is what dsync shows for it.
    return mutf7_to_utf8(name).value_or(name);
}

} // namespace

std::vector<std::string> renamed_folder_exclusions(const FolderPlan &plan) {
    std::vector<std::string> out;
    for (const auto &rename : plan.renames)
        out.push_back(dsync_name(plan, rename.first));
    return out;
}

std::vector<std::string> special_use_exclusions(const FolderPlan &plan) {
    std::vector<std::string> out;
    for (const auto &name : plan.excluded)
        out.push_back(dsync_name(plan, name));
    return out;
}

std::vector<std::string> excluded_folders(const SyncConfig &sync,
                                          const std::vector<std::string> &old_folders) {
    std::vector<std::string> out;
    std::optional<FolderPattern> exclude; // linear time: a folder name cannot hang the worker
    if (!sync.folder_exclude.empty())
        if (auto compiled = FolderPattern::compile(sync.folder_exclude))
            exclude = std::move(compiled).value(); // checked at load
    for (const auto &name : old_folders) {
        const bool listed = sync.folder_include.empty() ||
                            std::find(sync.folder_include.begin(), sync.folder_include.end(),
                                      name) != sync.folder_include.end();
        if (!listed || (exclude && exclude->search(name)))
            out.push_back(name);
    }
    return out;
}

} // namespace imapmig
