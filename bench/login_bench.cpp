// bench/login-bench: the login path under load, against Dovecot's own passdb imap.
//   storm:  N distinct users log in for the first time, C at once, while every LOGIN at the old
//           provider takes an extra D ms (a delaying proxy in front of it). Our plugin in each
//           mode, and `passdb { driver = imap }` at the same provider, same local hash scheme.
//   steady: the migrated users log in again (10 x N logins) with and without our passdb in the
//           config, the old provider stopped: the plugin must cost them nothing.
//   rss:    auth-worker and auth memory before and after R first logins (leak check).
// Usage: login-bench [--quick] [--users N] [--concurrency C] [--delay-ms D] [--rss-users R]
//                    [--only storm|steady|rss] [--argon2 no] [--results FILE | --no-results]
#include "bench_report.hpp"
#include "cpu_usage.hpp"
#include "delay_proxy.hpp"
#include "login_load.hpp"

#include "migration_env.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace testsupport;
using bench::fmt;

namespace {

using Users = std::vector<std::pair<std::string, std::string>>;

struct Settings {
    int users = 1000;
    int concurrency = 200;
    int delay_ms = 100;
    int rss_users = 10000;
    int steady_rounds = 4; // alternating with/without rounds in the steady bench
    std::string only;
    bool argon2 = true; // --argon2 no: skip the (slow) ARGON2ID storm rows
};

Users make_users(int n, const std::string &prefix) {
    Users u;
    for (int i = 0; i < n; ++i)
        u.emplace_back(prefix + std::to_string(i) + "@other.example",
                       "Bench-Pw-" + std::to_string(i * 7919 % 100003) + "!");
    return u;
}

// Both servers take the storm the way a tuned production server would: login processes in
// performance mode, enough process and client slots for C concurrent logins.
const std::string server_limits = "default_process_limit = 2000\n"
                                  "default_client_limit = 10000\n"
                                  "service imap-login {\n"
                                  "  service_count = 0\n"
                                  "  process_min_avail = 2\n"
                                  "  client_limit = 2000\n"
                                  "}\n"
                                  "service imap {\n"
                                  "  process_limit = 2000\n"
                                  "}\n";

MigrationEnvOptions plugin_options(const Settings &s, const Users &users, const std::string &scheme,
                                   const std::string &extra_conf) {
    MigrationEnvOptions o;
    o.security = "none"; // the proxy reads the protocol; TLS would hide the LOGIN
    o.provider_ssl = false;
    o.password_scheme = scheme;
    o.auth_debug = false;
    // As many provider connections as clients: the comparison is about the login path, and
    // passdb imap has no such limit at all.
    o.max_connections = s.concurrency;
    o.slot_wait_seconds = 30;
    o.timeout_seconds = 30;
    o.max_failures_per_ip = 0;
    o.max_failures_per_user = 0;
    o.old_users = users;
    o.old_provider_config = server_limits;
    o.new_dovecot_config = server_limits + extra_conf;
    return o;
}

struct StormRow {
    std::string variant;
    bench::LoginLoad load;
    long accounts = -1, tasks = -1; // -1: the variant creates nothing
    long delayed = 0;
    bench::CpuUse cpu;
};

void print_errors(const StormRow &r) {
    for (const auto &e : r.load.error_samples)
        std::cerr << "  " << r.variant << ": " << e << "\n";
}

StormRow storm_plugin(const Settings &s, const Users &users, const std::string &scheme,
                      const std::string &mode_label, const std::string &passdb_args) {
    MigrationEnvOptions o = plugin_options(s, users, scheme, "");
    o.passdb_settings = passdb_args;
    MigrationEnv env(o);
    DelayProxy proxy(env.old.imap_port(), std::chrono::milliseconds(s.delay_ms));
    env.options.provider_port_override = proxy.port();
    env.write_config();
    env.start_new_dovecot();
    StormRow row;
    row.variant = "imapmigration " + mode_label + ", " + scheme;
    const auto cpu_before = bench::cpu_snapshot();
    row.load = bench::run_logins(env.new_imap_port, users, s.concurrency);
    row.cpu = bench::cpu_between(cpu_before, bench::cpu_snapshot());
    row.accounts = env.count("accounts");
    row.tasks = env.count("migrations");
    row.delayed = proxy.delayed_commands();
    return row;
}

StormRow storm_passdb_imap(const Settings &s, const Users &users) {
    OldProviderOptions oo;
    oo.ssl = false;
    oo.extra_config = server_limits;
    OldProvider old("old", oo);
    old.add_users(users);
    old.start();
    DelayProxy proxy(old.imap_port(), std::chrono::milliseconds(s.delay_ms));
    const int port = free_tcp_port();
    DovecotOptions o;
    o.name = "passdb-imap";
    o.config_body =
        "service imap-login {\n  inet_listener imap {\n    port = " + std::to_string(port) +
        "\n  }\n}\n"
        "auth_username_format = %Lu\n"
        "passdb {\n  driver = imap\n  args = host=127.0.0.1 port=" +
        std::to_string(proxy.port()) +
        "\n}\n"
        "userdb {\n  driver = static\n"
        "  args = uid=nobody gid=nogroup home={BASE}/home/%d/%n\n}\n" +
        server_limits;
    DovecotInstance d(o);
    d.start();
    StormRow row;
    row.variant = "Dovecot passdb imap (verifies only)";
    const auto cpu_before = bench::cpu_snapshot();
    row.load = bench::run_logins(port, users, s.concurrency);
    row.cpu = bench::cpu_between(cpu_before, bench::cpu_snapshot());
    row.delayed = proxy.delayed_commands();
    return row;
}

std::vector<std::string> storm_cells(const StormRow &r, const StormRow *reference) {
    std::vector<std::string> c = {r.variant,
                                  std::to_string(r.load.ok + r.load.errors),
                                  std::to_string(r.load.errors),
                                  fmt(r.load.rate(), 1),
                                  fmt(r.load.percentile(0.50), 0),
                                  fmt(r.load.percentile(0.99), 0),
                                  r.accounts < 0 ? "-" : std::to_string(r.accounts),
                                  r.tasks < 0 ? "-" : std::to_string(r.tasks),
                                  std::to_string(r.delayed),
                                  fmt(r.cpu.machine_s * 1000 / std::max(1L, r.load.ok), 1)};
    if (reference != nullptr && reference->load.rate() > 0 && reference->load.percentile(0.99) > 0)
        c.push_back(fmt(r.load.rate() / reference->load.rate(), 2) + "x / " +
                    fmt(r.load.percentile(0.99) / reference->load.percentile(0.99), 2) + "x");
    else
        c.push_back("reference");
    return c;
}

int storm(const Settings &s, const bench::Options &opt) {
    const Users users = make_users(s.users, "storm");
    bench::Table t;
    t.title = "Login storm: " + std::to_string(s.users) + " first logins, " +
              std::to_string(s.concurrency) + " at once, old provider LOGIN +" +
              std::to_string(s.delay_ms) + " ms";
    t.columns = {"variant",
                 "logins",
                 "errors",
                 "logins/s",
                 "p50 ms",
                 "p99 ms",
                 "accounts",
                 "tasks",
                 "provider LOGINs",
                 "CPU ms/login",
                 "throughput / p99 vs passdb imap"};
    std::vector<StormRow> rows;
    rows.push_back(storm_passdb_imap(s, users));
    rows.push_back(storm_plugin(s, users, "SHA512-CRYPT", "non-blocking (default)", ""));
    rows.push_back(
        storm_plugin(s, users, "SHA512-CRYPT", "blocking=yes (auth-worker)", "blocking=yes"));
    if (s.argon2) {
        rows.push_back(storm_plugin(s, users, "ARGON2ID", "non-blocking (default)", ""));
        rows.push_back(
            storm_plugin(s, users, "ARGON2ID", "blocking=yes (auth-worker)", "blocking=yes"));
    }
    int failures = 0;
    for (const auto &r : rows) {
        t.rows.push_back(storm_cells(r, &r == &rows[0] ? nullptr : &rows[0]));
        t.notes.push_back("CPU ms per login (machine total in the table; \"dovecot\" includes its "
                          "exited children such as each login's imap), " +
                          r.variant + ": " +
                          bench::top_names(r.cpu, 6, 1000.0 / std::max(1L, r.load.ok), "ms"));
        print_errors(r);
        if (r.load.errors > 0)
            ++failures;
        if (r.accounts >= 0 && (r.accounts != s.users || r.tasks != s.users))
            ++failures;
        if (r.delayed < s.users)
            t.notes.push_back(r.variant + ": only " + std::to_string(r.delayed) +
                              " LOGINs passed the delaying proxy");
    }
    const StormRow &ref = rows[0];
    for (size_t i = 1; i <= 2; ++i) {
        const StormRow &ours = rows[i];
        const double tput = ours.load.rate() / std::max(ref.load.rate(), 1e-9);
        const double p99 = ours.load.percentile(0.99) / std::max(ref.load.percentile(0.99), 1e-9);
        t.notes.push_back("Target (" + ours.variant +
                          " vs passdb imap): throughput >= 0.80x: " + fmt(tput, 2) + "x " +
                          (tput >= 0.8 ? "met" : "MISSED") + "; p99 <= 1.50x: " + fmt(p99, 2) +
                          "x " + (p99 <= 1.5 ? "met" : "MISSED"));
    }
    t.notes.push_back(
        "Zero errors and exactly " + std::to_string(s.users) +
        " accounts and tasks in every plugin run: " + (failures == 0 ? "met" : "MISSED"));
    t.notes.push_back("ARGON2ID is reported separately: its hashing cost is the point of it.");
    bench::print_table(t);
    bench::append_results(opt.results_file, t, opt.quick);
    return failures == 0 ? 0 : 1;
}

// Removes our passdb from the written snippet: the config of a server without the plugin.
void set_plugin_enabled(MigrationEnv &env, const std::string &original, bool enabled) {
    const std::string path = env.dir.file("auth-imapmigration.conf.ext");
    std::string text = original;
    if (!enabled)
        text =
            std::regex_replace(original, std::regex("passdb \\{\\s*driver = imapmigration[^}]*\\}"),
                               "# imapmigration passdb removed by login-bench");
    write_file(path, text, 0644);
    env.new_dovecot().stop();
    env.new_dovecot().start();
}

int steady(const Settings &s, const bench::Options &opt) {
    const Users users = make_users(s.users, "steady");
    MigrationEnv env(plugin_options(s, users, "SHA512-CRYPT", ""));
    env.options.security = "none";
    env.write_config();
    env.start_new_dovecot();
    // Migrate everyone first (no delay needed), then take the old provider away.
    auto first = bench::run_logins(env.new_imap_port, users, s.concurrency);
    if (first.errors > 0 || env.count("accounts") != s.users) {
        std::cerr << "steady: the first logins failed: " << first.errors << " errors\n";
        for (const auto &e : first.error_samples)
            std::cerr << "  " << e << "\n";
        return 1;
    }
    env.old.stop();
    const std::string auth_path = env.dir.file("auth-imapmigration.conf.ext");
    const std::string original = read_file(auth_path);
    const size_t old_log = env.old.dovecot().log_size();

    Users again;
    const int per_round = s.users * 10 / s.steady_rounds; // 10 logins per user per config
    for (int i = 0; i < per_round; ++i)
        again.push_back(users[i % users.size()]);
    bench::LoginLoad with, without;
    for (int round = 0; round < s.steady_rounds * 2; ++round) {
        const bool enabled = round % 2 == 0;
        set_plugin_enabled(env, original, enabled);
        bench::run_logins(env.new_imap_port, Users(again.begin(), again.begin() + 200),
                          s.concurrency / 2); // warm the auth workers after the restart
        auto r = bench::run_logins(env.new_imap_port, again, s.concurrency / 2);
        auto &sum = enabled ? with : without;
        sum.ok += r.ok;
        sum.errors += r.errors;
        sum.wall_s += r.wall_s;
        sum.latency_ms.insert(sum.latency_ms.end(), r.latency_ms.begin(), r.latency_ms.end());
        for (auto &e : r.error_samples)
            sum.error_samples.push_back(e);
    }
    set_plugin_enabled(env, original, true);
    const bool provider_untouched = env.old.dovecot().log_size() == old_log;

    bench::Table t;
    t.title = "Steady state: " + std::to_string(with.ok + with.errors) +
              " logins of migrated users per config, " + std::to_string(s.concurrency / 2) +
              " at once, old provider stopped";
    t.columns = {"config", "logins", "errors", "logins/s", "p50 ms", "p99 ms"};
    for (const auto &[name, l] : {std::pair{"sql passdb + imapmigration passdb", &with},
                                  std::pair{"sql passdb only", &without}})
        t.rows.push_back({name, std::to_string(l->ok + l->errors), std::to_string(l->errors),
                          fmt(l->rate(), 1), fmt(l->percentile(0.5), 1),
                          fmt(l->percentile(0.99), 1)});
    const double ratio = with.rate() / std::max(without.rate(), 1e-9);
    t.notes.push_back("Target: throughput ratio >= 0.97: " + fmt(ratio, 3) + " " +
                      (ratio >= 0.97 ? "met" : "MISSED") + "; rounds alternate the two configs (" +
                      std::to_string(s.steady_rounds) + " each)");
    t.notes.push_back(std::string("Old provider contacted during these logins: ") +
                      (provider_untouched ? "no (stopped, its log unchanged)" : "YES"));
    for (const auto &e : with.error_samples)
        std::cerr << "  with plugin: " << e << "\n";
    for (const auto &e : without.error_samples)
        std::cerr << "  without: " << e << "\n";
    bench::print_table(t);
    bench::append_results(opt.results_file, t, opt.quick);
    // Throughput noise is not a failure of the code; errors and provider contact are.
    return with.errors == 0 && without.errors == 0 && provider_untouched ? 0 : 1;
}

// pid -> (is an auth-worker, RSS kB) for the new Dovecot's auth processes.
std::map<int, std::pair<bool, long>> auth_processes(const DovecotInstance &d) {
    std::map<int, std::pair<bool, long>> out;
    const auto procs = d.auth_processes();
    if (procs.auth > 0)
        out[procs.auth] = {false, bench::current_rss_kb(procs.auth)};
    for (pid_t pid : procs.workers)
        out[pid] = {true, bench::current_rss_kb(pid)};
    return out;
}

struct RssGrowth {
    long worker_sum = 0, worker_max = 0, workers = 0, auth = 0, errors = 0, logins = 0;
};

// Memory of the auth processes after a warm-up and again after the remaining first logins.
RssGrowth rss_run(const Settings &s, const std::string &passdb_args) {
    const Users users = make_users(s.rss_users, "rss");
    MigrationEnvOptions o = plugin_options(s, users, "SHA512-CRYPT", "");
    o.passdb_settings = passdb_args;
    MigrationEnv env(o);
    env.write_config();
    env.start_new_dovecot();
    const size_t warm = std::max<size_t>(users.size() / 10, 100);
    auto w = bench::run_logins(env.new_imap_port, Users(users.begin(), users.begin() + warm),
                               s.concurrency);
    const auto before = auth_processes(env.new_dovecot());
    auto r = bench::run_logins(env.new_imap_port, Users(users.begin() + warm, users.end()),
                               s.concurrency);
    const auto after = auth_processes(env.new_dovecot());
    RssGrowth g;
    g.errors = w.errors + r.errors;
    g.logins = r.ok + r.errors;
    for (const auto &[pid, v] : after) {
        auto it = before.find(pid);
        if (it == before.end())
            continue;
        const long growth = v.second - it->second.second;
        if (v.first) {
            ++g.workers;
            g.worker_sum += growth;
            g.worker_max = std::max(g.worker_max, growth);
        } else {
            g.auth += growth;
        }
    }
    for (const auto &e : r.error_samples)
        std::cerr << "  rss: " << e << "\n";
    return g;
}

int rss(const Settings &s, const bench::Options &opt) {
    const RssGrowth async = rss_run(s, ""), blocking = rss_run(s, "blocking=yes");
    bench::Table t;
    t.title = "Memory: RSS growth over " + std::to_string(async.logins) +
              " first logins after a warm-up of " +
              std::to_string(std::max(s.rss_users / 10, 100)) + ", " +
              std::to_string(s.concurrency) + " at once";
    t.columns = {"mode", "process where the plugin runs", "RSS growth kB", "target"};
    t.rows.push_back({"non-blocking (default)", "auth", std::to_string(async.auth), "< 5120"});
    t.rows.push_back({"blocking=yes",
                      "auth-worker, all " + std::to_string(blocking.workers) + " summed (largest " +
                          std::to_string(blocking.worker_max) + ")",
                      std::to_string(blocking.worker_sum), "< 5120"});
    const bool met = async.auth < 5120 && blocking.worker_sum < 5120;
    t.notes.push_back("errors: " + std::to_string(async.errors + blocking.errors) +
                      "; target < 5 MB growth: " + (met ? "met" : "MISSED"));
    bench::print_table(t);
    bench::append_results(opt.results_file, t, opt.quick);
    return async.errors + blocking.errors == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
    try {
        bench::Options opt = bench::parse_options(argc, argv);
        Settings s;
        if (opt.quick) {
            s.users = 60;
            s.concurrency = 20;
            s.rss_users = 200;
            s.steady_rounds = 1;
        }
        for (size_t i = 0; i + 1 < opt.rest.size(); i += 2) {
            const std::string &k = opt.rest[i], &v = opt.rest[i + 1];
            if (k == "--users")
                s.users = std::stoi(v);
            else if (k == "--concurrency")
                s.concurrency = std::stoi(v);
            else if (k == "--delay-ms")
                s.delay_ms = std::stoi(v);
            else if (k == "--rss-users")
                s.rss_users = std::stoi(v);
            else if (k == "--only")
                s.only = v;
            else if (k == "--argon2")
                s.argon2 = v != "no";
            else
                throw std::runtime_error("unknown option " + k);
        }
        if (opt.rest.size() % 2 != 0)
            throw std::runtime_error("option without value: " + opt.rest.back());
        int status = 0;
        if (s.only.empty() || s.only == "storm")
            status |= storm(s, opt);
        if (s.only.empty() || s.only == "steady")
            status |= steady(s, opt);
        if (s.only.empty() || s.only == "rss")
            status |= rss(s, opt);
        return status;
    } catch (const std::exception &e) {
        std::cerr << "login-bench: " << e.what() << "\n";
        return 2;
    }
}
