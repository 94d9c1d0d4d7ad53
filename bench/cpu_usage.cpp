#include "cpu_usage.hpp"

#include "bench_report.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace bench {

namespace {

double ticks() {
    static const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    return hz;
}

} // namespace

CpuSnapshot cpu_snapshot() {
    CpuSnapshot s;
    {
        std::ifstream in("/proc/stat");
        std::string cpu;
        in >> cpu;
        double v, busy = 0;
        for (int i = 0; i < 10 && in >> v; ++i)
            if (i != 3 && i != 4) // idle, iowait
                busy += v;
        s.machine_busy_s = busy / ticks();
    }
    DIR *d = opendir("/proc");
    while (dirent *e = d ? readdir(d) : nullptr) {
        const int pid = std::atoi(e->d_name);
        if (pid <= 0)
            continue;
        std::ifstream in("/proc/" + std::string(e->d_name) + "/stat");
        std::string line;
        if (!std::getline(in, line))
            continue;
        const size_t open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos)
            continue;
        const std::string name = line.substr(open + 1, close - open - 1);
        std::istringstream rest(line.substr(close + 2));
        std::vector<std::string> f;
        for (std::string x; rest >> x && f.size() < 16;)
            f.push_back(x);
        if (f.size() < 15)
            continue;
        // fields 14-17 of stat: utime stime cutime cstime (indexes 11-14 after the name)
        const double t = (std::atof(f[11].c_str()) + std::atof(f[12].c_str()) +
                          std::atof(f[13].c_str()) + std::atof(f[14].c_str())) /
                         ticks();
        s.by_pid[pid] = {name, t};
    }
    if (d)
        closedir(d);
    for (const auto &[pid, v] : s.by_pid)
        s.by_name[v.first] += v.second;
    return s;
}

CpuUse cpu_between(const CpuSnapshot &before, const CpuSnapshot &after) {
    CpuUse u;
    u.machine_s = after.machine_busy_s - before.machine_busy_s;
    for (const auto &[pid, v] : after.by_pid) {
        auto it = before.by_pid.find(pid);
        const double start =
            it != before.by_pid.end() && it->second.first == v.first ? it->second.second : 0;
        u.by_name[v.first] += v.second - start;
    }
    return u;
}

TreeCpu tree_cpu(const std::vector<int> &roots) {
    TreeCpu out;
    for (const int root : roots) {
        if (root <= 0)
            continue;
        std::vector<pid_t> tree = testsupport::descendants(root);
        tree.push_back(root);
        for (const pid_t pid : tree) {
            const std::string stat =
                testsupport::read_file_or_empty("/proc/" + std::to_string(pid) + "/stat");
            const size_t open = stat.find('('), close = stat.rfind(')');
            if (open == std::string::npos || close == std::string::npos)
                continue; // gone meanwhile
            std::istringstream fields(stat.substr(close + 2));
            std::string field;
            long long t = 0;
            // After the command name: state is field 3; utime, stime, cutime, cstime are 14-17.
            for (int n = 3; n <= 17 && fields >> field; ++n)
                if (n >= 14)
                    t += std::atoll(field.c_str());
            out[stat.substr(open + 1, close - open - 1)] += static_cast<double>(t) / ticks();
        }
    }
    return out;
}

CpuUse tree_cpu_between(const TreeCpu &before, const TreeCpu &after) {
    CpuUse u;
    for (const auto &[name, t] : after) {
        auto it = before.find(name);
        u.by_name[name] = t - (it == before.end() ? 0 : it->second);
    }
    for (const auto &[name, t] : before)
        if (after.count(name) == 0)
            u.by_name[name] = -t;
    for (const auto &[name, t] : u.by_name)
        u.machine_s += t;
    return u;
}

double tree_cpu_seconds(int root) {
    double total = 0;
    for (const auto &[name, t] : tree_cpu({root}))
        total += t;
    return total;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

std::string top_names(const CpuUse &use, int n, double per, const std::string &unit) {
    std::vector<std::pair<double, std::string>> v;
    for (const auto &[name, t] : use.by_name)
        if (t > 0 && name.rfind("kworker", 0) != 0) // kernel threads come and go by name
            v.emplace_back(t, name);
    std::sort(v.rbegin(), v.rend());
    std::string out;
    for (int i = 0; i < n && i < static_cast<int>(v.size()); ++i)
        out += (i ? ", " : "") + v[i].second + " " + fmt(v[i].first * per, 1) + " " + unit;
    return out;
}

} // namespace bench
