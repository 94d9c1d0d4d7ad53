// bench/scale-bench: 100,000 migrations in a private PostgreSQL. Times `migrations list --state
// synced` (the whole command, and its query server-side), the worker's claim query (exactly the
// SQL TaskQueue runs, inside a rolled-back transaction) with tasks due and with nothing due, and
// the idle worker's memory. Prints each plan and fails when one scans a big table sequentially
// where an index should serve it (also in --quick, so the indexes cannot rot unnoticed).
// Usage: scale-bench [--quick] [--results FILE | --no-results] [ROWS]
// (IMAPMIG_MIGRATOR overrides the imap-migrator binary)
#include "bench_report.hpp"

#include "db/migrations_table.hpp"
#include "db/store.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"
#include "sync/task_queue.hpp"
#include "temp_dir.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace testsupport;

namespace {

constexpr double target_ms = 100.0;
constexpr long target_rss_kb = 50 * 1024;
constexpr long long page = 1000; // `migrations list --limit`
const std::vector<std::string> providers = {"oldmail", "legacy", "campus", "archive"};

std::string migrator() {
    const char *env = std::getenv("IMAPMIG_MIGRATOR");
    return env != nullptr ? env : SCALE_BENCH_MIGRATOR;
}

template <typename T> T value_or_throw(imapmig::Result<T> r, const std::string &what) {
    if (!r)
        throw std::runtime_error(what + ": " + r.error().message);
    return std::move(r.value());
}

void check(const imapmig::Result<void> &r, const std::string &what) {
    if (!r)
        throw std::runtime_error(what + ": " + r.error().message);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// ---- data ----------------------------------------------------------------------------------

std::string config_yaml(const PgCluster &pg, const TempDir &dir, const std::string &db) {
    std::string y = "database: \"" + db + "\"\nsecret_key_file: " + dir.file("k.key") + "\n";
    y += "local_imap:\n  host: 127.0.0.1\n  port: " + std::to_string(pg.port() + 1) +
         "\n  master_user: imap-migrator\n  master_password_file: " + dir.file("master.pass") +
         "\n";
    y += "sync:\n  state_dir: " + dir.file("state") + "\n  runtime_dir: " + dir.file("run") + "\n";
    y += "providers:\n";
    for (const auto &p : providers)
        y += "  - name: " + p + "\n    host: imap." + p + ".example\n    port: 993\n" +
             "    domains:\n      - name: " + p + ".example\n";
    return y;
}

// Domains (1 per 100 accounts), accounts, and one migration per account. State mix of a
// campaign in full swing: 70% synced, 10% finished, 8% pending, 5% failed, 3% stopped,
// 2% credentials_rejected, 2% syncing; providers 50/30/10/10%. Synced tasks come due over
// the next hour (a few overdue), failed ones over their backoff; pending ones are due.
std::string data_sql(int rows) {
    const std::string n = std::to_string(rows), d = std::to_string(std::max(10, rows / 100));
    return "INSERT INTO domains (name) SELECT 'd' || g || '.example'"
           " FROM generate_series(0, " +
           d +
           " - 1) g;"
           "INSERT INTO accounts (username, address, domain_id, password, first_name, last_name)"
           " SELECT 'user' || g || '@' || dn.name, 'user' || g || '@' || dn.name, dn.id,"
           "  '{SHA512-CRYPT}$6$benchsaltbenchsa$Zq0QjV3rD1uX2m9e4cX8yY1z0aBcDeFgHiJkLmNoPqRs',"
           "  'First' || g, 'Last' || g"
           " FROM generate_series(0, " +
           n +
           " - 1) g"
           " JOIN domains dn ON dn.name = 'd' || (g % " +
           d +
           ") || '.example';"
           "INSERT INTO migrations (account_id, provider, old_login, secret, secret_key_id,"
           "  state, created_at, next_sync_at, last_sync_at, last_error, attempts, lease_owner,"
           "  lease_expires, messages_copied, messages_total, folders_total, folders_done,"
           "  bytes_copied, runs)"
           " SELECT id, prov, 'old' || id || '@' || prov || '.example',"
           "  CASE WHEN st <> 'finished' THEN decode(md5(id::text) || md5(prov || id), 'hex') END,"
           "  CASE WHEN st <> 'finished' THEN 'k1' END,"
           "  st, now() - make_interval(secs => (id * 613) % 7776000),"
           "  CASE st WHEN 'synced' THEN now() + make_interval(secs => (id * 37) % 3900 - 300)"
           "   WHEN 'pending' THEN now() - make_interval(secs => id % 600)"
           "   WHEN 'failed' THEN now() + make_interval(secs => (id * 53) % 22200 - 600)"
           "   ELSE now() - make_interval(secs => id % 3600) END,"
           "  CASE WHEN st IN ('synced', 'finished', 'syncing', 'stopped')"
           "   THEN now() - make_interval(secs => 3600 + id % 3600) END,"
           "  CASE st WHEN 'failed' THEN 'IMAP login to the old provider timed out after 10 s'"
           "   WHEN 'credentials_rejected' THEN 'the old provider rejected the stored password'"
           "   END,"
           "  CASE WHEN st = 'failed' THEN 1 + id % 6 ELSE 0 END,"
           "  CASE WHEN st = 'syncing' THEN 'mx' || (id % 3) || ':' || (1000 + id % 7) END,"
           "  CASE WHEN st = 'syncing' THEN now() + make_interval(secs => id % 700 - 100) END,"
           "  (id * 17) % 5000, (id * 17) % 5000 + (id % 50), 5 + id % 20, 5 + id % 20,"
           "  ((id * 17) % 5000) * 48000, 1 + id % 40"
           " FROM (SELECT id, CASE WHEN b < 700 THEN 'synced' WHEN b < 800 THEN 'finished'"
           "   WHEN b < 880 THEN 'pending' WHEN b < 930 THEN 'failed'"
           "   WHEN b < 960 THEN 'stopped' WHEN b < 980 THEN 'credentials_rejected'"
           "   ELSE 'syncing' END AS st,"
           "  CASE WHEN p < 5 THEN 'oldmail' WHEN p < 8 THEN 'legacy' WHEN p < 9 THEN 'campus'"
           "   ELSE 'archive' END AS prov"
           "  FROM (SELECT id, (id * 7919) % 1000 AS b, (id * 31) % 10 AS p FROM accounts) x) y;"
           "ANALYZE;";
}

// The idle worker's view: nothing due (due tasks done for the next hour, leases fresh).
const char *nothing_due_sql =
    "UPDATE migrations SET next_sync_at = now() + make_interval(secs => 600 + id % 3000)"
    " WHERE state IN ('pending', 'synced', 'failed') AND next_sync_at <= now() + interval '10 min';"
    "UPDATE migrations SET lease_expires = now() + interval '1 hour' WHERE state = 'syncing';";

// ---- plans ---------------------------------------------------------------------------------

struct Plan {
    std::vector<std::string> lines;
    double server_ms = 0; // planning + execution
};

Plan explain(imapmig::Connection &conn, const std::string &options, const std::string &sql,
             std::initializer_list<imapmig::Param> params) {
    const std::string text = "EXPLAIN (" + options + ") " + sql;
    imapmig::Rows rows = value_or_throw(conn.exec("explain", text.c_str(), params), "EXPLAIN");
    Plan p;
    for (int i = 0; i < rows.count(); ++i) {
        p.lines.push_back(rows.str(i, 0));
        const std::string &l = p.lines.back();
        for (const char *key : {"Planning Time: ", "Execution Time: "})
            if (size_t at = l.find(key); at != std::string::npos)
                p.server_ms += std::atof(l.c_str() + at + std::string(key).size());
    }
    return p;
}

void exec(imapmig::Connection &conn, const char *sql) {
    value_or_throw(conn.exec("bench", sql), sql);
}

// "Update on migrations m > Limit > LockRows > Index Scan using migrations_claim_idx on ..."
std::string plan_summary(const Plan &p) {
    std::string out;
    for (const auto &l : p.lines) {
        const size_t arrow = l.find("->  ");
        if (arrow == std::string::npos && !out.empty())
            continue;
        std::string node = l.substr(arrow == std::string::npos ? 0 : arrow + 4);
        node = node.substr(0, node.find("  ("));
        if (node.rfind("Subquery Scan", 0) == 0 || node.rfind("CTE Scan", 0) == 0 ||
            node.find(" Scan") != std::string::npos || out.empty() ||
            node.find("Join") != std::string::npos || node.find("Loop") != std::string::npos ||
            node.rfind("Sort", 0) == 0 || node.rfind("Limit", 0) == 0 ||
            node.rfind("LockRows", 0) == 0)
            out += (out.empty() ? "" : " > ") + node;
    }
    return out;
}

// Which big tables a plan must reach through an index.
enum class IndexUse {
    all,        // migrations and accounts: the claim, a page of the list
    migrations, // the filtered table; joining accounts by hash may rightly read all of it
    report,     // most of the table comes back: a Seq Scan is the right plan, only shown
};

// Sequential scans of the tables that grow with the number of migrations.
// expect: an index the plan must name (a full scan of the primary key would also avoid a
// Seq Scan when the index that fits is gone); "" = any.
std::vector<std::string> big_table_seq_scans(const Plan &p, IndexUse use,
                                             const std::string &expect = "") {
    std::vector<std::string> found;
    if (!expect.empty() && std::none_of(p.lines.begin(), p.lines.end(), [&](const auto &l) {
            return l.find(expect) != std::string::npos;
        }))
        found.push_back("no use of " + expect);
    std::vector<std::string> tables = {"Seq Scan on migrations"};
    if (use == IndexUse::all)
        tables.push_back("Seq Scan on accounts");
    for (const auto &l : p.lines)
        for (const auto &t : tables)
            if (l.find(t) != std::string::npos)
                found.push_back(t);
    return found;
}

void print_plan(const std::string &title, const Plan &p) {
    std::cout << "\n-- " << title << "\n";
    for (const auto &l : p.lines)
        std::cout << "   " << l << "\n";
}

// ---- measurements --------------------------------------------------------------------------

struct Bench {
    bool quick = false;
    int rows = 0;
    std::string cfg, db;
    bench::Table table;
    std::vector<std::string> failures;

    void row(const std::string &what, const std::string &figure, const std::string &target,
             bool met) {
        table.rows.push_back({what, figure, target, met ? "yes" : "NO"});
    }
    void row_ms(const std::string &what, double ms, bool timed_target = true) {
        const bool met = ms < target_ms;
        row(what, bench::fmt(ms, 1) + " ms", timed_target ? "< 100 ms" : "-", met || !timed_target);
        if (timed_target && !met && !quick)
            failures.push_back(what + " took " + bench::fmt(ms, 1) + " ms");
    }

    // Index use, checked on the real plan; a quick run (small tables, where the planner may
    // rightly prefer a Seq Scan) re-asks with seq scans disabled: then only a query no index
    // can serve fails, which is what a dropped index or a rewritten query looks like.
    void check_indexes(imapmig::Connection &conn, const std::string &what, const Plan &real,
                       IndexUse use, const std::string &expect,
                       const std::function<Plan(imapmig::Connection &)> &plan_only) {
        table.notes.push_back("- " + what + ": " + plan_summary(real));
        if (use == IndexUse::report) {
            const bool seq = !big_table_seq_scans(real, IndexUse::all).empty();
            row(what + ": plan", seq ? "Seq Scan (most rows returned)" : "index scans only",
                "shown only", true);
            return;
        }
        std::vector<std::string> seq = big_table_seq_scans(real, use, expect);
        std::string verdict = seq.empty() ? "index scans only" : seq.front();
        if (!seq.empty() && quick) {
            exec(conn, "SET enable_seqscan = off");
            seq = big_table_seq_scans(plan_only(conn), use, expect);
            exec(conn, "RESET enable_seqscan");
            verdict += seq.empty() ? " (small table; an index serves it with seq scans off)"
                                   : " even with seq scans off";
        }
        if (seq.empty() && use == IndexUse::migrations &&
            !big_table_seq_scans(real, IndexUse::all).empty())
            verdict = "index on migrations, hash join reads accounts";
        row(what + ": plan", verdict,
            use == IndexUse::all ? "no Seq Scan" : "no Seq Scan on migrations", seq.empty());
        if (!seq.empty())
            failures.push_back(what + ": " + seq.front() + " (no index serves it)");
    }
};

std::string list_label(const std::string &state, long long limit) {
    return "--state " + state + (limit > 0 ? " --limit " + std::to_string(limit) : "");
}

void list_command(Bench &b, long long limit) {
    std::vector<std::string> argv = {migrator(), "-c",      b.cfg,   "migrations",
                                     "list",     "--state", "synced"};
    if (limit > 0)
        argv.insert(argv.end(), {"--limit", std::to_string(limit)});
    RunResult piped = run_checked(argv, {}, {}, 120000);
    const long lines = std::count(piped.out.begin(), piped.out.end(), '\n');
    std::vector<double> walls;
    for (int i = 0; i < 3; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const pid_t pid = spawn(argv, SpawnOptions{}); // output to /dev/null
        int status = 0;
        if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("migrations list failed");
        walls.push_back(ms_since(start));
    }
    b.row_ms("`migrations list " + list_label("synced", limit) + "`, whole command (" +
                 std::to_string(lines - 1) + " rows to /dev/null)",
             median(walls));
}

Plan median_plan(const std::function<Plan()> &once, int runs) {
    std::vector<Plan> plans;
    for (int i = 0; i < runs; ++i)
        plans.push_back(once());
    std::sort(plans.begin(), plans.end(),
              [](const Plan &a, const Plan &x) { return a.server_ms < x.server_ms; });
    return plans[plans.size() / 2];
}

void list_query(Bench &b, imapmig::Connection &conn, const std::string &state, long long limit,
                IndexUse use, const std::string &expect = "") {
    // The table's statement: what `migrations list` runs unless asked for --json.
    const std::string &sql = imapmig::migration_line_sql();
    const std::string limit_text = std::to_string(limit);
    auto plan = [&](imapmig::Connection &c, const char *options) {
        return explain(c, options, sql,
                       {state, "", "false",
                        limit > 0 ? imapmig::Param(limit_text) : imapmig::Param(std::nullopt)});
    };
    const Plan p = median_plan([&] { return plan(conn, "ANALYZE, BUFFERS"); }, b.quick ? 3 : 7);
    const std::string what = "list query " + list_label(state, limit);
    print_plan(what + " (server side " + bench::fmt(p.server_ms, 1) + " ms)", p);
    b.row_ms(what + ", server side", p.server_ms);
    b.check_indexes(conn, what, p, use, expect,
                    [&](imapmig::Connection &c) { return plan(c, "COSTS OFF"); });
}

void claim_query(Bench &b, imapmig::Connection &conn, const std::string &label) {
    // What Worker::start_one asks, one provider at a time: the biggest one.
    const std::string owner = "scale-bench:1", wanted = imapmig::pg_text_array({providers[0]});
    auto plan = [&](imapmig::Connection &c, const char *options) {
        exec(c, "BEGIN");
        Plan p = explain(c, options, imapmig::task_claim_sql, {owner, wanted, "600"});
        exec(c, "ROLLBACK");
        return p;
    };
    const Plan p = median_plan([&] { return plan(conn, "ANALYZE, BUFFERS"); }, b.quick ? 3 : 9);
    print_plan("claim query, " + label + " (server side " + bench::fmt(p.server_ms, 1) + " ms)", p);
    const std::string what = "claim query, " + label;
    b.row_ms(what + ", server side", p.server_ms);
    b.check_indexes(conn, what, p, IndexUse::all, "migrations_claim_idx",
                    [&](imapmig::Connection &c) { return plan(c, "COSTS OFF"); });

    // The same through TaskQueue::claim (statement, row decoding, its event row), rolled back.
    std::vector<double> walls;
    for (int i = 0; i < (b.quick ? 3 : 9); ++i) {
        exec(conn, "BEGIN");
        imapmig::TaskQueue queue(conn, owner, std::chrono::seconds(600));
        const auto start = std::chrono::steady_clock::now();
        value_or_throw(queue.claim({providers[0]}), "claim");
        walls.push_back(ms_since(start));
        exec(conn, "ROLLBACK");
    }
    b.row_ms("TaskQueue::claim, " + label + ", round trip", median(walls));
}

void worker_rss(Bench &b, const TempDir &dir) {
    SpawnOptions o;
    o.output_path = dir.file("worker.log");
    const pid_t pid = spawn({migrator(), "-c", b.cfg, "worker"}, o);
    std::this_thread::sleep_for(std::chrono::seconds(b.quick ? 2 : 5));
    const bool alive = !child_exited(pid);
    const long rss = bench::current_rss_kb(pid), hwm = bench::peak_rss_kb(pid);
    stop_child(pid, SIGTERM, 10000);
    const std::string log = read_file_or_empty(o.output_path);
    if (!alive)
        throw std::runtime_error("the worker exited early:\n" + log);
    std::cout << "\n-- worker log\n" << log;
    const bool met = hwm > 0 && hwm < target_rss_kb;
    b.row("worker idle RSS (VmRSS / VmHWM)",
          bench::fmt(rss / 1024.0, 1) + " / " + bench::fmt(hwm / 1024.0, 1) + " MiB", "< 50 MiB",
          met);
    if (!met && !b.quick)
        b.failures.push_back("worker peak RSS " + std::to_string(hwm) + " kB");
}

int bench_main(const bench::Options &opts) {
    Bench b;
    b.quick = opts.quick;
    b.rows = opts.quick ? 5000 : 100000;
    if (!opts.rest.empty())
        b.rows = std::atoi(opts.rest[0].c_str());
    if (b.rows < 1000) {
        std::cerr
            << "usage: scale-bench [--quick] [--results FILE | --no-results] [ROWS >= 1000]\n";
        return 2;
    }
    TempDir dir("imapmig-scale");
    PgCluster pg;
    b.db = pg.create_database("bench");
    b.cfg = dir.file("c.yaml");
    run_checked({migrator(), "key", "generate", dir.file("k.key")});
    write_file(dir.file("master.pass"), "Ma5ter-Of-Migrati0n\n", 0600);
    write_file(b.cfg, config_yaml(pg, dir, b.db));
    run_checked({migrator(), "-c", b.cfg, "db", "upgrade"});

    auto conn = value_or_throw(imapmig::Connection::open(b.db), "connect");
    auto start = std::chrono::steady_clock::now();
    check(conn.exec_script("generate", data_sql(b.rows)), "generate rows");
    std::cout << "generated " << b.rows << " migrations in " << bench::fmt(ms_since(start), 0)
              << " ms\n";

    b.table.title = "Scale (" + std::to_string(b.rows) + " migrations, PostgreSQL 15)";
    b.table.columns = {"measurement", "figure", "target", "met"};
    // The whole list returns 70% of the table; a page of it is what an admin reads.
    list_command(b, 0);
    list_query(b, conn, "synced", 0, IndexUse::report);
    list_command(b, page);
    list_query(b, conn, "synced", page, IndexUse::all);
    list_query(b, conn, "failed", 0, IndexUse::migrations, "migrations_state_idx");
    // A page of a small state: walking the primary key and filtering is a plan too (an index
    // on (state, id) would make it exact).
    list_query(b, conn, "failed", page, IndexUse::migrations);
    claim_query(b, conn, "tasks due");
    check(conn.exec_script("nothing due", nothing_due_sql), "push tasks out");
    exec(conn, "VACUUM ANALYZE migrations");
    claim_query(b, conn, "nothing due");
    worker_rss(b, dir);

    b.table.notes.insert(b.table.notes.begin(),
                         "State mix 70% synced, 10% finished, 8% pending, 5% failed, 3% stopped, "
                         "2% credentials_rejected, 2% syncing; 4 providers (claim asks for the "
                         "largest, 50%). Server side = EXPLAIN ANALYZE planning + execution, "
                         "median; claims in a rolled-back transaction. Plans:");
    bench::print_table(b.table);
    bench::append_results(opts.results_file, b.table, opts.quick);
    for (const auto &f : b.failures)
        std::cerr << "scale-bench: FAILED: " << f << "\n";
    return b.failures.empty() ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
    try {
        return bench_main(bench::parse_options(argc, argv));
    } catch (const std::exception &e) {
        std::cerr << "scale-bench: " << e.what() << "\n";
        return 1;
    }
}
