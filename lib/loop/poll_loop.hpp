// An EventLoop over poll(2), for callers without one of their own: the blocking login path in
// Dovecot's auth-worker processes and the tests.
#pragma once

#include "loop/event_loop.hpp"

#include <chrono>
#include <functional>
#include <list>
#include <memory>

namespace imapmig {

class PollLoop final : public EventLoop {
public:
    PollLoop() = default;
    PollLoop(const PollLoop &) = delete;
    PollLoop &operator=(const PollLoop &) = delete;

    std::unique_ptr<Handle> watch(int fd, Ready what, std::function<void()> ready) override;
    std::unique_ptr<Handle> after(std::chrono::milliseconds delay,
                                  std::function<void()> fire) override;

    // Dispatches events until done() holds. False if nothing is left that could make it hold
    // (no watches, no timers): the caller's operation is stuck.
    bool run_until(const std::function<bool()> &done);

private:
    struct Entry {
        int fd = -1; // -1: a timer
        Ready what = Ready::read;
        std::chrono::steady_clock::time_point due{};
        std::function<void()> callback;
        bool live = true;
    };
    class EntryHandle;
    std::list<Entry> entries_;
};

} // namespace imapmig
