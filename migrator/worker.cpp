#include "worker.hpp"

#include "sync_job.hpp"

#include "base/child_process.hpp"
#include "base/fd.hpp"
#include "config/config.hpp"
#include "db/migrations_table.hpp"
#include "db/provider_guard.hpp"
#include "db/providers_table.hpp"
#include "db/schema.hpp"
#include "db/store.hpp"
#include "sync/task_queue.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

namespace imapmig::worker {

namespace {

using sync_job::keep_memory_private;
using sync_job::load_setup;
using sync_job::run_sync;
using sync_job::Setup;
using sync_job::task_label;

std::string worker_identity() {
    return sync_job::process_identity();
}

constexpr std::chrono::seconds lease{120};

std::mutex log_mutex;

// One line per event, as journald expects.
void log_line(const std::string &line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    std::cerr << line << std::endl;
}

// Run directories a killed worker left behind (its private per-run files).
void remove_leftovers(const Config &config) {
    auto removed = remove_stale_run_dirs(config.sync.runtime_dir);
    if (!removed)
        log_line("worker: " + removed.error().message);
    else if (removed.value() > 0)
        log_line("worker: removed " + std::to_string(removed.value()) +
                 " run directory(ies) left by a stopped worker in " + config.sync.runtime_dir);
}

struct Job {
    std::shared_ptr<const Setup> setup;
    std::unique_ptr<Connection> conn; // the slot's lock lives in this session
    std::optional<ProviderSlot> slot;
    ClaimedTask task;
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    int done_fd = -1; // the worker's eventfd (it owns it and outlives the job): a finished
                      // job wakes the main loop at once
    std::thread thread;
};

void record_report(TaskQueue &queue, const Job &job, const SyncReport &report) {
    const ClaimedTask &t = job.task;
    switch (report.outcome) {
    case SyncOutcome::cancelled:
        (void)queue.release(t, "worker stopped; the run will continue later");
        log_line(task_label(t) + ": interrupted, handed back");
        return;
    case SyncOutcome::busy:
        (void)queue.release(t, "sync state still locked by an earlier run; retrying",
                            std::chrono::seconds(20));
        log_line(task_label(t) + ": sync state still locked by an earlier run, retrying in 20 s");
        return;
    case SyncOutcome::lease_lost:
        log_line(task_label(t) + ": taken away (stopped or deleted by an admin), run aborted");
        return;
    case SyncOutcome::synced:
    case SyncOutcome::failed:
    case SyncOutcome::credentials_rejected:
        break;
    }
    auto r = queue.record(t, report, job.setup->config.sync.interval_minutes);
    std::ostringstream msg;
    msg << task_label(t) << ": ";
    const bool verified = report.verification && report.verification->complete();
    if (report.outcome == SyncOutcome::synced) {
        msg << (!verified            ? "incomplete"
                : t.finish_requested ? "finished"
                                     : "synced")
            << ", " << report.progress.messages_copied << " message(s) copied, "
            << report.progress.folders_done << " folder(s), " << report.duration.count() << " ms";
        if (!report.verification)
            msg << "; not verified: " << report.verification_error;
        else if (!verified)
            msg << "; missing on the new server: " << report.verification->summary();
    } else
        msg << (report.outcome == SyncOutcome::credentials_rejected ? "credentials_rejected: "
                                                                    : "failed: ")
            << report.error;
    if (!r)
        msg << " (recording it failed: " << r.error().message << ")";
    log_line(msg.str());
}

void run_job(Job &job) {
    TaskQueue queue(*job.conn, worker_identity(), lease);
    const SyncReport report = run_sync(*job.setup, job.task, queue, job.cancel, log_line);
    record_report(queue, job, report);
    job.done = true;
    const uint64_t one = 1;
    (void)!::write(job.done_fd, &one, sizeof one);
}

class Worker {
public:
    explicit Worker(const Options &o) : options_(o), owner_(worker_identity()) {}
    int run();

private:
    bool connect();
    void fill();
    bool start_one(const ProviderConfig &provider);
    void reap();
    void wait_for_events();
    void wait_or_stop(std::chrono::seconds how_long);
    void handle_signal();
    void reload();
    void publish_endpoints();
    void shutdown();

    Options options_;
    std::string owner_;
    std::shared_ptr<const Setup> setup_;
    std::unique_ptr<Connection> conn_;
    std::unique_ptr<Connection> spare_;
    // Before jobs_: the jobs write done_fd_ until they are joined.
    Fd signal_fd_;
    Fd done_fd_; // eventfd written by each job as it ends
    std::list<Job> jobs_;
    bool stopping_ = false;
};

// Where Dovecot proxies `cutover: proxy` users: follows the configuration, not the first login
// that happened to write it.
void Worker::publish_endpoints() {
    if (auto r = publish_providers(*conn_, setup_->config); !r)
        log_line("worker: providers not published for the proxy: " + r.error().message);
}

bool Worker::connect() {
    auto c = Connection::open(setup_->config.database);
    if (!c) {
        log_line("worker: " + c.error().message);
        return false;
    }
    // The worker writes columns of the latest schema: after a package upgrade it waits for the
    // admin's `db upgrade` instead of failing every task.
    auto schema = schema_status(c.value());
    if (!schema || schema.value().current != schema.value().latest) {
        log_line("worker: " +
                 (schema ? "database schema version " + std::to_string(schema.value().current) +
                               ", this worker needs " + std::to_string(schema.value().latest) +
                               ": back up the database and run `imap-migrator db "
                               "upgrade`; retrying in a minute"
                         : schema.error().message));
        return false;
    }
    conn_ = std::make_unique<Connection>(std::move(c.value()));
    publish_endpoints();
    // NOTIFY from the plugin: a first login just created a task.
    if (auto l = conn_->exec("listen", "LISTEN imap_migration"); !l) {
        log_line("worker: " + l.error().message);
        conn_.reset();
        return false;
    }
    return true;
}

bool Worker::start_one(const ProviderConfig &provider) {
    if (!spare_) {
        auto c = Connection::open(setup_->config.database);
        if (!c)
            return false;
        spare_ = std::make_unique<Connection>(std::move(c.value()));
    }
    auto slot = ProviderSlot::acquire(*spare_, provider, std::chrono::milliseconds(0),
                                      ProviderSlot::Use::sync);
    if (!slot || !slot.value())
        return false; // the provider is at max_connections (logins or other workers)
    TaskQueue queue(*conn_, owner_, lease);
    auto claimed = queue.claim({provider.name});
    if (!claimed) {
        log_line("worker: " + claimed.error().message);
        return false;
    }
    if (!claimed.value())
        return false; // slot released with `slot`
    Job &job = jobs_.emplace_back();
    job.setup = setup_;
    job.conn = std::move(spare_);
    job.slot.emplace(std::move(*slot.value()));
    job.task = std::move(*claimed.value());
    job.done_fd = done_fd_.get();
    job.thread = std::thread(run_job, std::ref(job));
    return true;
}

void Worker::fill() {
    const int max = setup_->config.sync.max_parallel_accounts;
    bool progress = true;
    while (progress && static_cast<int>(jobs_.size()) < max) {
        progress = false;
        for (const auto &p : setup_->config.providers) {
            if (static_cast<int>(jobs_.size()) >= max)
                break;
            progress |= start_one(p);
        }
    }
}

void Worker::reap() {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        if (it->done.load()) {
            it->thread.join();
            it = jobs_.erase(it); // releases the provider slot, closes its session
        } else {
            ++it;
        }
    }
}

void Worker::wait_for_events() {
    // A NOTIFY (first login, admin action), a finished sync or a signal wakes us; the tick
    // only finds re-syncs and retries that came due.
    pollfd fds[3] = {{signal_fd_.get(), POLLIN, 0},
                     {PQsocket(conn_->raw()), POLLIN, 0},
                     {done_fd_.get(), POLLIN, 0}};
    ::poll(fds, 3, jobs_.empty() ? 15000 : 1000);
    if (fds[2].revents & POLLIN) {
        uint64_t n = 0;
        (void)!::read(done_fd_.get(), &n, sizeof n);
    }
    if (fds[1].revents & POLLIN) {
        PQconsumeInput(conn_->raw());
        while (PGnotify *n = PQnotifies(conn_->raw()))
            PQfreemem(n);
    }
    if (fds[0].revents & POLLIN)
        handle_signal();
}

void Worker::wait_or_stop(std::chrono::seconds how_long) {
    pollfd fd{signal_fd_.get(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(how_long.count() * 1000)) > 0)
        handle_signal();
}

void Worker::handle_signal() {
    signalfd_siginfo si{};
    if (::read(signal_fd_.get(), &si, sizeof si) != sizeof si)
        return;
    if (si.ssi_signo == SIGHUP)
        reload();
    else
        stopping_ = true;
}

void Worker::reload() {
    auto fresh = load_setup(options_.config_path);
    if (!fresh) {
        log_line("worker: configuration not reloaded, keeping the old one:\n" +
                 fresh.error().message);
        return;
    }
    setup_ = fresh.value(); // running syncs keep the setup they started with
    spare_.reset();
    if (conn_ && !conn_->broken())
        publish_endpoints();
    log_line("worker: configuration reloaded");
}

void Worker::shutdown() {
    for (auto &job : jobs_)
        job.cancel = true;
    for (auto &job : jobs_)
        job.thread.join();
    jobs_.clear();
    log_line("worker: stopped");
}

int Worker::run() {
    keep_memory_private();
    auto setup = load_setup(options_.config_path);
    if (!setup) {
        std::cerr << setup.error().message << "\n";
        return 1;
    }
    setup_ = setup.value();
    remove_leftovers(setup_->config);
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, nullptr); // before any thread: all inherit it
    signal_fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC));
    done_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    log_line("worker: started as " + owner_ + (options_.once ? " (once)" : ""));
    while (!stopping_) {
        if (!conn_ || conn_->broken()) {
            if (!connect()) {
                if (options_.once)
                    return 1;
                wait_or_stop(std::chrono::seconds(60));
                continue;
            }
        }
        reap();
        fill();
        if (options_.once && jobs_.empty())
            break;
        wait_for_events();
    }
    shutdown();
    return 0;
}

} // namespace

int run(const Options &options) {
    Worker w(options);
    return w.run();
}

} // namespace imapmig::worker
