#include "sync/task_queue.hpp"

#include <algorithm>

namespace imapmig {

namespace {

std::optional<std::string> outcome_state(SyncOutcome o) {
    switch (o) {
    case SyncOutcome::synced:
        return "synced";
    case SyncOutcome::credentials_rejected:
        return "credentials_rejected";
    case SyncOutcome::failed:
        return "failed";
    case SyncOutcome::cancelled:
    case SyncOutcome::lease_lost:
    case SyncOutcome::busy:
        break;
    }
    return std::nullopt;
}

} // namespace

// SKIP LOCKED: workers on other hosts claim other rows instead of waiting for these.
// A 'syncing' row whose lease expired belongs to a dead worker and is due again.
const char *const task_claim_sql =
    "WITH due AS ("
    "  SELECT id, state AS prev_state FROM migrations"
    "  WHERE provider = ANY($2::text[])"
    "    AND ((state IN ('pending', 'synced', 'incomplete', 'failed') AND next_sync_at <= now())"
    "         OR (state = 'syncing' AND lease_expires < now()))"
    "  ORDER BY next_sync_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "UPDATE migrations m SET state = 'syncing', lease_owner = $1,"
    "  lease_expires = now() + make_interval(secs => $3::int), last_run_started = now(),"
    "  runs = m.runs + 1, folders_done = 0, updated_at = now() "
    "FROM due WHERE m.id = due.id "
    "RETURNING m.id, m.provider, m.old_login,"
    "  (SELECT username FROM accounts a WHERE a.id = m.account_id),"
    "  coalesce(m.secret_key_id, ''), coalesce(encode(m.secret, 'hex'), ''),"
    "  m.finish_requested, due.prev_state, m.attempts, m.messages_copied,"
    "  m.sync_identity::text, m.legacy_state_ok, m.verification_baseline";

std::chrono::seconds retry_backoff(int attempts) {
    const int exponent = std::clamp(attempts - 1, 0, 20);
    return std::min(std::chrono::seconds(60LL << exponent), std::chrono::seconds(6 * 3600));
}

std::string pg_text_array(const std::vector<std::string> &items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (char c : items[i]) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

Result<std::optional<ClaimedTask>> TaskQueue::claim(const std::vector<std::string> &providers) {
    auto r = conn_.exec("migration claim", task_claim_sql,
                        {owner_, pg_text_array(providers), std::to_string(lease_.count())});
    if (!r)
        return r.error();
    if (r.value().empty())
        return std::optional<ClaimedTask>();
    const Rows &row = r.value();
    ClaimedTask t;
    t.id = row.integer(0, 0);
    t.provider = row.str(0, 1);
    t.old_login = row.str(0, 2);
    t.local_user = row.str(0, 3);
    t.secret = sealed_secret_from_hex(row.text(0, 4), row.text(0, 5));
    t.finish_requested = row.boolean(0, 6);
    t.previous_state = row.str(0, 7);
    t.attempts = static_cast<int>(row.integer(0, 8));
    t.messages_before = row.integer(0, 9);
    t.sync_identity = row.str(0, 10);
    t.legacy_state_ok = row.boolean(0, 11);
    t.verification_baseline = row.boolean(0, 12);
    auto marks = conn_.exec("migration folders marks",
                            "SELECT old_name, old_uidvalidity, verified_uid FROM migration_folders"
                            " WHERE migration_id = $1",
                            {std::to_string(t.id)});
    if (!marks)
        return marks.error();
    for (int i = 0; i < marks.value().count(); ++i)
        t.verified.push_back(
            {marks.value().str(i, 0), marks.value().integer(i, 1), marks.value().integer(i, 2)});
    if (auto e = event(t.id, "sync_started", "claimed by " + owner_, std::nullopt, std::nullopt);
        !e)
        return e.error();
    return std::optional<ClaimedTask>(std::move(t));
}

Result<bool> TaskQueue::heartbeat(const ClaimedTask &task, const SyncProgress &p) {
    auto r =
        conn_.exec("migration heartbeat",
                   "UPDATE migrations SET lease_expires = now() + make_interval(secs => $3::int),"
                   " folders_total = $4, folders_done = $5, messages_total = $6,"
                   " messages_copied = $7, updated_at = now() "
                   "WHERE id = $1 AND lease_owner = $2 AND state = 'syncing' RETURNING id",
                   {std::to_string(task.id), owner_, std::to_string(lease_.count()),
                    std::to_string(p.folders_seen), std::to_string(p.folders_done),
                    std::to_string(p.messages_total),
                    std::to_string(task.messages_before + p.messages_copied)});
    if (!r)
        return r.error();
    return !r.value().empty();
}

Result<void> TaskQueue::release(const ClaimedTask &task, const std::string &why,
                                std::chrono::seconds delay) {
    // A task taken over from a dead worker goes back to what it was before that worker.
    auto r = conn_.exec(
        "migration release",
        "UPDATE migrations SET lease_owner = NULL, lease_expires = NULL,"
        " next_sync_at = now() + make_interval(secs => $4::int), updated_at = now(),"
        " state = CASE WHEN $3 <> 'syncing' THEN $3"
        "              WHEN last_sync_at IS NULL THEN 'pending' ELSE 'synced' END "
        "WHERE id = $1 AND lease_owner = $2 AND state = 'syncing' RETURNING id",
        {std::to_string(task.id), owner_, task.previous_state, std::to_string(delay.count())});
    if (!r)
        return r.error();
    if (r.value().empty())
        return {};
    return event(task.id, "released", why, std::nullopt, std::nullopt);
}

long long messages_copied_after(const ClaimedTask &task, SyncOutcome outcome,
                                const SyncProgress &p) {
    const long long counted = task.messages_before + p.messages_copied;
    if (outcome != SyncOutcome::synced || p.messages_present < 0)
        return counted;
    return std::max<long long>(counted, p.messages_present);
}

namespace {

// `{1,NULL,3}` for a bigint[] parameter; negative values are NULL.
std::string pg_bigint_array(const std::vector<long long> &items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i)
        out += (i ? "," : "") + (items[i] < 0 ? std::string("NULL") : std::to_string(items[i]));
    return out + "}";
}

// The state a run leaves, and what last_error says of it.
std::pair<std::string, std::string> recorded_state(const SyncReport &report) {
    if (report.outcome != SyncOutcome::synced)
        return {outcome_state(report.outcome).value_or(""), report.error};
    if (!report.verification)
        return {"incomplete", "not verified: " + report.verification_error};
    if (!report.verification->complete())
        return {"incomplete", "missing on the new server: " + report.verification->summary()};
    return {"synced", ""};
}

} // namespace

Result<void> TaskQueue::record(const ClaimedTask &task, const SyncReport &report,
                               int interval_minutes) {
    if (!outcome_state(report.outcome))
        return bug_error("TaskQueue::record: a run that was not synced, failed or rejected");
    const auto [state, error] = recorded_state(report);
    const SyncProgress &p = report.progress;
    const bool ok = report.outcome == SyncOutcome::synced;
    const long long next_secs =
        ok ? interval_minutes * 60LL
           : static_cast<long long>(retry_backoff(task.attempts + 1).count());
    const bool complete = report.complete && state == "synced";
    auto tx = Transaction::begin(conn_);
    if (!tx)
        return tx.error();
    // A verified run after `finish` is the last one: the old password is wiped with it.
    auto r = conn_.exec(
        "migration record",
        "UPDATE migrations SET lease_owner = NULL, lease_expires = NULL, updated_at = now(),"
        " state = CASE WHEN $3 = 'synced' AND finish_requested THEN 'finished' ELSE $3 END,"
        " secret = CASE WHEN $3 = 'synced' AND finish_requested THEN NULL ELSE secret END,"
        " secret_key_id = CASE WHEN $3 = 'synced' AND finish_requested THEN NULL"
        "                 ELSE secret_key_id END,"
        " finished_at = CASE WHEN $3 = 'synced' AND finish_requested THEN now() END,"
        " last_sync_at = CASE WHEN $3 IN ('synced', 'incomplete') THEN now()"
        "                ELSE last_sync_at END,"
        // The proxy window ends with the first complete, verified run; any other run while
        // users are still proxied is run again soon rather than after the interval.
        " first_synced_at = CASE WHEN $3 = 'synced' AND $11::boolean AND first_synced_at IS NULL"
        "                   THEN now() ELSE first_synced_at END,"
        " next_sync_at = now() + make_interval(secs => CASE WHEN $3 IN ('synced', 'incomplete')"
        "   AND NOT $11::boolean AND proxy_until_synced AND first_synced_at IS NULL THEN 30"
        "   ELSE $4::bigint END::double precision),"
        " attempts = CASE WHEN $3 IN ('synced', 'incomplete') THEN 0 ELSE attempts + 1 END,"
        " last_error = NULLIF($5, ''),"
        " folders_total = $6, folders_done = $7, messages_total = $8, messages_copied = $9,"
        " bytes_copied = CASE WHEN $10::bigint >= 0 THEN $10::bigint ELSE bytes_copied END,"
        " verified_at = CASE WHEN $12::bigint >= 0 THEN now() ELSE verified_at END,"
        " missing_messages = CASE WHEN $12::bigint >= 0 THEN $12::bigint"
        "                    WHEN $3 = 'incomplete' THEN NULL ELSE missing_messages END,"
        " verification_baseline = verification_baseline AND $12::bigint < 0 "
        "WHERE id = $1 AND lease_owner = $2 AND state = 'syncing' RETURNING state",
        {std::to_string(task.id), owner_, state, std::to_string(next_secs), error,
         std::to_string(p.folders_seen), std::to_string(p.folders_done),
         std::to_string(p.messages_total),
         std::to_string(messages_copied_after(task, report.outcome, p)), std::to_string(p.bytes),
         complete ? "true" : "false",
         std::to_string(report.verification ? report.verification->missing() : -1)});
    if (!r)
        return r.error();
    if (r.value().empty())
        return {}; // the admin took it away meanwhile: their state stands
    if (report.verification) {
        std::vector<std::string> old_names, new_names;
        std::vector<long long> old_counts, new_counts, missing, uidvalidities, verified_uids;
        for (const auto &f : report.verification->folders) {
            old_names.push_back(f.old_name);
            new_names.push_back(f.new_name);
            old_counts.push_back(f.old_messages);
            new_counts.push_back(f.new_messages);
            missing.push_back(f.missing);
            uidvalidities.push_back(f.uidvalidity);
            verified_uids.push_back(f.verified_uid);
        }
        auto cleared = conn_.exec("migration folders clear",
                                  "DELETE FROM migration_folders WHERE migration_id = $1",
                                  {std::to_string(task.id)});
        if (!cleared)
            return cleared.error();
        auto stored = conn_.exec(
            "migration folders store",
            "INSERT INTO migration_folders (migration_id, old_name, new_name, old_messages,"
            " new_messages, missing, old_uidvalidity, verified_uid) SELECT $1, o, n, om, nm, mi,"
            " uv, vu FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[],"
            " $6::bigint[], $7::bigint[], $8::bigint[]) AS t(o, n, om, nm, mi, uv, vu)",
            {std::to_string(task.id), pg_text_array(old_names), pg_text_array(new_names),
             pg_bigint_array(old_counts), pg_bigint_array(new_counts), pg_bigint_array(missing),
             pg_bigint_array(uidvalidities), pg_bigint_array(verified_uids)});
        if (!stored)
            return stored.error();
    }
    const std::string recorded = r.value().str(0, 0);
    std::string message = ok ? std::to_string(p.messages_copied) + " message(s) copied in " +
                                   std::to_string(p.folders_done) + " folder(s)"
                             : error;
    if (ok && state == "incomplete")
        message += "; " + error;
    if (report.verification && !report.verification->accepted.empty())
        message += "; taken as they are (baseline): " + report.verification->accepted;
    if (auto e = event(task.id, recorded, message, p.messages_copied, report.duration.count()); !e)
        return e;
    return tx.value().commit();
}

Result<void> TaskQueue::event(long long id, const std::string &kind, const std::string &message,
                              std::optional<long long> copied,
                              std::optional<long long> duration_ms) {
    std::string copied_text = copied ? std::to_string(*copied) : "";
    std::string duration_text = duration_ms ? std::to_string(*duration_ms) : "";
    auto r =
        conn_.exec("migration event",
                   "INSERT INTO migration_events (migration_id, kind, message, messages_copied,"
                   " duration_ms) VALUES ($1, $2, $3, NULLIF($4, '')::bigint,"
                   " NULLIF($5, '')::bigint)",
                   {std::to_string(id), kind, message, copied_text, duration_text});
    if (!r)
        return r.error();
    return {};
}

} // namespace imapmig
