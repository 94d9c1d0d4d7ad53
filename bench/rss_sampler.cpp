#include "rss_sampler.hpp"

#include "bench_report.hpp"
#include "process.hpp"

#include <algorithm>

namespace bench {

void PidSet::add(pid_t pid) {
    std::lock_guard lock(mutex_);
    pids_.insert(pid);
}

void PidSet::remove(pid_t pid) {
    std::lock_guard lock(mutex_);
    pids_.erase(pid);
}

std::vector<pid_t> PidSet::snapshot() const {
    std::lock_guard lock(mutex_);
    return {pids_.begin(), pids_.end()};
}

RssSampler::RssSampler(std::function<std::vector<pid_t>()> roots,
                       std::chrono::milliseconds interval)
    : roots_(std::move(roots)), interval_(interval) {
    thread_ = std::thread([this] {
        while (!stopping_) {
            sample();
            std::this_thread::sleep_for(interval_);
        }
    });
}

RssSampler::~RssSampler() {
    stop();
}

long RssSampler::stop() {
    if (thread_.joinable()) {
        sample();
        stopping_ = true;
        thread_.join();
    }
    return peak_kb_;
}

void RssSampler::sample() {
    long total = 0;
    for (pid_t root : roots_()) {
        std::vector<pid_t> tree = testsupport::descendants(root);
        tree.push_back(root);
        for (pid_t pid : tree)
            total += std::max(0L, current_rss_kb(pid)); // -1: gone meanwhile
    }
    long peak = peak_kb_;
    while (total > peak && !peak_kb_.compare_exchange_weak(peak, total)) {
    }
}

} // namespace bench
