// Where the CPU went during a bench run: the machine's busy time from /proc/stat and, per
// process name, the time of processes alive at both snapshots plus what exited children were
// charged to their (waiting) parents. Short-lived processes (e.g. each login's imap) show up in
// the machine total and in their parent's children time.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace bench {

struct CpuSnapshot {
    double machine_busy_s = 0;             // all CPUs, user + system + irq + ...
    std::map<std::string, double> by_name; // comm -> utime + stime + cutime + cstime (seconds)
    std::map<int, std::pair<std::string, double>> by_pid;
};

CpuSnapshot cpu_snapshot();

struct CpuUse {
    double machine_s = 0;
    std::map<std::string, double> by_name; // growth per comm, seconds
};
CpuUse cpu_between(const CpuSnapshot &before, const CpuSnapshot &after);

// The CPU of the servers a bench started, robust against whatever else runs on the machine: the
// process trees under roots (e.g. a Dovecot master, a postmaster), per command name, each live
// process's own time plus what it has reaped from exited children (Dovecot's master reaps each
// login's imap process, the postmaster its backends), so processes that came and went count too.
// A child that exits between two snapshots moves from its own name to its parent's.
using TreeCpu = std::map<std::string, double>; // comm -> seconds
TreeCpu tree_cpu(const std::vector<int> &roots);
// after - before per name; machine_s is the sum over all names.
CpuUse tree_cpu_between(const TreeCpu &before, const TreeCpu &after);
double tree_cpu_seconds(int root); // the whole tree's total

// "0.52 1.10 2.30": /proc/loadavg's 1, 5 and 15 minute figures.
std::string load_average();

// "postgres 1.9 s, auth 1.2 s, ..." for the biggest n names.
std::string top_names(const CpuUse &use, int n, double per = 1.0, const std::string &unit = "s");

} // namespace bench
