#include "sync/dsync/dsync_uidvalidity.hpp"

#include "base/supervisor.hpp"
#include "sync/dsync/dsync_config.hpp"
#include "sync/dsync/dsync_output.hpp"

#include <sys/wait.h>

namespace imapmig {

namespace {

constexpr std::chrono::seconds doveadm_timeout{120};

std::vector<std::string> doveadm_env() {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
}

std::string first_line(const std::string &text) {
    return text.substr(0, std::min(text.find('\n'), size_t{300}));
}

// `doveadm mailbox status uidvalidity '*'` on one side: the new one with the server's own
// config, or the old one with the run's config and the imapc overrides (its names as the new
// server spells them).
Result<std::map<std::string, uint32_t>> uidvalidities(const SyncRequest &rq,
                                                      const DovecotLine &line,
                                                      const std::string &run_config, bool old) {
    ProgramSpec spec;
    spec.argv = {rq.config.dovecot_bin_dir + "/doveadm", "-c",
                 old ? run_config : rq.config.sync.dovecot_config};
    if (old) {
        for (const auto &o : line.imapc_mail_overrides())
            spec.argv.push_back(o);
        add_dsync_passwords(spec, rq.provider, rq.old_password);
    }
    for (const char *a : {"mailbox", "status", "-u"})
        spec.argv.push_back(a);
    spec.argv.insert(spec.argv.end(), {rq.task.local_user, "uidvalidity", "*"});
    spec.env = doveadm_env();
    auto run = run_captured(spec, doveadm_timeout);
    if (!run)
        return run.error();
    // Exit 68 when '*' also matches a \Noselect folder: the others are listed all the same.
    auto found = parse_mailbox_uidvalidity(run.value().out);
    const int status = run.value().status;
    if (!run.value().exited_ok() && !(WIFEXITED(status) && WEXITSTATUS(status) == 68)) {
        DsyncLog log;
        for (size_t pos = 0; pos < run.value().err.size();) {
            const size_t eol = run.value().err.find('\n', pos);
            log.feed(std::string_view(run.value().err).substr(pos, eol - pos));
            pos = eol == std::string::npos ? run.value().err.size() : eol + 1;
        }
        return temporary_error(std::string("reading the UIDVALIDITY of the ") +
                               (old ? "old" : "new") +
                               " folders failed: " + log.describe_failure(status));
    }
    return found;
}

} // namespace

Result<void> adopt_old_uidvalidities(const SyncRequest &rq, const DovecotLine &line,
                                     const std::string &run_config) {
    auto old = uidvalidities(rq, line, run_config, true);
    if (!old)
        return old.error();
    auto here = uidvalidities(rq, line, run_config, false);
    if (!here)
        return here.error();
    for (const auto &[name, value] : here.value()) {
        auto it = old.value().find(name);
        if (it == old.value().end() || it->second == value)
            continue;
        ProgramSpec spec;
        spec.argv = {rq.config.dovecot_bin_dir + "/doveadm",
                     "-c",
                     rq.config.sync.dovecot_config,
                     "mailbox",
                     "update",
                     "-u",
                     rq.task.local_user,
                     "--uid-validity",
                     std::to_string(it->second),
                     name};
        spec.env = doveadm_env();
        auto run = run_captured(spec, doveadm_timeout);
        if (!run)
            return run.error();
        if (!run.value().exited_ok())
            return temporary_error("setting the old UIDVALIDITY on " + name +
                                   " failed: " + first_line(run.value().err));
    }
    return {};
}

} // namespace imapmig
