// migrations cutover [ID | --domain D | --all]: the final syncs, then finished. Each selected
// migration is claimed under a lease (as the worker claims it), synced with its provider's
// engine until a run is complete (dsync exit 0, not 2) and verified, and finished by the same
// statement that records that run (the old password wiped). An interrupted cutover hands each
// running migration back as it was; a re-run skips the finished ones.
#include "cli.hpp"
#include "sync_job.hpp"

#include "base/fd.hpp"
#include "db/migrations_table.hpp"
#include "db/provider_guard.hpp"
#include "db/schema.hpp"
#include "sync/task_queue.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

namespace imapmig::cli {

namespace {

constexpr std::chrono::seconds cutover_lease{120};
// Runs per migration: each one after the first follows a run that found changes (dsync exit
// 2: mail arrived or moved meanwhile) or a verification that missed mail.
constexpr int max_runs = 5;

struct Selection {
    std::optional<long long> id;
    std::string domain;
    bool all = false;
};

std::optional<Selection> parse_selection(const std::vector<std::string> &args) {
    Selection s;
    int chosen = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        ++chosen;
        if (a == "--all") {
            s.all = true;
        } else if (a == "--domain") {
            if (i + 1 >= args.size() || args[i + 1].empty()) {
                usage_error("--domain expects a (local) domain name");
                return std::nullopt;
            }
            s.domain = args[++i];
        } else if (!a.empty() && a[0] == '-') {
            usage_error("migrations cutover: unknown option '" + a + "'");
            return std::nullopt;
        } else {
            s.id = parse_id(a);
            if (!s.id)
                return std::nullopt;
        }
    }
    if (chosen != 1) {
        usage_error("migrations cutover: give one of ID, --domain D or --all");
        return std::nullopt;
    }
    return s;
}

enum class Ending { finished, already_finished, failed, interrupted };

struct Outcome {
    long long id = 0;
    std::string user;
    Ending ending = Ending::failed;
    std::string detail; // why it failed, or what the runs did
};

using Log = std::function<void(const std::string &)>;

// Once more under the same lease: what the previous run established carries over, as the
// worker's next claim would read it back.
void carry_over(ClaimedTask &t, const SyncReport &r) {
    t.messages_before = messages_copied_after(t, r.outcome, r.progress);
    if (!r.verification)
        return;
    t.verified.clear();
    for (const auto &f : r.verification->folders)
        t.verified.push_back({f.old_name, f.uidvalidity, f.verified_uid, f.new_name});
    t.verification_baseline = false;
}

// Why a run that synced is not the last one ("" when it is: complete and verified). changing:
// how many of the runs so far ended with dsync's exit 2.
std::string not_final(const SyncReport &r, int changing) {
    if (!r.verification)
        return "not verified: " + r.verification_error;
    if (!r.verification->complete())
        return "missing on the new server: " + r.verification->summary();
    if (!r.complete)
        return "mail still changing at the old provider after " + std::to_string(max_runs) +
               " runs (dsync exit 2 " +
               (changing == max_runs ? std::string("each time")
                                     : "in " + std::to_string(changing) + " of them") +
               ")";
    return "";
}

class Cutover {
public:
    Cutover(const sync_job::Setup &setup, std::string owner, const std::atomic<bool> &stop, Log log)
        : s_(setup), owner_(std::move(owner)), stop_(stop), log_(std::move(log)) {}

    Outcome run(const MigrationRow &m) {
        out_ = Outcome{m.id, m.user, Ending::failed, ""};
        const ProviderConfig *provider = s_.config.provider(m.provider);
        if (provider == nullptr)
            return failed("provider " + m.provider + " is not configured");
        auto conn = Connection::open(s_.config.database);
        if (!conn)
            return failed(conn.error().message);
        // The slot first, as the worker takes it: the old provider never sees more than its
        // max_connections from us. It is a lock of this connection, released with it.
        std::optional<ProviderSlot> slot;
        while (!slot) {
            if (stop_)
                return ended(Ending::interrupted, "not started");
            auto r = ProviderSlot::acquire(conn.value(), *provider, std::chrono::milliseconds(500),
                                           ProviderSlot::Use::sync);
            if (!r)
                return failed(r.error().message);
            if (r.value())
                slot.emplace(std::move(*r.value()));
        }
        auto task = claim(conn.value());
        if (!task)
            return out_;
        return sync_until_final(conn.value(), std::move(*task));
    }

private:
    Outcome failed(std::string why) { return ended(Ending::failed, std::move(why)); }
    Outcome ended(Ending e, std::string detail) {
        out_.ending = e;
        out_.detail = std::move(detail);
        return out_;
    }

    // The migration, claimed; nothing (out_ says why) when it is finished, stopped or gone. A
    // worker's run under way is waited for.
    std::optional<ClaimedTask> claim(Connection &conn) {
        bool waiting = false;
        while (true) {
            if (stop_) {
                ended(Ending::interrupted, "not started");
                return std::nullopt;
            }
            auto claimed = claim_migration_by_id(conn, out_.id, owner_, cutover_lease);
            if (!claimed) {
                failed(claimed.error().message);
                return std::nullopt;
            }
            if (claimed.value())
                return std::move(*claimed.value());
            auto row = find_migration(conn, out_.id);
            if (!row) {
                failed(row.error().message);
                return std::nullopt;
            }
            if (!row.value()) {
                failed("deleted meanwhile");
                return std::nullopt;
            }
            switch (row.value()->state) {
            case MigrationState::finished:
                ended(Ending::already_finished, "");
                return std::nullopt;
            case MigrationState::stopped:
                failed("stopped by an admin: `migrations resume " + std::to_string(out_.id) +
                       "` first");
                return std::nullopt;
            default: // a worker's run (its lease ends with it), or a claim that just ended
                if (!waiting)
                    log_("migration=" + std::to_string(out_.id) + " user=" + out_.user +
                         ": waiting for the worker's run to end");
                waiting = true;
                std::this_thread::sleep_for(std::chrono::seconds(1));
            }
        }
    }

    Outcome sync_until_final(Connection &conn, ClaimedTask task) {
        TaskQueue queue(conn, owner_, cutover_lease);
        const int interval = s_.config.sync.interval_minutes;
        long long copied = 0;
        int changing = 0;
        for (int run = 1;; ++run) {
            const SyncReport report = sync_job::run_sync(s_, task, queue, stop_, log_);
            copied += report.progress.messages_copied;
            switch (report.outcome) {
            case SyncOutcome::cancelled:
                (void)queue.release(task, "cutover interrupted; handed back as it was");
                return ended(Ending::interrupted, "handed back as it was");
            case SyncOutcome::lease_lost:
                return failed("taken away during the run (stopped or deleted by an admin)");
            case SyncOutcome::busy:
                (void)queue.release(task, "sync state still locked by an earlier run",
                                    std::chrono::seconds(20));
                return failed("its sync state is still locked by an earlier run; run cutover "
                              "again");
            case SyncOutcome::failed:
            case SyncOutcome::credentials_rejected:
                if (auto r = queue.record(task, report, interval); !r)
                    return failed(report.error + " (recording it failed: " + r.error().message +
                                  ")");
                return failed(report.outcome == SyncOutcome::credentials_rejected
                                  ? "the old provider rejected the stored password: " + report.error
                                  : "sync failed: " + report.error);
            case SyncOutcome::synced:
                break;
            }
            if (!report.complete)
                ++changing;
            const std::string why_not = not_final(report, changing);
            if (why_not.empty()) {
                if (auto r = queue.record(task, report, interval, true); !r)
                    return failed("recording the last run failed: " + r.error().message);
                auto now = find_migration(conn, task.id);
                if (now && now.value() && now.value()->state == MigrationState::finished)
                    return ended(Ending::finished, std::to_string(run) + " run(s), " +
                                                       std::to_string(copied) +
                                                       " message(s) copied");
                return failed("not finished: changed by someone else during the last run");
            }
            if (run == max_runs) {
                (void)queue.record(task, report, interval);
                // That run is recorded as any other: the event keeps why the cutover did not
                // finish it, for `migrations show`.
                (void)insert_migration_event(conn, task.id, "cutover_failed",
                                             "cutover not finished: " + why_not, std::nullopt,
                                             std::nullopt);
                return failed(why_not);
            }
            carry_over(task, report);
        }
    }

    const sync_job::Setup &s_;
    const std::string owner_;
    const std::atomic<bool> &stop_;
    const Log log_;
    Outcome out_;
};

// What the admin sees: one line per migration as it ends and, on a terminal, a bar below them.
class Progress {
public:
    explicit Progress(size_t total) : total_(total), tty_(::isatty(STDOUT_FILENO) == 1) {}

    // The runs' log lines: above the bar on a terminal, else on stderr (stdout keeps one line
    // per migration and the summary).
    void line(const std::string &text) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!tty_) {
            std::cerr << text << std::endl;
            return;
        }
        clear_bar();
        std::cout << text << "\n";
        draw_bar();
    }
    void started(long long id) {
        std::lock_guard<std::mutex> lock(mutex_);
        running_.insert(id);
        draw_bar();
    }
    void ended(const Outcome &o) {
        std::lock_guard<std::mutex> lock(mutex_);
        running_.erase(o.id);
        ++done_;
        clear_bar();
        std::cout << "migration " << o.id << " (" << o.user << "): ";
        switch (o.ending) {
        case Ending::finished:
            std::cout << "finished, " << o.detail;
            break;
        case Ending::already_finished:
            std::cout << "already finished";
            break;
        case Ending::failed:
            std::cout << "FAILED: " << o.detail;
            break;
        case Ending::interrupted:
            std::cout << "interrupted, " << o.detail;
            break;
        }
        std::cout << "\n";
        counts_[static_cast<int>(o.ending)]++;
        draw_bar();
    }
    void close() {
        std::lock_guard<std::mutex> lock(mutex_);
        clear_bar();
        std::cout.flush();
    }

private:
    void clear_bar() {
        if (tty_ && drawn_)
            std::cout << "\r\033[K";
        drawn_ = false;
    }
    void draw_bar() {
        if (!tty_) {
            std::cout.flush();
            return;
        }
        constexpr size_t width = 30;
        const size_t filled = total_ == 0 ? width : done_ * width / total_;
        std::cout << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
                  << done_ << "/" << total_ << "  finished " << counts_[0] + counts_[1]
                  << "  failed " << counts_[2] << "  running " << running_.size() << std::flush;
        drawn_ = true;
    }

    std::mutex mutex_;
    const size_t total_;
    const bool tty_;
    bool drawn_ = false;
    size_t done_ = 0;
    size_t counts_[4] = {0, 0, 0, 0};
    std::set<long long> running_;
};

Result<std::vector<MigrationRow>> select_migrations(Connection &conn, const Selection &sel) {
    if (sel.id) {
        auto row = find_migration(conn, *sel.id);
        if (!row)
            return row.error();
        if (!row.value())
            return permanent_error("migration " + std::to_string(*sel.id) + " does not exist");
        return std::vector<MigrationRow>{std::move(*row.value())};
    }
    MigrationFilter filter;
    filter.domain = sel.domain;
    auto rows = list_migrations(conn, filter);
    if (!rows)
        return rows.error();
    if (rows.value().empty() && !sel.domain.empty())
        return permanent_error("no migrations in domain " + sel.domain);
    return rows;
}

// The outcomes in ID order, and the exit status.
int summarize(std::vector<Outcome> outcomes, size_t not_started, bool interrupted) {
    std::sort(outcomes.begin(), outcomes.end(),
              [](const Outcome &a, const Outcome &b) { return a.id < b.id; });
    size_t n[4] = {0, 0, 0, 0};
    for (const auto &o : outcomes)
        ++n[static_cast<int>(o.ending)];
    std::cout << (interrupted ? "cutover interrupted: " : "cutover: ") << n[0] << " finished, "
              << n[1] << " already finished, " << n[2] << " failed";
    if (n[3] + not_started > 0)
        std::cout << ", " << n[3] + not_started
                  << " left as they were (run the same cutover again)";
    std::cout << "\n";
    if (n[2] > 0) {
        std::cout << "failed:\n";
        for (const auto &o : outcomes)
            if (o.ending == Ending::failed)
                std::cout << "  migration " << o.id << " (" << o.user << "): " << o.detail << "\n";
    }
    return n[2] > 0 || interrupted ? exit_error : exit_ok;
}

} // namespace

int cmd_migrations_cutover(Context &ctx) {
    auto sel = parse_selection(ctx.args);
    if (!sel)
        return exit_usage;
    auto setup = sync_job::load_setup(ctx.config_path);
    if (!setup)
        return fail(setup.error().message);
    // This process opens sealed passwords, as the worker does.
    sync_job::keep_memory_private();
    const sync_job::Setup &s = *setup.value();
    auto conn = connect_database(s.config);
    if (!conn)
        return exit_error;
    auto schema = schema_status(*conn);
    if (!schema)
        return fail(schema.error().message);
    if (schema.value().current != schema.value().latest)
        return fail("database schema version " + std::to_string(schema.value().current) +
                    ", this imap-migrator needs " + std::to_string(schema.value().latest) +
                    ": back up the database and run `imap-migrator db upgrade`");
    auto rows = select_migrations(*conn, *sel);
    if (!rows)
        return fail(rows.error().message);
    const std::vector<MigrationRow> &todo = rows.value();

    // SIGINT/SIGTERM stop the runs under way (their migrations are handed back as they were)
    // and start no more. Blocked before any thread starts: all of them inherit it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    Fd signals(::signalfd(-1, &set, SFD_CLOEXEC));

    Progress progress(todo.size());
    std::atomic<bool> stop{false};
    std::atomic<size_t> next{0};
    std::mutex outcomes_mutex;
    std::vector<Outcome> outcomes;
    const std::string owner = "cutover@" + sync_job::process_identity();
    auto work = [&] {
        Cutover cutover(s, owner, stop, [&](const std::string &l) { progress.line(l); });
        for (size_t i; !stop && (i = next++) < todo.size();) {
            progress.started(todo[i].id);
            Outcome o = todo[i].state == MigrationState::finished
                            ? Outcome{todo[i].id, todo[i].user, Ending::already_finished, ""}
                            : cutover.run(todo[i]);
            progress.ended(o);
            std::lock_guard<std::mutex> lock(outcomes_mutex);
            outcomes.push_back(std::move(o));
        }
    };
    const size_t threads =
        std::clamp<size_t>(static_cast<size_t>(std::max(1, s.config.sync.max_parallel_accounts)), 1,
                           std::max<size_t>(1, todo.size()));
    std::atomic<size_t> running{threads};
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            work();
            --running;
        });
    bool interrupted = false;
    while (running > 0) {
        pollfd fd{signals.get(), POLLIN, 0};
        if (::poll(&fd, 1, 200) > 0 && (fd.revents & POLLIN)) {
            signalfd_siginfo si{};
            (void)!::read(signals.get(), &si, sizeof si);
            if (!interrupted)
                progress.line("interrupted: stopping the runs under way (their migrations are "
                              "handed back as they were)");
            interrupted = true;
            stop = true;
        }
    }
    for (auto &t : pool)
        t.join();
    progress.close();
    const size_t not_started = todo.size() - outcomes.size();
    return summarize(std::move(outcomes), not_started, interrupted);
}

} // namespace imapmig::cli
