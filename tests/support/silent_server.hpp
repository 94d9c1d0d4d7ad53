// A provider that accepts connections and never greets: every check holds its connection
// until our timeout. Counts the most connections it had open at once.
#pragma once

#include <atomic>
#include <thread>

class SilentServer {
public:
    SilentServer();
    ~SilentServer();
    SilentServer(const SilentServer &) = delete;
    SilentServer &operator=(const SilentServer &) = delete;

    int port = 0;
    std::atomic<int> peak{0};
    std::atomic<int> total{0};

private:
    void serve();
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> open_{0};
    std::thread thread_;
};
