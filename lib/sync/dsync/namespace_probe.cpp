#include "sync/dsync/namespace_probe.hpp"

#include "base/supervisor.hpp"
#include "sync/doveconf_namespaces.hpp"
#include "sync/old_namespace.hpp"

#include <sstream>

namespace imapmig {

namespace {

std::vector<std::string> doveadm_env() {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
}

std::string first_line(const std::string &text) {
    return text.substr(0, std::min(text.find('\n'), size_t{300}));
}

} // namespace

std::vector<std::string> namespaces_without_separator(std::string_view doveconf_output) {
    std::vector<std::string> names;
    for (const auto &ns : parse_doveconf_namespaces(doveconf_output))
        if (ns.separator.empty())
            names.push_back(ns.name);
    return names;
}

std::optional<char> list_separator(std::string_view transcript) {
    std::istringstream lines{std::string(transcript)};
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("* LIST (", 0) != 0)
            continue;
        const size_t close = line.find(')');
        if (close == std::string::npos || close + 2 >= line.size())
            return std::nullopt;
        std::string_view rest = std::string_view(line).substr(close + 2);
        if (rest.size() >= 3 && rest[0] == '"' && rest[1] != '\\' && rest[2] == '"')
            return rest[1];
        if (rest.size() >= 4 && rest.substr(0, 4) == "\"\\\\\"")
            return '\\';
        return std::nullopt; // NIL: a flat namespace
    }
    return std::nullopt;
}

Result<NamespaceSettings> probe_new_server_separators(const Config &config, const std::string &user,
                                                      const std::string &scratch_dir) {
    ProgramSpec conf;
    conf.argv = {config.dovecot_bin_dir + "/doveconf", "-c", config.sync.dovecot_config,
                 "namespace"};
    conf.env = doveadm_env();
    auto listed = run_captured(conf, std::chrono::seconds(60));
    if (!listed)
        return listed.error();
    if (!listed.value().exited_ok())
        return config_error("doveconf cannot read " + config.sync.dovecot_config + ": " +
                            first_line(listed.value().err));
    NamespaceSettings out;
    out.names = namespaces_without_separator(listed.value().out);
    if (out.names.empty())
        return out;
    // The server's own answer for this user: what its storage uses when no separator is set.
    const std::string commands = scratch_dir + "/separator.imap";
    if (auto w = write_private_file(commands, "a LIST \"\" \"\"\r\nb LOGOUT\r\n"); !w)
        return w.error();
    ProgramSpec imap;
    imap.argv = {"/bin/sh",
                 "-c",
                 "cat -- \"$0\" | \"$@\"", // a pipe: imap polls its stdin
                 commands,
                 config.dovecot_bin_dir + "/doveadm",
                 "-c",
                 config.sync.dovecot_config,
                 "exec",
                 "imap",
                 "-u",
                 user};
    imap.env = doveadm_env();
    auto answer = run_captured(imap, std::chrono::seconds(60));
    if (!answer)
        return answer.error();
    auto sep = list_separator(answer.value().out);
    if (!sep)
        return temporary_error("cannot learn the new server's hierarchy separator for " + user +
                               " (doveadm exec imap: " + first_line(answer.value().err) + ")");
    out.separator = *sep;
    return out;
}

Result<NamespaceSettings> dsync_namespace_settings(const SyncRequest &rq,
                                                   const std::string &scratch_dir) {
    auto settings = probe_new_server_separators(rq.config, rq.task.local_user, scratch_dir);
    if (!settings)
        return settings.error();
    auto old = discover_old_namespace(rq.provider, rq.task.old_login, rq.old_password);
    if (!old && old.error().kind != ErrorKind::permanent)
        return old.error();
    if (old) {
        settings.value().old_list_prefix = old.value().list_prefix();
        settings.value().old_namespace = old.value();
    }
    return settings;
}

} // namespace imapmig
