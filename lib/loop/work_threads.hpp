// A few threads for work too slow for an event loop (password hashing), first come first
// served. Each job's completion runs back on the loop's thread, in the order jobs finish.
// Free of Dovecot: the auth process hands it Dovecot's ioloop as an EventLoop.
#pragma once

#include "base/fd.hpp"
#include "loop/event_loop.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <vector>

namespace imapmig {

class WorkThreads {
public:
    // Throws std::runtime_error when no thread can be started.
    WorkThreads(EventLoop &loop, int threads);
    ~WorkThreads(); // stop()
    WorkThreads(const WorkThreads &) = delete;
    WorkThreads &operator=(const WorkThreads &) = delete;

    // work runs on a thread and must touch only what it owns; done runs on the loop after it,
    // also when work threw (the exception is swallowed there: done finds no result). A done
    // that throws does not keep the others from running; the loop callback then throws.
    void submit(std::function<void()> work, std::function<void()> done);
    // Lets running work finish, joins the threads and forgets the rest: no done runs after.
    void stop();
    int threads() const { return static_cast<int>(threads_.size()); }

private:
    struct Job {
        std::function<void()> work, done;
    };
    static void *thread_main(void *self);
    void run();
    void on_notified();

    std::vector<pthread_t> threads_;
    std::deque<Job> queue_;
    std::deque<Job> finished_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    Fd notify_fd_; // an eventfd: work done, the loop collects it
    std::unique_ptr<EventLoop::Handle> watch_;
};

} // namespace imapmig
