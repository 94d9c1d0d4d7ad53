#include "sync_job.hpp"

#include "sync/dsync/dsync_preflight.hpp"
#include "sync/dsync/dsync_sync.hpp"
#include "sync/mailbox_size.hpp"
#include "sync/offlineimap/offlineimap_sync.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace imapmig::sync_job {

Result<std::shared_ptr<const Setup>> load_setup(const std::string &path) {
    ConfigLoadResult loaded = load_config(path);
    if (!loaded.config) {
        std::string all;
        for (const auto &d : loaded.errors)
            all += (all.empty() ? "" : "\n") + d.to_string();
        return config_error(all);
    }
    if (!loaded.config->local_imap)
        return config_error(path + ": syncs need the local_imap section (Dovecot master user)");
    // A process that cannot run its dsync engine (wrong user) says so once, at start or reload.
    if (auto usable = check_dsync_usable(*loaded.config); !usable)
        return config_error(path + ": " + usable.error().message);
    auto keys =
        KeyRing::load(loaded.config->secret_key_file, loaded.config->previous_secret_key_files);
    if (!keys)
        return keys.error();
    return std::make_shared<const Setup>(Setup{std::move(*loaded.config), std::move(keys.value())});
}

std::string process_identity() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(::getpid());
}

void keep_memory_private() {
    ::prctl(PR_SET_DUMPABLE, 0);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
}

std::string task_label(const ClaimedTask &t) {
    return "migration=" + std::to_string(t.id) + " user=" + t.local_user +
           " provider=" + t.provider;
}

SyncReport run_sync(const Setup &s, const ClaimedTask &t, TaskQueue &queue,
                    const std::atomic<bool> &cancel,
                    const std::function<void(const std::string &)> &log) {
    const ProviderConfig *provider = s.config.provider(t.provider);
    auto old_pw = s.keys.open(t.secret, migration_secret_context(t.provider, t.old_login));
    auto master = read_password_file(s.config.local_imap->master_password_file);
    SyncReport report;
    if (!old_pw || !master || provider == nullptr) {
        report.error = !old_pw   ? "cannot open the sealed old password: " + old_pw.error().message
                       : !master ? master.error().message
                                 : "provider " + t.provider + " is no longer configured";
        return report;
    }
    const SyncEngine engine = s.config.engine_for(*provider);
    log(task_label(t) + ": sync started (" + std::string(to_string(engine)) + ")");
    SyncRequest rq{s.config, *provider, t, old_pw.value(), master.value()};
    auto heartbeat = [&](const SyncProgress &p) {
        auto alive = queue.heartbeat(t, p);
        return !alive || alive.value(); // a database hiccup is no reason to abort
    };
    report = engine == SyncEngine::dsync ? run_dsync(rq, cancel, heartbeat)
                                         : run_offlineimap(rq, cancel, heartbeat);
    // dsync measured the new mailbox's vsize itself; offlineimap reports no sizes.
    if (engine == SyncEngine::offlineimap && report.outcome == SyncOutcome::synced) {
        auto bytes = mailbox_bytes(*s.config.local_imap, t.local_user, master.value());
        if (bytes)
            report.progress.bytes = bytes.value();
        else
            log(task_label(t) + ": mailbox size unknown: " + bytes.error().message);
    }
    return report;
}

} // namespace imapmig::sync_job
