// bench/sync-bench: how fast N accounts x M messages (default 10 x 500, ~25 MB each) move from
// an old provider to the new Dovecot, all on 127.0.0.1 in temp dirs:
//   worker (offlineimap engine)  `imap-migrator worker --once`, sync.engine left at its default
//   worker (dsync engine)        the same with `sync.engine: dsync` (n/a while check-config
//                                refuses that key)
//   (b) offlineimap, seed's way  one `offlineimap -o` run over `generate-offlineimap-config`
//   (c) doveadm backup -R        Dovecot's own migration tool with imapc, one run per account
// Every method starts from empty new mailboxes; after each, every account's folders (message
// counts and flags) must equal what was seeded, or the bench aborts.
// Usage: sync-bench [--quick] [--results FILE | --no-results] [--accounts N] [--messages N]
#include "bench_report.hpp"
#include "cpu_usage.hpp"
#include "mail_seeder.hpp"
#include "migration_env.hpp"
#include "process.hpp"
#include "rss_sampler.hpp"
#include "sync/dsync/dovecot_line.hpp"
#include "temp_dir.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace testsupport;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The worker's default sync.max_parallel_accounts; generate-offlineimap-config writes it as
// maxsyncaccounts, and the doveadm runs get the same number of accounts at a time.
constexpr int parallel_accounts = 4;
const std::string domain = "other.example"; // declared in MigrationEnv's config, no rename

struct Account {
    std::string address;
    std::string password;
    std::string migration_id;
    bench::SeededMailbox seeded;
};

struct Outcome {
    std::string method;
    std::string parallelism;
    std::optional<std::string> unavailable; // why the method could not run
    double seconds = 0;
    double cpu_seconds = 0; // the tool's processes only, servers excluded
    long peak_rss_kb = 0;
    double server_cpu_seconds = 0; // both Dovecots and PostgreSQL meanwhile
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct ChildEnd {
    int exit_code = -1;     // or 128 + signal
    double cpu_seconds = 0; // user + system of the child and every descendant it waited for
};

// Waits for our child (wait4, so its CPU time comes along). Kills it and throws after timeout.
ChildEnd wait_exit(pid_t pid, std::chrono::seconds timeout, const std::string &what) {
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    rusage ru{};
    for (;;) {
        const pid_t r = ::wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            throw std::runtime_error("wait4 " + what + ": " + std::strerror(errno));
        if (Clock::now() > deadline) {
            stop_child(pid, SIGKILL, 2000);
            throw std::runtime_error(what + " did not finish within " +
                                     std::to_string(timeout.count()) + " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto secs = [](const timeval &tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            secs(ru.ru_utime) + secs(ru.ru_stime)};
}

// Runs argv as one timed child; peak RSS over its process tree.
struct Timed {
    int exit_code = -1;
    double seconds = 0;
    double cpu_seconds = 0;
    long peak_rss_kb = 0;
};
Timed run_timed(const std::vector<std::string> &argv, const std::string &log,
                std::chrono::seconds timeout) {
    SpawnOptions o;
    o.output_path = log;
    const auto start = Clock::now();
    const pid_t pid = spawn(argv, o);
    bench::RssSampler rss([pid] { return std::vector<pid_t>{pid}; });
    const ChildEnd end = wait_exit(pid, timeout, argv[0]);
    Timed t;
    t.exit_code = end.exit_code;
    t.cpu_seconds = end.cpu_seconds;
    t.seconds = seconds_since(start);
    t.peak_rss_kb = rss.stop();
    return t;
}

class SyncBench {
public:
    SyncBench(int accounts, int messages, std::chrono::seconds timeout);

    Outcome worker(const std::string &method, const std::string &config_path);
    Outcome offlineimap();
    Outcome doveadm_backup();
    // The config with `sync.engine: dsync`, or why check-config refuses it.
    std::optional<std::string> dsync_config(std::string *why_not);

    long messages() const;
    long long bytes() const;
    int accounts() const { return static_cast<int>(accounts_.size()); }
    const std::string &config_path() const { return env_.config_path; }

private:
    void seed(int count, int messages);
    void create_tasks();
    void empty_new_side();
    void verify(const std::string &method);
    std::string log_tail(const std::string &log) const;
    double server_cpu();

    MigrationEnv env_;
    std::vector<Account> accounts_;
    std::chrono::seconds timeout_;
    int worker_runs_ = 0;
};

SyncBench::SyncBench(int accounts, int messages, std::chrono::seconds timeout) : timeout_(timeout) {
    seed(accounts, messages);
    env_.start_new_dovecot();
    create_tasks();
}

void SyncBench::seed(int count, int messages) {
    const auto start = Clock::now();
    const std::string domain_dir = env_.old.dovecot().base() + "/mail/" + domain;
    make_dir(env_.old.dovecot().base() + "/mail", 0755, "nobody");
    make_dir(domain_dir, 0755, "nobody");
    for (int i = 0; i < count; ++i) {
        Account a;
        const std::string local = "bench" + std::to_string(i + 1);
        a.address = local + "@" + domain;
        a.password = "Bench-0ld-Pw-" + std::to_string(i + 1) + "!";
        // While the provider runs each added user costs up to a second (passwd-file mtime).
        env_.old.add_user(a.address, a.password);
        a.seeded = bench::seed_mailbox(domain_dir + "/" + local, a.address, messages,
                                       1000 + static_cast<unsigned>(i), "nobody");
        accounts_.push_back(std::move(a));
    }
    // The provider must read back exactly what was written, or every comparison is moot.
    for (const Account &a : accounts_) {
        const FolderMap old_side = folder_stats(env_.old.dovecot(), a.address, '.');
        if (old_side != a.seeded.folders) {
            std::ostringstream s;
            s << "the old provider does not see the seeded mail of " << a.address << "\nseeded:\n"
              << a.seeded.folders << "old provider:\n"
              << old_side;
            throw std::runtime_error(s.str());
        }
    }
    std::cout << "seeded " << count << " accounts x " << messages << " messages ("
              << bench::fmt(bytes() / 1e6, 1) << " MB) in " << bench::fmt(seconds_since(start), 1)
              << " s\n";
}

// The normal path: a first login at the new Dovecot creates the account and its task.
void SyncBench::create_tasks() {
    for (Account &a : accounts_) {
        const auto reply = env_.imap_login(a.address, a.password);
        if (reply.status != "OK")
            throw std::runtime_error("first login of " + a.address + " failed: " + reply.status);
        a.migration_id = env_.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = "
                                  "m.account_id WHERE a.username = '" +
                                  a.address + "'");
        if (a.migration_id.empty())
            throw std::runtime_error("the first login of " + a.address + " created no task");
    }
}

long SyncBench::messages() const {
    long n = 0;
    for (const Account &a : accounts_)
        n += a.seeded.messages;
    return n;
}

long long SyncBench::bytes() const {
    long long n = 0;
    for (const Account &a : accounts_)
        n += a.seeded.bytes;
    return n;
}

// Every method starts from nothing: no mailbox on the new side, no sync state, tasks due.
void SyncBench::empty_new_side() {
    for (const Account &a : accounts_) {
        const std::string local = a.address.substr(0, a.address.find('@'));
        fs::remove_all(env_.new_dovecot().base() + "/mail/" + domain + "/" + local);
    }
    if (fs::exists(env_.state_dir))
        for (const auto &entry : fs::directory_iterator(env_.state_dir))
            fs::remove_all(entry.path());
    for (const Account &a : accounts_) {
        const auto r = env_.migrator({"migrations", "resync", a.migration_id});
        if (r.exit_code != 0)
            throw std::runtime_error("migrations resync " + a.migration_id + ": " + r.err);
    }
}

void SyncBench::verify(const std::string &method) {
    for (const Account &a : accounts_) {
        const FolderMap copied = folder_stats(env_.new_dovecot(), a.address, '/');
        if (copied != a.seeded.folders) {
            std::ostringstream s;
            s << method << " copied " << a.address << " wrongly\nseeded:\n"
              << a.seeded.folders << "new side:\n"
              << copied;
            throw std::runtime_error(s.str());
        }
    }
}

double SyncBench::server_cpu() {
    return bench::tree_cpu_seconds(env_.old.dovecot().pid()) +
           bench::tree_cpu_seconds(env_.new_dovecot().pid()) +
           bench::tree_cpu_seconds(env_.pg.pid());
}

std::string SyncBench::log_tail(const std::string &log) const {
    return "\n--- " + log + " (tail) ---\n" + file_tail(log, 30);
}

Outcome SyncBench::worker(const std::string &method, const std::string &config) {
    empty_new_side();
    const std::string log = env_.dir.file("worker-" + std::to_string(++worker_runs_) + ".log");
    const double server_before = server_cpu();
    const Timed t = run_timed({migrator_path(), "-c", config, "worker", "--once"}, log, timeout_);
    const double server = server_cpu() - server_before;
    if (t.exit_code != 0)
        throw std::runtime_error(method + ": worker exited " + std::to_string(t.exit_code) +
                                 log_tail(log));
    const std::string not_synced = env_.sql(
        "SELECT coalesce(string_agg(id || ' ' || state || ': ' || coalesce(last_error, ''), "
        "'; '), '') FROM migrations WHERE state <> 'synced'");
    if (!not_synced.empty())
        throw std::runtime_error(method + ": tasks not synced: " + not_synced + log_tail(log));
    verify(method);
    return {method,
            std::to_string(parallel_accounts) + " accounts (max_parallel_accounts)",
            {},
            t.seconds,
            t.cpu_seconds,
            t.peak_rss_kb,
            server};
}

Outcome SyncBench::offlineimap() {
    const std::string method = "offlineimap, seed's way (b)";
    empty_new_side();
    const std::string rc = env_.dir.file("offlineimaprc");
    const auto gen = env_.migrator({"generate-offlineimap-config", "--output", rc});
    if (gen.exit_code != 0)
        throw std::runtime_error("generate-offlineimap-config: " + gen.err);
    const std::string log = env_.dir.file("offlineimap.log");
    const double server_before = server_cpu();
    const Timed t = run_timed({"offlineimap", "-c", rc, "-o", "-u", "basic"}, log, timeout_);
    const double server = server_cpu() - server_before;
    if (t.exit_code != 0)
        throw std::runtime_error(method + ": offlineimap exited " + std::to_string(t.exit_code) +
                                 log_tail(log));
    verify(method);
    return {method,
            std::to_string(parallel_accounts) + " accounts (maxsyncaccounts)",
            {},
            t.seconds,
            t.cpu_seconds,
            t.peak_rss_kb,
            server};
}

Outcome SyncBench::doveadm_backup() {
    const std::string method = "doveadm backup -R, imapc (c)";
    empty_new_side();
    // One 0600 config per account: the new server's config plus the old login, in the syntax
    // of the server's Dovecot line.
    const auto read_line = imapmig::read_dovecot_line(env_.new_dovecot().config_path());
    if (!read_line)
        throw std::runtime_error(method + ": " + read_line.error().message);
    const imapmig::DovecotLine &line = read_line.value();
    std::vector<std::string> configs;
    for (size_t i = 0; i < accounts_.size(); ++i) {
        const std::string path = env_.dir.file("doveadm-" + std::to_string(i) + ".conf");
        write_file(
            path,
            line.run_config_header() + "!include " + env_.new_dovecot().config_path() +
                "\nimapc_host = localhost\nimapc_port = " + std::to_string(env_.old.imaps_port()) +
                "\nimapc_ssl = imaps\n" + line.verify_certificate_setting(true) +
                "ssl_client_ca_file = " + env_.ca.ca_cert() + "\nimapc_user = " +
                accounts_[i].address + "\nimapc_password = " + accounts_[i].password + "\n",
            0600);
        configs.push_back(path);
    }
    bench::PidSet running;
    std::atomic<size_t> next{0};
    std::vector<ChildEnd> ends(accounts_.size());
    std::vector<std::exception_ptr> errors(parallel_accounts);
    const double server_before = server_cpu();
    const auto start = Clock::now();
    bench::RssSampler rss([&running] { return running.snapshot(); });
    std::vector<std::thread> threads;
    for (int t = 0; t < parallel_accounts; ++t)
        threads.emplace_back([&, t] {
            try {
                for (size_t i = next++; i < accounts_.size(); i = next++) {
                    SpawnOptions o;
                    o.output_path = configs[i] + ".log";
                    const pid_t pid = spawn({"doveadm", "-c", configs[i], "backup", "-R", "-u",
                                             accounts_[i].address, "imapc:"},
                                            o);
                    running.add(pid);
                    ends[i] = wait_exit(pid, timeout_, "doveadm backup");
                    running.remove(pid);
                }
            } catch (...) {
                errors[t] = std::current_exception();
            }
        });
    for (auto &thread : threads)
        thread.join();
    const double secs = seconds_since(start);
    const long peak = rss.stop();
    const double server = server_cpu() - server_before;
    for (const auto &e : errors)
        if (e)
            std::rethrow_exception(e);
    double cpu = 0;
    for (const ChildEnd &end : ends)
        cpu += end.cpu_seconds;
    for (size_t i = 0; i < accounts_.size(); ++i)
        if (ends[i].exit_code != 0)
            throw std::runtime_error(method + ": exit " + std::to_string(ends[i].exit_code) +
                                     " for " + accounts_[i].address +
                                     log_tail(configs[i] + ".log"));
    verify(method);
    return {method, std::to_string(parallel_accounts) + " accounts at a time", {}, secs, cpu, peak,
            server};
}

std::optional<std::string> SyncBench::dsync_config(std::string *why_not) {
    std::string yaml = read_file(env_.config_path);
    const size_t at = yaml.find("\nsync:\n");
    if (at == std::string::npos)
        throw std::runtime_error("no sync section in " + env_.config_path);
    // The environment's YAML already names the new server's own config for doveadm.
    yaml.insert(at + 7, "  engine: dsync\n");
    const std::string path = env_.dir.file("imap-migration-dsync.yaml");
    write_file(path, yaml, 0640);
    const RunResult check = run({migrator_path(), "-c", path, "check-config"});
    if (check.exit_code == 0)
        return path;
    std::string reason = check.err.empty() ? check.out : check.err;
    reason = reason.substr(0, reason.find('\n'));
    if (reason.rfind(path + ":", 0) == 0) // "FILE:LINE: key: why" -> "key: why"
        reason.erase(0, reason.find(": ", path.size()) + 2);
    *why_not = reason;
    return std::nullopt;
}

std::string ratio(double x) {
    return bench::fmt(x, x < 10 ? 2 : 1) + "x";
}

bench::Table make_table(const std::vector<Outcome> &rows, const SyncBench &b) {
    bench::Table t;
    t.title = "Sync: " + std::to_string(b.accounts()) + " accounts x " +
              std::to_string(b.messages() / b.accounts()) + " messages (" +
              bench::fmt(b.bytes() / 1e6, 1) + " MB), old provider -> new Dovecot";
    t.columns = {"method",      "parallelism", "wall s",       "msg/s", "MB/s",
                 "peak RSS MB", "CPU s",       "server CPU s", "vs (b)"};
    double baseline = 0;
    for (const auto &o : rows)
        if (o.method.find("(b)") != std::string::npos)
            baseline = o.seconds;
    for (const auto &o : rows) {
        if (o.unavailable) {
            t.rows.push_back({o.method, "", "n/a (engine not available)", "", "", "", "", "", ""});
            continue;
        }
        t.rows.push_back(
            {o.method, o.parallelism, bench::fmt(o.seconds, 2),
             bench::fmt(b.messages() / o.seconds, 0), bench::fmt(b.bytes() / 1e6 / o.seconds, 1),
             bench::fmt(o.peak_rss_kb / 1024.0, 0), bench::fmt(o.cpu_seconds, 1),
             bench::fmt(o.server_cpu_seconds, 1), baseline > 0 ? ratio(baseline / o.seconds) : ""});
    }
    return t;
}

void add_verdicts(bench::Table &t, const std::vector<Outcome> &rows) {
    auto find = [&](const std::string &prefix) -> const Outcome * {
        for (const auto &o : rows)
            if (o.method.rfind(prefix, 0) == 0 && !o.unavailable)
                return &o;
        return nullptr;
    };
    const Outcome *w_oi = find("worker (offlineimap"), *w_ds = find("worker (dsync"),
                  *b = find("offlineimap, seed"), *c = find("doveadm backup");
    auto verdict = [](bool met) { return met ? "met" : "NOT met"; };
    if (w_oi && b) {
        const double x = b->seconds / w_oi->seconds;
        t.notes.push_back("Target: worker (offlineimap engine) >= 2x faster than (b): " + ratio(x) +
                          ", " + verdict(x >= 2.0) + ".");
        // With every core busy, the CPU the copy costs bounds its wall time from below.
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        const double floor = (w_oi->cpu_seconds + w_oi->server_cpu_seconds) / cores;
        t.notes.push_back("  Its CPU (offlineimap processes + servers) is " +
                          bench::fmt(w_oi->cpu_seconds + w_oi->server_cpu_seconds, 1) + " s: on " +
                          std::to_string(cores) + " cores no schedule finishes in under " +
                          bench::fmt(floor, 1) + " s; 2x (b) means " +
                          bench::fmt(b->seconds / 2, 1) + " s.");
    }
    for (const auto &o : rows)
        if (o.unavailable)
            t.notes.push_back(o.method + ": " + *o.unavailable);
    if (w_ds && c && w_oi) {
        const double vs_c = w_ds->seconds / c->seconds, vs_oi = w_oi->seconds / w_ds->seconds;
        t.notes.push_back("Target: worker (dsync engine) within 1.3x of (c): " + ratio(vs_c) +
                          " of its time, " + verdict(vs_c <= 1.3) + "; >= 10x the offlineimap " +
                          "engine: " + ratio(vs_oi) + ", " + verdict(vs_oi >= 10.0) + ".");
    } else {
        t.notes.push_back("Target: worker (dsync engine) within 1.3x of (c) and >= 10x the "
                          "offlineimap engine: not measured (engine not available).");
    }
}

int run_bench(const bench::Options &opts, int accounts, int messages) {
    const auto timeout = std::chrono::seconds(opts.quick ? 300 : 1800);
    const std::string load_before = bench::load_average();
    SyncBench b(accounts, messages, timeout);
    std::vector<Outcome> rows;
    auto report = [](const Outcome &o) {
        std::cout << o.method << ": "
                  << (o.unavailable ? "n/a: " + *o.unavailable : bench::fmt(o.seconds, 2) + " s")
                  << std::endl;
    };
    rows.push_back(b.worker("worker (offlineimap engine)", b.config_path()));
    report(rows.back());
    std::string why_not;
    if (auto dsync = b.dsync_config(&why_not))
        rows.push_back(b.worker("worker (dsync engine)", *dsync));
    else
        rows.push_back({"worker (dsync engine)", "",
                        "check-config refuses `sync.engine: dsync` (" + why_not + ")"});
    report(rows.back());
    rows.push_back(b.offlineimap());
    report(rows.back());
    rows.push_back(b.doveadm_backup());
    report(rows.back());

    bench::Table t = make_table(rows, b);
    add_verdicts(t, rows);
    t.notes.push_back(
        "Each method starts from empty new mailboxes; afterwards every account's folders "
        "(messages, \\Seen, \\Flagged, \\Answered) were checked against the seeded mail. "
        "TLS to the old provider, plain IMAP (master user) or direct writes on the new side. "
        "vs (b): (b)'s wall time divided by the row's.");
    t.notes.push_back("Peak RSS: the largest sum of VmRSS over the tool's processes and their "
                      "descendants, sampled every 100 ms. CPU s: user + system time of those "
                      "processes (wait4). server CPU s: the old and new Dovecot and PostgreSQL "
                      "(process trees, reaped children included) during the run.");
    t.notes.push_back("Parallelism: the worker's default sync.max_parallel_accounts (" +
                      std::to_string(parallel_accounts) +
                      "); offlineimap's maxsyncaccounts as generate-offlineimap-config writes it; "
                      "doveadm as many accounts at a time. Load average before/after: " +
                      load_before + " / " + bench::load_average() + ".");
    bench::print_table(t);
    bench::append_results(opts.results_file, t, opts.quick);
    return 0;
}

int positive(const std::string &text) {
    const int n = std::atoi(text.c_str());
    if (n < 1)
        throw std::invalid_argument(text);
    return n;
}

} // namespace

int main(int argc, char **argv) {
    // Run by hand from the build tree: the same variables `meson test` sets.
    ::setenv("IMAPMIG_MIGRATOR", SYNC_BENCH_MIGRATOR, 0);
    ::setenv("IMAPMIG_MODULE", SYNC_BENCH_MODULE, 0);
    ::setenv("IMAPMIG_SOURCE_ROOT", SYNC_BENCH_SOURCE_ROOT, 0);
    const std::string usage = "usage: sync-bench [--quick] [--results FILE | --no-results] "
                              "[--accounts N] [--messages N]\n";
    try {
        const bench::Options opts = bench::parse_options(argc, argv);
        int accounts = opts.quick ? 2 : 10, messages = opts.quick ? 50 : 500;
        for (size_t i = 0; i < opts.rest.size(); ++i) {
            const std::string &a = opts.rest[i];
            if ((a == "--accounts" || a == "--messages") && i + 1 < opts.rest.size())
                (a == "--accounts" ? accounts : messages) = positive(opts.rest[++i]);
            else if (a == "--help" || a == "-h") {
                std::cout << usage;
                return 0;
            } else {
                std::cerr << usage;
                return 2;
            }
        }
        return run_bench(opts, accounts, messages);
    } catch (const std::invalid_argument &) {
        std::cerr << usage;
        return 2;
    } catch (const std::exception &e) {
        std::cerr << "sync-bench: " << e.what() << "\n";
        return 1;
    }
}
