// Where the CPU went during a bench run: the machine's busy time from /proc/stat and, per
// process name, the time of processes alive at both snapshots plus what exited children were
// charged to their (waiting) parents. Short-lived processes (e.g. each login's imap) show up in
// the machine total and in their parent's children time.
#pragma once

#include <map>
#include <string>

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

// "postgres 1.9 s, auth 1.2 s, ..." for the biggest n names.
std::string top_names(const CpuUse &use, int n, double per = 1.0, const std::string &unit = "s");

} // namespace bench
