#include "sync/task_queue.hpp"

#include <algorithm>

namespace imapmig {

namespace {

std::optional<MigrationState> outcome_state(SyncOutcome o) {
    switch (o) {
    case SyncOutcome::synced:
        return MigrationState::synced;
    case SyncOutcome::credentials_rejected:
        return MigrationState::credentials_rejected;
    case SyncOutcome::failed:
        return MigrationState::failed;
    case SyncOutcome::cancelled:
    case SyncOutcome::lease_lost:
    case SyncOutcome::busy:
        break;
    }
    return std::nullopt;
}

MigrationCounters counters(const SyncProgress &p, long long messages_copied) {
    return {p.folders_seen, p.folders_done, p.messages_total, messages_copied};
}

} // namespace

std::chrono::seconds retry_backoff(int attempts) {
    const int exponent = std::clamp(attempts - 1, 0, 20);
    return std::min(std::chrono::seconds(60LL << exponent), std::chrono::seconds(6 * 3600));
}

Result<std::optional<ClaimedTask>> TaskQueue::claim(const std::vector<std::string> &providers) {
    return claim_migration(conn_, owner_, providers, lease_);
}

Result<bool> TaskQueue::heartbeat(const ClaimedTask &task, const SyncProgress &p) {
    return renew_migration_lease(conn_, task.id, owner_, lease_,
                                 counters(p, task.messages_before + p.messages_copied));
}

Result<void> TaskQueue::release(const ClaimedTask &task, const std::string &why,
                                std::chrono::seconds delay) {
    auto released = release_migration(conn_, task.id, owner_, task.previous_state, delay);
    if (!released)
        return released.error();
    if (!released.value())
        return {};
    return insert_migration_event(conn_, task.id, "released", why, std::nullopt, std::nullopt);
}

long long messages_copied_after(const ClaimedTask &task, SyncOutcome outcome,
                                const SyncProgress &p) {
    const long long counted = task.messages_before + p.messages_copied;
    if (outcome != SyncOutcome::synced || p.messages_present < 0)
        return counted;
    return std::max<long long>(counted, p.messages_present);
}

namespace {

// The state a run leaves, and what last_error says of it.
std::pair<MigrationState, std::string> recorded_state(const SyncReport &report) {
    if (report.outcome != SyncOutcome::synced)
        return {outcome_state(report.outcome).value_or(MigrationState::failed), report.error};
    if (!report.verification)
        return {MigrationState::incomplete, "not verified: " + report.verification_error};
    if (!report.verification->complete())
        return {MigrationState::incomplete,
                "missing on the new server: " + report.verification->summary()};
    return {MigrationState::synced, ""};
}

std::vector<MigrationFolder> folders_of(const Verification &v) {
    std::vector<MigrationFolder> out;
    for (const auto &f : v.folders)
        out.push_back({f.old_name, f.new_name, f.old_messages, f.new_messages, f.missing,
                       f.uidvalidity, f.verified_uid});
    return out;
}

} // namespace

Result<void> TaskQueue::record(const ClaimedTask &task, const SyncReport &report,
                               int interval_minutes, bool finish) {
    if (!outcome_state(report.outcome))
        return bug_error("TaskQueue::record: a run that was not synced, failed or rejected");
    const auto [state, error] = recorded_state(report);
    const SyncProgress &p = report.progress;
    const bool ok = report.outcome == SyncOutcome::synced;
    const long long next_secs =
        ok ? interval_minutes * 60LL
           : static_cast<long long>(retry_backoff(task.attempts + 1).count());
    auto tx = Transaction::begin(conn_);
    if (!tx)
        return tx.error();
    MigrationRunRecord run{state,
                           next_secs,
                           error,
                           counters(p, messages_copied_after(task, report.outcome, p)),
                           p.bytes,
                           report.complete && state == MigrationState::synced,
                           report.verification ? report.verification->missing() : -1,
                           finish};
    auto r = record_migration_run(conn_, task.id, owner_, run);
    if (!r)
        return r.error();
    if (!r.value())
        return {}; // the admin took it away meanwhile: their state stands
    if (report.verification)
        if (auto stored = store_migration_folders(conn_, task.id, folders_of(*report.verification));
            !stored)
            return stored.error();
    std::string message = ok ? std::to_string(p.messages_copied) + " message(s) copied in " +
                                   std::to_string(p.folders_done) + " folder(s)"
                             : error;
    if (ok && state == MigrationState::incomplete)
        message += "; " + error;
    if (report.verification && !report.verification->accepted.empty())
        message += "; taken as they are (baseline): " + report.verification->accepted;
    if (auto e = insert_migration_event(conn_, task.id, to_string(*r.value()), message,
                                        p.messages_copied, report.duration.count());
        !e)
        return e;
    return tx.value().commit();
}

} // namespace imapmig
