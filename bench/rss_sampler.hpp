// Peak memory of the processes a benchmarked tool runs as: every interval, the VmRSS of each
// root pid and all its live descendants is summed; the largest sum is the peak. (Shared pages
// count once per process, so this overstates a tree of forks slightly; it is what `ps` adds up.)
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace bench {

// The pids a tool currently runs as, shared between the threads that start them and a sampler.
class PidSet {
public:
    void add(pid_t pid);
    void remove(pid_t pid);
    std::vector<pid_t> snapshot() const;

private:
    mutable std::mutex mutex_;
    std::set<pid_t> pids_;
};

class RssSampler {
public:
    // Starts sampling at once. roots() is called from the sampling thread.
    explicit RssSampler(std::function<std::vector<pid_t>()> roots,
                        std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    ~RssSampler();
    RssSampler(const RssSampler &) = delete;
    RssSampler &operator=(const RssSampler &) = delete;

    // Takes one last sample, stops the thread and returns the peak (kB). Idempotent.
    long stop();

private:
    void sample();

    std::function<std::vector<pid_t>()> roots_;
    std::chrono::milliseconds interval_;
    std::atomic<bool> stopping_{false};
    std::atomic<long> peak_kb_{0};
    std::thread thread_;
};

} // namespace bench
