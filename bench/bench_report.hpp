// What every bench prints: an aligned table on stdout and, for full-size runs, the same table
// appended to bench/RESULTS.md with the date and the machine, so figures stay comparable.
#pragma once

#include <string>
#include <vector>

namespace bench {

struct Table {
    std::string title;                // "Login storm (1,000 first logins, 200 at once)"
    std::vector<std::string> columns; // header cells
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> notes; // printed under the table (targets, verdicts)
};

// Command-line switches shared by the benches: --quick, --results FILE, --no-results.
struct Options {
    bool quick = false;
    std::string results_file;      // empty: do not append
    std::vector<std::string> rest; // arguments the bench interprets itself
};
// Full runs append to <source>/bench/RESULTS.md unless --no-results; --quick appends only with
// an explicit --results FILE (the test suite must not write into the source tree).
Options parse_options(int argc, char **argv);

void print_table(const Table &table);
void append_results(const std::string &path, const Table &table, bool quick);

// "hostname: 2 cores (model), 7.7 GiB RAM, Debian 12" for RESULTS.md headings.
std::string machine_description();
std::string fmt(double value, int decimals);

// Peak resident set size (kB) of a process and its threads, from /proc/PID/status VmHWM.
long peak_rss_kb(int pid);
long current_rss_kb(int pid);

} // namespace bench
