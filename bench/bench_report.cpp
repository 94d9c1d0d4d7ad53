#include "bench_report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace bench {

namespace {

std::string first_line_with(const std::string &path, const std::string &prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return line.substr(prefix.size());
    return {};
}

std::string trim(std::string s) {
    s.erase(0, s.find_first_not_of(" \t:\""));
    s.erase(s.find_last_not_of(" \t\"") + 1);
    return s;
}

long status_kb(int pid, const std::string &field) {
    const std::string v = first_line_with("/proc/" + std::to_string(pid) + "/status", field + ":");
    return v.empty() ? -1 : std::atol(trim(v).c_str());
}

} // namespace

Options parse_options(int argc, char **argv) {
    Options o;
    bool no_results = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick")
            o.quick = true;
        else if (a == "--no-results")
            no_results = true;
        else if (a == "--results" && i + 1 < argc)
            o.results_file = argv[++i];
        else
            o.rest.push_back(a);
    }
    if (!no_results && o.results_file.empty() && !o.quick)
        o.results_file = std::string(BENCH_SOURCE_ROOT) + "/bench/RESULTS.md";
    if (no_results)
        o.results_file.clear();
    return o;
}

std::string fmt(double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

void print_table(const Table &t) {
    std::vector<size_t> width(t.columns.size(), 0);
    auto widen = [&](const std::vector<std::string> &row) {
        for (size_t i = 0; i < row.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    };
    widen(t.columns);
    for (const auto &r : t.rows)
        widen(r);
    auto line = [&](const std::vector<std::string> &row) {
        std::string out;
        for (size_t i = 0; i < width.size(); ++i) {
            const std::string cell = i < row.size() ? row[i] : "";
            out += (i == 0 ? "" : "  ") + cell + std::string(width[i] - cell.size(), ' ');
        }
        std::cout << out << "\n";
    };
    std::cout << "\n" << t.title << "\n";
    line(t.columns);
    std::string rule;
    for (size_t i = 0; i < width.size(); ++i)
        rule += (i == 0 ? "" : "  ") + std::string(width[i], '-');
    std::cout << rule << "\n";
    for (const auto &r : t.rows)
        line(r);
    for (const auto &n : t.notes)
        std::cout << n << "\n";
    std::cout.flush();
}

void append_results(const std::string &path, const Table &t, bool quick) {
    if (path.empty())
        return;
    std::ofstream out(path, std::ios::app);
    if (!out)
        throw std::runtime_error("cannot append to " + path);
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    out << "\n## " << t.title << (quick ? " (--quick)" : "") << "\n\n"
        << date << ", " << machine_description() << "\n\n|";
    for (const auto &c : t.columns)
        out << " " << c << " |";
    out << "\n|";
    for (size_t i = 0; i < t.columns.size(); ++i)
        out << "---|";
    out << "\n";
    for (const auto &r : t.rows) {
        out << "|";
        for (const auto &c : r)
            out << " " << c << " |";
        out << "\n";
    }
    if (!t.notes.empty())
        out << "\n";
    for (const auto &n : t.notes)
        out << n << "  \n";
    std::cout << "appended to " << path << "\n";
}

std::string machine_description() {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    const std::string model = trim(first_line_with("/proc/cpuinfo", "model name"));
    const long mem_kb = std::atol(trim(first_line_with("/proc/meminfo", "MemTotal:")).c_str());
    const std::string os = trim(first_line_with("/etc/os-release", "PRETTY_NAME="));
    std::ostringstream s;
    s << host << ": " << std::thread::hardware_concurrency() << " cores"
      << (model.empty() ? "" : " (" + model + ")") << ", " << fmt(mem_kb / 1048576.0, 1)
      << " GiB RAM" << (os.empty() ? "" : ", " + os);
    return s.str();
}

long peak_rss_kb(int pid) {
    return status_kb(pid, "VmHWM");
}
long current_rss_kb(int pid) {
    return status_kb(pid, "VmRSS");
}

} // namespace bench
