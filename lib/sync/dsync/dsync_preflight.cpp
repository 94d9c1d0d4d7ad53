#include "sync/dsync/dsync_preflight.hpp"

#include "base/supervisor.hpp"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace imapmig {

namespace {

std::string process_user() {
    const uid_t uid = ::geteuid();
    if (const passwd *pw = ::getpwuid(uid))
        return std::string(pw->pw_name) + " (uid " + std::to_string(uid) + ")";
    return "uid " + std::to_string(uid);
}

// mail_uid of the new server's config, as a uid; nullopt when unset (the userdb decides).
Result<std::optional<uid_t>> configured_mail_uid(const Config &config) {
    ProgramSpec spec;
    spec.argv = {config.dovecot_bin_dir + "/doveconf", "-c", config.sync.dovecot_config, "-h",
                 "mail_uid"};
    spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    auto run = run_captured(spec, std::chrono::seconds(30));
    if (!run)
        return config_error(run.error().message);
    std::string value = run.value().out;
    while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
        value.pop_back();
    if (!run.value().exited_ok())
        return config_error("doveconf cannot read " + config.sync.dovecot_config + ": " +
                            run.value().err.substr(0, run.value().err.find('\n')));
    if (value.empty())
        return std::optional<uid_t>();
    uid_t uid = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), uid);
    if (ec == std::errc() && end == value.data() + value.size())
        return std::optional<uid_t>(uid);
    if (const passwd *pw = ::getpwnam(value.c_str()))
        return std::optional<uid_t>(pw->pw_uid);
    return config_error("mail_uid = " + value + " in " + config.sync.dovecot_config +
                        " is not a known user");
}

} // namespace

std::vector<std::string> dsync_providers(const Config &config) {
    std::vector<std::string> names;
    for (const auto &p : config.providers)
        if (config.engine_for(p) == SyncEngine::dsync)
            names.push_back(p.name);
    return names;
}

Result<void> check_dsync_usable(const Config &config) {
    const auto providers = dsync_providers(config);
    if (providers.empty())
        return {};
    std::string who = "sync.engine dsync (provider";
    who += providers.size() > 1 ? "s " : " ";
    for (size_t i = 0; i < providers.size(); ++i)
        who += (i ? ", " : "") + providers[i];
    who += "): ";
    if (::access(config.sync.dovecot_config.c_str(), R_OK) != 0)
        return config_error(who + "sync.dovecot_config " + config.sync.dovecot_config +
                            " is not readable: " + std::strerror(errno));
    if (::geteuid() == 0)
        return {};
    auto mail_uid = configured_mail_uid(config);
    if (!mail_uid)
        return config_error(who + mail_uid.error().message);
    const std::string fix =
        "; doveadm writes the mailboxes directly and switches to the mail user, so run the "
        "worker as root or as the mail user (imap-migrator.service: User= in a drop-in, see "
        "the comments there), or use sync.engine: offlineimap";
    if (!mail_uid.value())
        return config_error(who + "mail_uid is not set in " + config.sync.dovecot_config +
                            " (the userdb decides each user's uid) and this process runs as " +
                            process_user() + ", not root" + fix);
    if (*mail_uid.value() != ::geteuid())
        return config_error(who + "this process runs as " + process_user() +
                            ", but the mail store belongs to mail_uid (uid " +
                            std::to_string(*mail_uid.value()) + ")" + fix);
    return {};
}

} // namespace imapmig
